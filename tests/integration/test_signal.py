#!/usr/bin/python3
"""test_signal.py — the signaling protocol end to end: the built irtcd on
127.0.0.1 (free ports, temporary directories, small limits), real TLS
WebSockets (wsclient.py), join tokens minted by `irtcd token` or, for the
expired/forged ones, by the guide's algorithm (tests/vectors).  Prints TAP.

Covers: join and peer-join, the join refusals (200009, 200010, 200011,
200019), role 0 subscribe refused, publish refused honestly while the media
plane is absent, mute events relayed, leave → peer-leave 0, a silent or
dropped socket → peer-leave 7, signature-expired then reason 6, renew,
garbage in every form answered with errors while the daemon stays healthy,
REST releaseUser / releaseRoom as the clients see them, /metrics, and
SIGTERM with sockets open.  Every wait is bounded."""

import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "vectors"))
import irtctest  # noqa: E402
from wsclient import BINARY, TEXT, WSClient, WSClosed  # noqa: E402
from jointoken_vectors import get_token  # noqa: E402

IDLE_S = 2 * irtctest.SLOW  # limits.signal_idle_timeout
TTL_S = 60  # limits.token_ttl (its minimum)
T = irtctest.Tap()
ok = T.ok


class Daemon(irtctest.Daemon):
    """irtcd with small limits, and the demo app's credentials for tokens."""

    def __init__(self):
        super().__init__("signal", "  demo_token: true\n",
                         "limits:\n  max_publishers_per_room: 2\n  token_ttl: %ds\n  signal_idle_timeout: %ds\n"
                         % (TTL_S, IDLE_S))
        self.port = self.https_port
        self.started = self.start()
        apps = json.loads(self.cli("app", "list", "--show-secrets")[1])
        demo = [a for a in apps if a["name"] == "demo"][0]
        self.app_id, self.access_key, self.tenant = demo["appId"], demo["accessKey"], demo.get("tenantId", "")
        self.app_token = demo["appToken"]

    def get(self, path):
        try:
            r = self.request("GET", path)
            return r.status, r.body.decode("utf-8", "replace")
        except OSError:
            return 0, ""

    def cli_token(self, channel, user, role=1):
        return json.loads(self.cli("token", self.app_id, channel, user, "--role", str(role))[1])["signature"]

    def token(self, channel, user, role=1):
        """A valid token, made here rather than by `irtcd token`: a command
        takes seconds on a busy machine (or under the sanitizers), while a
        socket opened before it idles towards the idle timeout (2 s)."""
        return self.forge(channel, user, role)

    def forge(self, channel, user, role=1, ts_ms=None, key=None):
        """A token made with the guide's algorithm, any timeStamp, any key."""
        params = {"userId": user, "channelId": channel, "host": "127.0.0.1", "port": str(self.room_media_port(channel)),
                  "role": str(role), "tenantId": self.tenant, "appId": self.app_id,
                  "timeStamp": int(time.time() * 1000) if ts_ms is None else ts_ms}
        return get_token(self.access_key if key is None else key, params)[0]


def run_daemon_test(run, seconds, what):
    """Starts a Daemon, runs the coroutine run(d) for at most seconds, checks
    that the daemon survived and stops cleanly; the exit status (the media,
    v2 and data channel tests' main)."""
    import asyncio
    d = Daemon()
    ok(d.started, "daemon starts")
    try:
        asyncio.run(asyncio.wait_for(run(d), seconds))
    except Exception as e:  # a failure, not a hang
        ok(False, "%s raised %r" % (what, e))
    ok(d.alive(), "daemon still running")
    ok(d.stop() == 0, "clean stop")
    if T.failed:
        d.dump_log()
    return T.done()

