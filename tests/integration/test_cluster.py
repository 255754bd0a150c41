#!/usr/bin/env python3
"""Cluster mode (issue 15): one redis-server and three irtcd nodes on
loopback, each with its own ports, data directory and SQLite database.

Covers: the node registry (`irtcd cluster status`); an app created with the
command line on node A and a REST token issued by B, both usable on C (the
shared tables' log); getMediaEndpoint on A spreading new rooms over the
nodes by load and answering the owner for a room placed on another node; a
join reaching the wrong node redirected (200030, "redirect") and joining on
the owner; releaseUser sent to C kicking a user on B, and a forwarded error;
captureVideo sent to A starting a recording on B; kill -9 of B: its rooms
gone from Redis within 10 s and its running recording reported failed (row
and signed callback) by a live node; Redis restarted under the cluster:
nodes reconnect and rebuild placements from their own rooms.

Everything listens on 127.0.0.1; redis-server runs in a temporary directory
without persistence; every wait is bounded; every process is killed at exit.
Prints TAP; skips (1..0) without redis-server.
"""

import atexit
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import irtctest  # noqa: E402
import test_signal as ts  # noqa: E402  (its signaling Peer and token maker)

REDIS = shutil.which("redis-server")
if REDIS is None or shutil.which("redis-cli") is None:
    print("1..0 # SKIP redis-server / redis-cli are not installed")
    sys.exit(0)

t = irtctest.Tap()
ok = t.ok
PASSWORD = "cluster-test-secret"


class Redis:
    """redis-server on a loopback port of its own, no persistence."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="irtc-it-redis-")
        self.port = irtctest.free_port(1)
        self.proc = None
        atexit.register(self.cleanup)

    def start(self):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir, "--requirepass", PASSWORD,
                                      "--daemonize", "no"], stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.cli("PING") == "PONG":
                return True
            time.sleep(0.1)
        return False

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def cli(self, *args):
        try:
            p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "--no-auth-warning",
                                "-a", PASSWORD] + list(args), capture_output=True, timeout=5)
        except subprocess.TimeoutExpired:
            return None
        return p.stdout.decode("utf-8", "replace").strip() if p.returncode == 0 else None

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class Receiver:
    """A callback endpoint on loopback that records every POST."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []
        self.refuse = set()  # paths answered 503 (a receiver that is down)
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with recv.lock:
                    recv.posts.append((self.path, dict(self.headers), body, time.time()))
                    status = 503 if self.path in recv.refuse else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, _, b, _ in self.posts]

    def times(self, path):
        with self.lock:
            return [t for p, _, _, t in self.posts if p == path]


class Node(irtctest.Daemon):
    def __init__(self, name, redis):
        self.name = name
        super().__init__("cluster-" + name, "  demo_token: false\n")
        self.advertise = "127.0.0.1:%d" % self.https_port
        # The recording section is written by Daemon; callbacks retry fast here.
        with open(self.config) as f:
            text = f.read()
        text = text.replace("recording:\n", "recording:\n  callback_retry_min: 300ms\n  callback_retry_max: 2s\n", 1)
        text += ("cluster:\n  redis_url: \"redis://127.0.0.1:%d\"\n  redis_password: \"%s\"\n"
                 "  node_id: \"%s\"\n  advertise: \"%s\"\n" % (redis.port, PASSWORD, name, self.advertise))
        with open(self.config, "w") as f:
            f.write(text)
        os.makedirs(self.nas, exist_ok=True)
        self.port = self.https_port
        self.app_id = self.access_key = self.tenant = None

    def owns_port(self, port):
        return self.media_port <= int(port) < self.media_port + self.media_workers

    def token(self, channel, user, role=1, owner=None):
        """A join token naming owner's media endpoint (the back end's job, from getMediaEndpoint)."""
        o = owner or self
        params = {"userId": user, "channelId": channel, "host": "127.0.0.1",
                  "port": str(o.room_media_port(channel, self.app_id)),
                  "role": str(role), "tenantId": self.tenant or "", "appId": self.app_id,
                  "timeStamp": int(time.time() * 1000)}
        return ts.get_token(self.access_key, params)[0]

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)
        self.proc = None