# ---- a signaling client ----
class Peer:
    def __init__(self, d, v=1):
        self.d = d
        self.v = v  # protocol version of every request (2: one connection per direction)
        self.ws = WSClient("127.0.0.1", d.port)
        self.next_id = 0
        self.events, self.responses = [], {}
        self.closed = None
        self.last_ping = 0.0

    def _read(self, timeout):
        try:
            m = json.loads(self.ws.recv(max(0.01, timeout)))
        except TimeoutError:
            return
        except WSClosed as e:
            self.closed = e
            return
        if m.get("type") == "response":
            self.responses[m["id"]] = m
        else:
            self.events.append(m)

    def keepalive(self):
        if time.monotonic() - self.last_ping > 0.4 and not self.closed:
            self.last_ping = time.monotonic()
            try:
                self.ws.ping()
            except OSError:
                pass  # the server may have closed: the next read says how

    def send(self, obj):
        self.ws.send_text(json.dumps(obj))

    def request(self, rtype, timeout=5, **fields):
        self.next_id += 1
        rid = self.next_id
        self.send(dict(v=self.v, id=rid, type=rtype, **fields))
        deadline = time.monotonic() + timeout
        while rid not in self.responses and not self.closed and time.monotonic() < deadline:
            self._read(deadline - time.monotonic())
        return self.responses.pop(rid, None)

    def event(self, name, timeout=5, alive=(), silent=False):
        """The next event called name; meanwhile this peer (unless silent) and
        the peers in alive send WebSocket pings so that none goes idle."""
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("event") == name:
                    return self.events.pop(i)
            if self.closed or time.monotonic() > deadline:
                return None
            for p in list(alive) + ([] if silent else [self]):
                p.keepalive()
            self._read(min(0.2, deadline - time.monotonic()))

    def drain(self, seconds, alive=()):
        """Reads for seconds, keeping itself and alive from going idle."""
        self.event("(none)", seconds, alive)

    def join(self, channel, user, role=1, token=None, req_role=None, **extra):
        """Joins with a token for role; req_role, when given, is the request's own role field."""
        fields = dict(appId=self.d.app_id, channelId=channel, userId=user, ctime=int(time.time()),
                      signature=token if token is not None else self.d.token(channel, user, role))
        if req_role is not None:
            fields["role"] = req_role
        fields.update(extra)
        return self.request("join", **fields)

    def close(self):
        self.ws.close()


def err(resp):
    return None if resp is None or resp.get("ok") else resp.get("errorCode")


def is_ok(resp):
    return resp is not None and resp.get("ok") is True


# ---- tests ----
def test_join(d):
    tok = d.cli_token("room1", "alice")  # made before any socket is open
    a, b = Peer(d), Peer(d)
    r = a.join("room1", "alice", token=tok)
    ok(is_ok(r) and r["v"] == 1 and r["data"]["roomId"] == "room1" and r["data"]["userId"] == "alice"
       and r["data"]["peers"] == [] and r["data"]["streams"] == [], "join with `irtcd token`'s token: ok, empty room", r)
    ok(r and r["data"]["tokenExpiresAt"] > time.time() * 1000, "join: tokenExpiresAt in the future", r)
    r = b.join("room1", "bob", role=1, req_role=1)
    ok(is_ok(r) and [p["userId"] for p in r["data"]["peers"]] == ["alice"], "second join lists alice in peers", r)
    e = a.event("peer-join")
    ok(e is not None and e["data"] == {"userId": "bob"} and e["v"] == 1 and "id" not in e,
       "peer-join {userId: bob} seen by alice", e)

    x = Peer(d)
    ok(err(x.join("room1", "alice")) == 200011, "same userId again in the room: 200011")
    ok(err(x.request("publish", sdp="v=0")) == 200012, "a refused join leaves the socket outside any room")
    r = x.join("room1", "mallory", token=d.forge("room1", "mallory", key="d3Jvbmcga2V5"))
    ok(err(r) == 200009, "signature made with another key: 200009", r)
    r = x.join("room1", "mallory", token="bm90IGEgdG9rZW4=")
    ok(err(r) == 200009, "undecodable signature: 200009", r)
    old = int(time.time() * 1000) - (TTL_S + 30) * 1000
    r = x.join("room1", "mallory", token=d.forge("room1", "mallory", ts_ms=old))
    ok(err(r) == 200010, "token older than limits.token_ttl: 200010", r)
    future = int(time.time() * 1000) + 10 * 60 * 1000
    r = x.join("room1", "mallory", token=d.forge("room1", "mallory", ts_ms=future))
    ok(err(r) == 200009, "token dated 10 min ahead (beyond the 5 min skew): 200009", r)
    r = x.join("room2", "mallory", token=d.token("room1", "mallory"))
    ok(err(r) == 200009 and "channelId" in r["errorMsg"], "channelId differs from the token's: 200009", r)
    r = x.join("room1", "eve", token=d.token("room1", "mallory"))
    ok(err(r) == 200009 and "userId" in r["errorMsg"], "userId differs from the token's: 200009", r)
    r = x.join("room1", "mallory", role=1, req_role=0)
    ok(err(r) == 200009 and "role" in r["errorMsg"], "role differs from the token's: 200009", r)
    r = x.join("room1", "mallory", appId="nosuchapp")
    ok(err(r) == 200009 and "appId" in r["errorMsg"], "appId differs from the token's: 200009", r)
    r = x.join("room1", "mallory", channelId=5)
    ok(err(r) == 200006 and "channelId" in r["errorMsg"], "channelId not a string: 200006 naming it", r)
    ok(a.event("peer-join", 0.3) is None, "refused joins tell nobody")
    r = x.join("room1", "mallory")
    ok(is_ok(r), "the same socket joins after refusals", r)
    ok(err(x.join("room1", "mallory")) == 200002, "joining twice on one socket: 200002")
    for p in (a, b, x):
        p.close()