def wait_for(fn, seconds, step=0.2):
    deadline = time.time() + seconds
    while True:
        v = fn()
        if v or time.time() > deadline:
            return v
        time.sleep(step)


def status_nodes(node):
    rc, out = node.cli("cluster", "status")
    return rc, {line.split()[0]: line.split()[1] for line in out.splitlines()[1:] if line.strip()}


def code(resp):
    return None if resp is None else str(resp.get("errorCode"))


def main():
    redis = Redis()
    if not ok(redis.start(), "redis-server started on 127.0.0.1:%d" % redis.port):
        return
    recv = Receiver()
    a, b, c = Node("node-a", redis), Node("node-b", redis), Node("node-c", redis)
    nodes = {"node-a": a, "node-b": b, "node-c": c}
    started = all(n.start() for n in (a, b, c))
    if not ok(started, "three nodes started"):
        for n in (a, b, c):
            n.dump_log()
        return

    # ---- registry ----
    st = wait_for(lambda: (lambda r: r[0] == 0 and len([s for s in r[1].values() if s == "live"]) == 3 and r)(
        status_nodes(a)), 10)
    ok(st, "irtcd cluster status lists the three nodes live", st or status_nodes(a))
    ok(redis.cli("EXISTS", "irtc:node:node-b") == "1", "node-b's heartbeat key is in Redis")

    # ---- shared tables: app from the command line on A, REST token from B, used on C ----
    app = a.create_app("clustered")
    for n in (a, b, c):
        n.app_id, n.access_key, n.tenant = app["appId"], app["accessKey"], app.get("tenantId", "")

    def listed(n):
        rc, out = n.cli("app", "list")
        return rc == 0 and any(x["appId"] == app["appId"] for x in json.loads(out))
    ok(wait_for(lambda: listed(b) and listed(c), 10), "the app created on A reached B and C")
    tok_r = b.rest_token(app["appId"], app["appToken"])
    rest = tok_r.json and tok_r.json.get("access_token")
    ok(rest, "B issues a REST token for the app", tok_r)
    hc = wait_for(lambda: code(c.api("checkRtcHeath", {"version": "v1"}, rest).json) == "0", 5)
    ok(hc, "the token issued by B authenticates on C (and on A)",
       c.api("checkRtcHeath", {"version": "v1"}, rest))
    ok(code(a.api("checkRtcHeath", {"version": "v1"}, rest).json) == "0", "... and on A")

    # ---- placement ----
    chans = ["room%d" % i for i in range(6)]
    r = a.api("getMediaEndpoint", {"channelIds": chans}, rest).json
    ok(code(r) == "0" and len(r["data"]["list"]) == 6, "getMediaEndpoint on A answers six channels", r)
    owner = {}
    for e in (r.get("data") or {}).get("list", []):
        owner[e["channelId"]] = [n for n in nodes.values() if n.owns_port(e["port"])]
    ok(all(len(v) == 1 for v in owner.values()), "every endpoint is one node's media port", owner)
    used = {v[0].name for v in owner.values() if v}
    ok(len(used) == 3, "six new rooms spread over the three nodes by load", sorted(used))
    on_b = [ch for ch, v in owner.items() if v and v[0] is b]
    ch = on_b[0] if on_b else "room0"
    r2 = c.api("getMediaEndpoint", {"channelIds": [ch]}, rest).json
    ok(code(r2) == "0" and b.owns_port(r2["data"]["list"][0]["port"]),
       "getMediaEndpoint on C for a channel placed on B answers B", r2)
    ok(redis.cli("GET", "irtc:room:%s:%s" % (app["appId"], ch)) == "node-b", "the placement is in Redis")

    # ---- signaling redirect, then the join on the owner ----
    pa = ts.Peer(a)
    resp = pa.join(ch, "alice", token=a.token(ch, "alice", owner=b))
    ok(resp is not None and resp.get("ok") is False and resp.get("errorCode") == 200030
       and resp.get("redirect", {}).get("nodeId") == "node-b"
       and resp["redirect"].get("domain") == b.advertise
       and resp["redirect"].get("url") == "wss://%s/v1/signal" % b.advertise,
       "a join reaching A for a room on B is redirected to B (200030)", resp)
    pa.close()
    alice, bob = ts.Peer(b), ts.Peer(b)
    ok(ts.is_ok(alice.join(ch, "alice", token=b.token(ch, "alice"))), "alice joins on B")
    ok(ts.is_ok(bob.join(ch, "bob", token=b.token(ch, "bob"))), "bob joins on B")

    # ---- REST forwarding ----
    r = c.api("releaseUser", {"appId": app["appId"], "channelId": ch, "userId": "nobody"}, rest).json
    ok(code(r) == "1001010", "releaseUser on C for a user not in B's room: B's 1001010", r)
    r = c.api("releaseUser", {"appId": app["appId"], "channelId": ch, "userId": "bob"}, rest).json
    ok(code(r) == "0", "releaseUser sent to C answers 0", r)
    ev = bob.event("client-banned", 5, alive=[alice])
    ok(ev is not None, "bob, on B, is kicked (client-banned)", bob.events)
    left = alice.event("peer-leave", 5)
    ok(left is not None and left["data"]["userId"] == "bob", "alice on B sees bob leave", alice.events)

    rule = a.api("addRule", {"appId": app["appId"], "storageType": "NAS", "recordPath": "/rec/",
                             "fileName": "{channel_id}_{file_start_time}", "recordingType": 0,
                             "recordingModel": 0, "callbackUrl": recv.url + "/rec", "status": True}, rest).json
    rule_id = str((rule.get("data") or {}).get("recordRuleId"))
    ok(code(rule) == "0", "addRule on A", rule)

    def rule_on_b():
        q = b.api("queryRuleList", {"appId": app["appId"], "ruleId": rule_id}, rest).json
        return code(q) == "0" and q["data"]["totalCount"] >= 1
    ok(wait_for(rule_on_b, 5), "the rule added on A is listed by B")
    r = a.api("captureVideo", {"appId": app["appId"], "channelId": ch, "userId": "alice",
                               "recordRuleId": rule_id}, rest).json
    rec_id = (r.get("data") or {}).get("recordingId")
    ok(code(r) == "0" and rec_id, "captureVideo sent to A starts a recording of B's room", r)

    def rec_status(n):
        q = n.api("queryRecordingList", {"appId": app["appId"], "channelId": ch, "pageSize": 10, "pageNo": 1},
                  rest).json
        for x in (q.get("data") or {}).get("list", []):
            if str(x.get("recordingId")) == str(rec_id):
                return x
        return None
    ok(wait_for(lambda: rec_status(c), 5), "C lists the recording running on B", rec_status(c))
    # stopCapture by recordingId alone (the guide's example: channelId ""), sent to A, reaches B.
    r = c.api("captureVideo", {"appId": app["appId"], "channelId": ch, "userId": "alice",
                               "recordRuleId": rule_id}, rest).json
    rec2 = (r.get("data") or {}).get("recordingId")
    ok(code(r) == "0" and rec2, "a second recording of B's room, asked on C", r)
    r = a.api("stopCapture", {"appId": app["appId"], "channelId": "", "recordingId": rec2}, rest).json
    ok(code(r) == "0", "stopCapture on A with only the recordingId answers 0 (run on B)", r)

    def stopped(n, rid):
        q = n.api("queryRecordingList", {"appId": app["appId"], "channelId": ch, "pageSize": 10, "pageNo": 1},
                  rest).json
        return [x for x in (q.get("data") or {}).get("list", [])
                if str(x.get("recordingId")) == str(rid) and x.get("status") != "recording"]
    ok(wait_for(lambda: stopped(c, rec2), 5), "the second recording ended on B (as seen from C)")
    ok(not stopped(c, rec_id), "the first one still runs")

    # ---- a callback B cannot deliver yet (its receiver answers 503) ----
    recv.refuse.add("/later")
    rc, _ = b.cli("callback", "test", recv.url + "/later", "--app", app["appId"])
    ok(rc == 0, "a test callback queued in B's outbox")
    ok(wait_for(lambda: len(recv.times("/later")) >= 1, 10), "B tried it (503)")
    ok(wait_for(lambda: redis.cli("HLEN", "irtc:outbox:node-b") == "1", 5),
       "B's undelivered callback is mirrored in Redis", redis.cli("HLEN", "irtc:outbox:node-b"))

    # ---- kill -9 of B ----
    room_key = "irtc:room:%s:%s" % (app["appId"], ch)
    ok(redis.cli("GET", room_key) == "node-b", "B's room is placed on B before the kill")
    listed = wait_for(lambda: ch in (redis.cli("GET", "irtc:rooms:node-b") or ""), 3)
    ok(listed, "B's heartbeat lists its room (the list a reaper reads)", redis.cli("GET", "irtc:rooms:node-b"))
    alice.ws.abort()
    b.kill9()
    t0 = time.time()
    recv.refuse.clear()
    gone = wait_for(lambda: redis.cli("EXISTS", room_key) == "0" and redis.cli("EXISTS", "irtc:node:node-b") == "0",
                    10, 0.1)
    ok(gone, "within 10 s of kill -9 B's room and heartbeat are gone from Redis (%.1f s)" % (time.time() - t0),
       "%s: %s, irtc:node:node-b: %s" % (room_key, redis.cli("GET", room_key), redis.cli("EXISTS", "irtc:node:node-b")))
    cb = wait_for(lambda: [x for x in recv.bodies() if x.get("recordingId") == str(rec_id)], 15)
    ok(cb, "the recording running on B is reported through its callback by a live node (%.1f s after the kill)"
       % (time.time() - t0), recv.bodies())
    row = wait_for(lambda: (lambda x: x if x and x.get("status") == "failed" else None)(rec_status(a)), 5)
    ok(row and "node-b" in (row.get("failureReason") or ""),
       "the recording is failed on A, the reason naming node-b", rec_status(a))
    taken = wait_for(lambda: [x for x in recv.times("/later") if x > t0], 15)
    ok(taken, "B's undelivered callback is delivered by a live node after the kill", recv.times("/later"))
    ok(redis.cli("EXISTS", "irtc:outbox:node-b") == "0", "... and its mirror is gone from Redis")
    st = wait_for(lambda: (lambda r: r[1].get("node-b") != "live" and r)(status_nodes(c)), 5)
    ok(st and "node-b" not in st[1], "cluster status no longer lists B", st)
    # A client of the dead room comes back through a live node: placed there.
    r = c.api("getMediaEndpoint", {"channelIds": [ch]}, rest).json
    back = [n for n in (a, c) if code(r) == "0" and n.owns_port(r["data"]["list"][0]["port"])]
    ok(back, "getMediaEndpoint places B's old room on a live node", r)
    if back:
        again = ts.Peer(back[0])
        ok(ts.is_ok(again.join(ch, "alice", token=back[0].token(ch, "alice"))), "alice rejoins on %s" % back[0].name)
    else:
        again = None

    # ---- Redis restarted under the cluster ----
    redis.kill()
    time.sleep(1.5)
    ok(redis.start(), "redis-server restarted (empty)")
    host = back[0].name if back else "node-a"
    rebuilt = wait_for(lambda: redis.cli("GET", room_key) == host
                       and redis.cli("EXISTS", "irtc:node:node-a") == "1"
                       and redis.cli("EXISTS", "irtc:node:node-c") == "1", 10)
    ok(rebuilt, "nodes reconnect and rebuild the placement of their own room", redis.cli("KEYS", "*"))
    if again is not None:
        again.ws.ping()
        again.close()
    ok(a.alive() and c.alive(), "A and C are still running")
    for n in (a, c):
        ok(n.stop() == 0, "%s stops cleanly" % n.name)


try:
    main()
except Exception:  # a crash of the test itself is a failure, with its trace
    ok(False, "the test ran to its end", traceback.format_exc())
sys.exit(t.done())