def test_roles_publish_mute_leave(d):
    a, b, c = Peer(d), Peer(d), Peer(d)
    a.join("room3", "alice")
    b.join("room3", "bob")
    r = c.join("room3", "cam", role=0)
    ok(is_ok(r) and r["data"]["role"] == 0, "role 0 joins", r)
    r = c.request("subscribe", streamId="1", sdp="v=0")
    ok(err(r) == 200002 and "role 0" in r["errorMsg"], "role 0 may not subscribe: 200002", r)
    r = a.request("publish", streamType="main", audio=True, video=True, sdp="v=0\r\n")
    ok(err(r) == 200026 and len(r["errorMsg"]) > len("publish: "),
       "publish of an unusable offer: 200026 with the media plane's reason", r)
    r = a.request("publish", audio=True, video=False, sdp="v=0\r\n")
    ok(err(r) == 200025, "audio-only publish refused with 200025", r)
    r = a.request("publish", audio=False, video=False, sdp="v=0")
    ok(err(r) == 200006, "publish with neither kind: 200006", r)
    r = a.request("publish", streamType="screen", sdp="v=0")
    ok(err(r) == 200006 and "streamType" in r["errorMsg"], "unknown streamType: 200006", r)
    r = b.request("subscribe", streamId="999", sdp="v=0")
    ok(err(r) == 200006 and "streamId" in r["errorMsg"], "subscribe to an unknown stream: 200006", r)
    r = b.request("subscribe", streamId="abc", sdp="v=0")
    ok(err(r) == 200006, "malformed streamId: 200006", r)

    r = a.request("mute", kind="audio")
    ok(is_ok(r) and r["data"]["changed"] is True, "mute audio", r)
    e = b.event("mute-audio")
    ok(e is not None and e["data"] == {"roomId": "room3", "userId": "alice"}, "mute-audio {roomId, userId} relayed", e)
    ok(c.event("mute-audio") is not None, "to every other peer")
    r = a.request("mute", kind="audio")
    ok(is_ok(r) and r["data"]["changed"] is False, "muting again changes nothing", r)
    a.request("mute", kind="video")
    a.request("unmute", kind="video")
    a.request("unmute", kind="audio")
    names = [b.event(n) is not None for n in ("mute-video", "unmute-video", "unmute-audio")]
    ok(all(names), "mute-video, unmute-video, unmute-audio relayed", names)
    ok(a.event("mute-audio", 0.3) is None, "the muter is not told", a.events)
    ok(err(a.request("mute", kind="sound")) == 200006, "kind must be audio or video")

    r = b.request("switchRole", role=0)
    ok(is_ok(r) and r["data"]["role"] == 0, "switchRole to 0", r)
    ok(err(b.request("subscribe", streamId="1", sdp="v=0")) == 200002, "then subscribing is refused")
    r = b.request("switchRole", role=0)
    ok(is_ok(r), "switchRole to the same role is fine", r)
    r = a.request("switchRole", role=0)
    ok(err(r) == 200019, "a third publisher via switchRole over max_publishers_per_room=2: 200019", r)
    ok(is_ok(b.request("switchRole", role=1)), "switchRole back to 1")

    r = a.request("leave")
    ok(is_ok(r), "leave", r)
    e = b.event("peer-leave")
    ok(e is not None and e["data"] == {"userId": "alice", "reason": {"code": 0, "msg": "user left"}},
       "peer-leave {userId, reason {code 0}} to the others", e)
    ok(err(a.request("mute", kind="audio")) == 200012, "requests after leave: 200012 (not in a room)")
    ok(is_ok(a.join("room3", "alice")), "the same socket may join again")
    ok(b.event("peer-join") is not None, "and the others see it come back")
    for p in (a, b, c):
        p.close()


def test_publisher_limit(d):
    p1, p2, p3, j = Peer(d), Peer(d), Peer(d), Peer(d)
    ok(is_ok(p1.join("full", "p1", role=0)) and is_ok(p2.join("full", "p2", role=0)), "two role 0 users join")
    r = p3.join("full", "p3", role=0)
    ok(err(r) == 200019, "a third role 0 user over max_publishers_per_room=2: 200019", r)
    ok(is_ok(j.join("full", "viewer", role=1)), "a role 1 user still joins the room")
    p1.request("leave")
    ok(is_ok(p3.join("full", "p3", role=0)), "a freed slot is taken by the next publisher")
    for p in (p1, p2, p3, j):
        p.close()


def test_garbage(d):
    g = Peer(d)
    g.ws.send_text("{not json")
    e = g.event("error")
    ok(e is not None and e["data"]["errorCode"] == 200006 and "JSON" in e["data"]["errorMsg"],
       "invalid JSON: error event 200006", e)
    g.ws.send_text("[1,2,3]")
    ok((g.event("error") or {}).get("data", {}).get("errorCode") == 200006, "a JSON array: error event")
    g.send({"v": 1, "type": "ping"})
    e = g.event("error")
    ok(e is not None and "id" in e["data"]["errorMsg"], "no request id: error event naming id", e)
    g.send({"v": 1, "id": "seven", "type": "ping"})
    ok(g.event("error") is not None, "a string id: error event")
    g.send({"v": 1, "id": -1, "type": "ping"})
    ok(g.event("error") is not None, "a negative id: error event")
    g.ws.send_frame(BINARY, b"\x00\x01\x02")
    e = g.event("error")
    ok(e is not None and "binary" in e["data"]["errorMsg"], "a binary message: error event", e)
    r = g.request("fly")
    ok(err(r) == 200006 and "unknown request type" in r["errorMsg"] and r["id"] == g.next_id,
       "unknown type: error response with the request id", r)
    g.send({"v": 3, "id": 77, "type": "ping"})
    g.drain(0.3)
    r = g.responses.pop(77, None)
    ok(err(r) == 200006 and "version" in r["errorMsg"], "v 3: error response (unsupported version)", r)
    g.send({"v": 2, "id": 79, "type": "ping"})
    g.drain(0.3)
    r = g.responses.pop(79, None)
    ok(r is not None and r.get("ok") is True and r.get("v") == 2, "v 2: answered, in v 2", r)
    g.send({"id": 78, "type": "ping"})
    g.drain(0.3)
    ok(err(g.responses.pop(78, None)) == 200006, "missing v: error response")
    r = g.request("join", appId=d.app_id)
    ok(err(r) == 200006 and "missing" in r["errorMsg"], "join without fields: 200006 naming the first missing", r)
    r = g.request("join", appId=["x"], channelId={}, userId=None, signature=True)
    ok(err(r) == 200006, "join with fields of the wrong types: 200006", r)
    r = g.request("publish", sdp="v=0")
    ok(err(r) == 200012, "publish before join: 200012", r)
    g.ws.send_text('{"v":1,"id":1,"type":"ping","x":"\\ud800"}')
    ok(g.event("error") is not None, "lone surrogate in JSON: error event")
    g.ws.send_text("{" * 100 + "}" * 100)
    ok(g.event("error") is not None, "nesting 100 deep: error event")
    r = g.request("ping")
    ok(is_ok(r) and abs(r["data"]["serverTime"] - time.time() * 1000) < 60000, "the socket still answers ping", r)
    g.ws.send_frame(TEXT, '{"v":1,"id":900,', fin=False)
    g.ws.send_frame(0x0, '"type":"ping"}', fin=True)
    g.drain(0.3)
    ok(is_ok(g.responses.pop(900, None)), "a message in two fragments is one request")
    g.close()

    big = Peer(d)
    try:
        big.ws.send_text('{"v":1,"id":1,"type":"ping","pad":"' + "x" * (300 * 1024) + '"}')
    except OSError:
        pass  # the server may close before it has read the whole message
    big.event("(none)", 1, silent=True)
    ok(big.closed is not None and big.closed.code == 1009, "a 300 KiB message: closed with 1009 (too big)",
       big.closed)
    unmasked = Peer(d)
    unmasked.ws.send_frame(TEXT, '{"v":1,"id":1,"type":"ping"}', masked=False)
    unmasked.event("(none)", 1, silent=True)
    ok(unmasked.closed is not None and unmasked.closed.code == 1002, "an unmasked frame: closed with 1002",
       unmasked.closed)
    junk = Peer(d)
    junk.ws.send_raw(os.urandom(4096))
    junk.event("(none)", 1, silent=True)
    ok(junk.closed is not None, "random bytes: connection closed", junk.closed)
    st, body = d.get("/healthz")
    ok(st == 200, "daemon healthy after the garbage", body)
    after = Peer(d)
    ok(is_ok(after.join("room-after", "u1")), "and new sockets still join")
    after.close()

    st, body = d.get("/v1/signal")
    ok(st == 400 and "WebSocket" in body, "plain GET /v1/signal: 400 naming the upgrade", (st, body))


def test_silence_and_drops(d):
    a, b, c = Peer(d), Peer(d), Peer(d)
    a.join("room4", "alice")
    b.join("room4", "bob")
    c.join("room4", "carol")
    t0 = time.monotonic()
    e = a.event("peer-leave", IDLE_S + 3, alive=[c])  # bob stays silent
    took = time.monotonic() - t0
    ok(e is not None and e["data"]["userId"] == "bob" and e["data"]["reason"]["code"] == 7,
       "a silent socket: peer-leave reason 7 to the others", e)
    ok(IDLE_S - 0.5 <= took <= IDLE_S + 1.5 * irtctest.SLOW,
       "within the idle timeout (%.1f s for %d s)" % (took, IDLE_S))
    e = b.event("peer-leave", 2, silent=True)
    ok(e is not None and e["data"]["userId"] == "bob" and e["data"]["reason"]["code"] == 7,
       "the silent client is told it left (its own userId, reason 7)", e)
    b.drain(1)
    ok(b.closed is not None and b.closed.code == 4007, "then its socket is closed with 4007", b.closed)
    ok(c.event("peer-leave", 2, alive=[a]) is not None, "every other peer is told")

    c.ws.abort()
    e = a.event("peer-leave", 3)
    ok(e is not None and e["data"]["userId"] == "carol" and e["data"]["reason"]["code"] == 7,
       "a TCP connection dropped without a close frame: reason 7", e)
    d2 = Peer(d)
    d2.join("room4", "dave")
    d2.ws.close()
    e = a.event("peer-leave", 3)
    ok(e is not None and e["data"]["userId"] == "dave" and e["data"]["reason"]["code"] == 0,
       "a socket closed with a close frame: reason 0", e)
    a.close()


def test_token_expiry(d):
    a, w = Peer(d), Peer(d)
    w.join("room5", "watcher")
    almost = int(time.time() * 1000) - (TTL_S - 3) * 1000  # expires in about 3 s
    r = a.join("room5", "ann", token=d.forge("room5", "ann", ts_ms=almost))
    ok(is_ok(r), "join with a token about to expire", r)
    e = a.event("signature-expired", 2, alive=[w])
    ok(e is not None and abs(e["data"]["expiresAt"] - (almost + TTL_S * 1000)) < 2,
       "signature-expired sent before expiry, with expiresAt", e)
    e = a.event("peer-leave", 5, alive=[w])
    ok(e is not None and e["data"]["userId"] == "ann" and e["data"]["reason"]["code"] == 6,
       "at expiry the client is told it left with reason 6", e)
    e = w.event("peer-leave", 2)
    ok(e is not None and e["data"]["userId"] == "ann" and e["data"]["reason"]["code"] == 6,
       "and the others see peer-leave reason 6", e)
    a.drain(1, alive=[w])
    ok(a.closed is not None and a.closed.code == 4006, "the expired session's socket is closed (4006)", a.closed)

    b = Peer(d)
    r = b.join("room5", "ben", token=d.forge("room5", "ben", ts_ms=int(time.time() * 1000) - (TTL_S - 3) * 1000))
    ok(b.event("signature-expired", 2, alive=[w]) is not None, "second session warned")
    r = b.request("renew", signature=d.token("room5", "watcher"))
    ok(err(r) == 200009, "renew with another user's token: 200009", r)
    r = b.request("renew", signature=d.token("room5", "ben"))
    ok(is_ok(r) and r["data"]["tokenExpiresAt"] > time.time() * 1000 + (TTL_S - 5) * 1000,
       "renew with a fresh token extends the session", r)
    b.drain(4.5, alive=[w])
    ok(b.closed is None and not [e for e in b.events if e["event"] == "peer-leave"], "no expiry after renewing",
       b.events)
    ok(is_ok(b.request("ping")), "still in the room and answering")
    for p in (b, w):
        p.close()


def test_rest_release(d):
    tok = d.rest_token(d.app_id, d.app_token).json["access_token"]
    a, b, c = Peer(d), Peer(d), Peer(d)
    a.join("room6", "alice")
    b.join("room6", "bob")
    c.join("room6", "carol")
    r = d.api("releaseUser", {"appId": d.app_id, "channelId": "room6", "userId": "bob"}, tok)
    ok(r.json and r.json["errorCode"] == "0", "REST releaseUser bob", r)
    e = b.event("client-banned", 2, alive=[a, c])
    ok(e is not None and e["data"] == {"reason": {"code": 5, "msg": "kicked"}}, "bob gets client-banned reason 5", e)
    b.drain(1, alive=[a, c])
    ok(b.closed is not None and b.closed.code == 4005, "then his socket is closed with 4005", b.closed)
    e = a.event("peer-leave", 2, alive=[c])
    ok(e is not None and e["data"]["userId"] == "bob" and e["data"]["reason"]["code"] == 5,
       "the others get peer-leave reason 5", e)
    r = d.api("releaseUser", {"appId": d.app_id, "channelId": "room6", "userId": "bob"}, tok)
    ok(r.json and r.json["errorCode"] == "1001010" and r.json["errorMessage"] == "USER_NOT_FOUND", "releasing him again: 1001010 USER_NOT_FOUND", r)
    r = d.api("releaseRoom", {"appId": d.app_id, "channelId": "room6"}, tok)
    ok(r.json and r.json["errorCode"] == "0", "REST releaseRoom", r)
    ea, ec = a.event("client-banned", 2, alive=[c]), c.event("client-banned", 2, alive=[a])
    ok(ea is not None and ec is not None and ea["data"]["reason"]["code"] == 10
       and ec["data"]["reason"]["code"] == 10, "every member gets client-banned reason 10", (ea, ec))
    a.drain(1)
    ok(a.closed is not None and a.closed.code == 4010 and a.event("peer-leave", 0.1) is None,
       "sockets closed with 4010, no peer-leave storm", a.closed)
    r = d.api("releaseRoom", {"appId": d.app_id, "channelId": "room6"}, tok)
    ok(r.json and r.json["errorCode"] == "1001009" and r.json["errorMessage"] == "ROOM_NOT_FOUND", "releasing it again: 1001009 ROOM_NOT_FOUND", r)
    for p in (a, b, c):
        p.close()


def test_metrics(d):
    a = Peer(d)
    a.join("room-m", "m1")
    st, m = d.get("/metrics")

    def val(name):
        x = re.search(r"^%s (\S+)$" % name, m, re.M)
        return float(x.group(1)) if x else None
    ok(st == 200 and val("irtc_signal_websockets") is not None and val("irtc_signal_websockets") >= 1,
       "/metrics: open WebSockets", val("irtc_signal_websockets"))
    ok(val("irtc_rooms") is not None and val("irtc_rooms") >= 1 and val("irtc_room_peers") >= 1,
       "/metrics: rooms and peers", (val("irtc_rooms"), val("irtc_room_peers")))
    ok(val("irtc_room_streams") == 0 and val("irtc_room_subscriptions") == 0, "/metrics: streams, subscriptions")
    ok(val("irtc_signal_errors_total") > 0 and val("irtc_signal_messages_total") > 0, "/metrics: message counters")
    a.close()


def test_shutdown(d):
    a, b = Peer(d), Peer(d)
    a.join("room-s", "s1")
    b.join("room-s", "s2")
    t0 = time.monotonic()
    rc = d.stop()
    secs = time.monotonic() - t0
    a.drain(0.5)
    ok(a.closed is not None and a.closed.code == 1001, "SIGTERM: open sockets get close 1001", a.closed)
    ok(rc == 0 and secs < 5, "SIGTERM with sockets open: exit 0 within 5 s (rc %s, %.1f s)" % (rc, secs))


def main():
    d = Daemon()
    ok(d.started and d.get("/healthz")[0] == 200, "daemon starts")
    for t in (test_join, test_roles_publish_mute_leave, test_publisher_limit, test_garbage, test_silence_and_drops,
              test_token_expiry, test_rest_release, test_metrics, None, test_shutdown):
        if t is None:
            ok(d.alive(), "daemon still running after every test")
            continue
        try:
            t(d)
        except Exception as e:  # a crash of the test is a failure, not a hang
            ok(False, "%s raised %r" % (t.__name__, e))
    if T.failed:
        d.dump_log()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
