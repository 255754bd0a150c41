#!/usr/bin/python3
"""test_signal_resume.py — `resume` (docs/API.md): a user that joined with
"resume": true keeps its place in the room for limits.signal_resume_window
after its signaling socket is lost, and comes back on a new socket.  The
built irtcd on 127.0.0.1 with small limits, real TLS WebSockets.  Prints TAP.

Covers: a dropped TCP connection (no close frame) then resume — nobody is
told, events queued meanwhile are replayed, the room comes back in the
answer; no resume — peer-leave 7 after the window; a silent socket (closed
4007, kept); resume while the old socket is still open (it is closed with
4100); removed by REST while away (resume replays client-banned, answers
200012, closes 4005); a close frame still means leaving at once; joins
without "resume" behave as before; the metrics.  Every wait is bounded."""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "vectors"))
import irtctest  # noqa: E402
import test_signal as ts  # noqa: E402  (its Peer client; its tests do not run on import)

IDLE_S = 2 * irtctest.SLOW    # limits.signal_idle_timeout
WINDOW_S = 3 * irtctest.SLOW  # limits.signal_resume_window
T = ts.T
ok = T.ok
err, is_ok = ts.err, ts.is_ok


class Daemon(ts.Daemon):
    def __init__(self):  # pylint: disable=super-init-not-called
        irtctest.Daemon.__init__(self, "resume", "  demo_token: true\n",
                                 "limits:\n  signal_idle_timeout: %ds\n  signal_resume_window: %ds\n"
                                 % (IDLE_S, WINDOW_S))
        self.port = self.https_port
        self.started = self.start()
        apps = ts.json.loads(self.cli("app", "list", "--show-secrets")[1])
        demo = [a for a in apps if a["name"] == "demo"][0]
        self.app_id, self.access_key, self.tenant = demo["appId"], demo["accessKey"], demo.get("tenantId", "")
        self.app_token = demo["appToken"]


def peer_leaves(p, seconds, alive=()):
    """peer-leave events p sees within seconds (keeping p and alive pinging)."""
    p.drain(seconds, alive)
    found = [e for e in p.events if e.get("event") == "peer-leave"]
    p.events = [e for e in p.events if e.get("event") != "peer-leave"]
    return found


def test_drop_and_resume(d):
    a, b = ts.Peer(d), ts.Peer(d)
    r = a.join("rs1", "alice", resume=True)
    token = r["data"].get("resumeToken") if is_ok(r) else None
    ok(token and len(token) == 32 and r["data"]["resumeWindowMs"] == WINDOW_S * 1000
       and r["data"]["idleTimeoutMs"] == IDLE_S * 1000, "join with resume: a resumeToken and the window", r)
    r = b.join("rs1", "bob")
    ok(is_ok(r) and "resumeToken" not in r["data"], "a join without resume gets no resumeToken", r)
    a.event("peer-join", 2)

    a.ws.abort()
    time.sleep(0.3)
    ok(metric(d, "irtc_signal_parked") == 1, "alice is parked (irtc_signal_parked 1)", metric(d, "irtc_signal_parked"))
    ok(is_ok(b.request("mute", kind="audio")), "bob mutes while alice is away")
    ok(not peer_leaves(b, 1.0), "bob sees no peer-leave while alice is away")
    a2 = ts.Peer(d)
    r = a2.request("resume", resumeToken=token)
    ok(is_ok(r) and r["data"]["userId"] == "alice" and [p["userId"] for p in r["data"]["peers"]] == ["bob"]
       and r["data"]["peers"][0]["audioMuted"] is True and r["data"]["resumeToken"] == token,
       "resume on a new socket: the room as it is now", r)
    ok([e["event"] for e in a2.events] == ["mute-audio"],
       "what happened meanwhile is replayed before the answer", [e["event"] for e in a2.events])
    ok(not peer_leaves(b, WINDOW_S + 1, alive=[a2]), "bob never sees alice leave")
    ok(is_ok(b.request("unmute", kind="audio")), "bob unmutes")
    ok(a2.event("unmute-audio", 2) is not None, "alice gets events on the new socket")
    ok(err(a2.request("resume", resumeToken=token)) == 200002, "resume on a socket already in a room: 200002")
    ok(err(ts.Peer(d).request("resume", resumeToken="x" * 32)) == 200012, "an unknown resumeToken: 200012")

    # Lost again and not resumed: the others see reason 7 once the window has passed.
    a2.ws.abort()
    t0 = time.monotonic()
    e = b.event("peer-leave", WINDOW_S + 3)
    took = time.monotonic() - t0
    ok(e is not None and e["data"]["userId"] == "alice" and e["data"]["reason"]["code"] == 7,
       "not resumed: peer-leave reason 7", e)
    ok(WINDOW_S - 0.5 <= took <= WINDOW_S + 1.5 * irtctest.SLOW,
       "after the window (%.1f s for %d s)" % (took, WINDOW_S))
    ok(err(ts.Peer(d).request("resume", resumeToken=token)) == 200012, "too late: 200012, join again")
    b.close()


def test_silence_and_takeover(d):
    a, b = ts.Peer(d), ts.Peer(d)
    token = a.join("rs2", "alice", resume=True)["data"]["resumeToken"]
    b.join("rs2", "bob")
    # alice goes silent: her socket is closed (4007) but she is kept.
    e = a.event("peer-leave", IDLE_S + 2, alive=[b], silent=True)
    a.drain(0.5, alive=[b])
    ok(e is None and a.closed is not None and a.closed.code == 4007,
       "a silent resumable socket is closed with 4007, without peer-leave", (e, a.closed))
    a2 = ts.Peer(d)
    r = a2.request("resume", resumeToken=token)
    ok(is_ok(r), "and resumed on a new socket", r)
    ok(not peer_leaves(b, 0.5, alive=[a2]), "bob saw nothing")
    # Resume while the old socket is still open (its network silently gone).
    a3 = ts.Peer(d)
    r = a3.request("resume", resumeToken=token)
    ok(is_ok(r), "resume while the old socket is still open", r)
    a2.drain(1, alive=[a3, b])
    ok(a2.closed is not None and a2.closed.code == 4100, "the old socket is closed with 4100", a2.closed)
    ok(not peer_leaves(b, 1, alive=[a3]), "bob saw nothing")
    a3.request("leave")
    e = b.event("peer-leave", 2)
    ok(e is not None and e["data"]["reason"]["code"] == 0, "leave from the resumed socket: reason 0", e)
    # A close frame still means leaving at once.
    c = ts.Peer(d)
    c.join("rs2", "carol", resume=True)
    c.close()
    e = b.event("peer-leave", 2)
    ok(e is not None and e["data"]["userId"] == "carol" and e["data"]["reason"]["code"] == 0,
       "a resumable socket closed with a close frame: reason 0 at once", e)
    b.close()


def test_removed_while_away(d):
    tok = d.rest_token(d.app_id, d.app_token).json["access_token"]
    a, b = ts.Peer(d), ts.Peer(d)
    token = a.join("rs3", "alice", resume=True)["data"]["resumeToken"]
    b.join("rs3", "bob")
    a.ws.abort()
    time.sleep(0.2)
    r = d.api("releaseUser", {"appId": d.app_id, "channelId": "rs3", "userId": "alice"}, tok)
    ok(r.json and r.json["errorCode"] == "0", "REST releaseUser of a user who is away", r)
    e = b.event("peer-leave", 2)
    ok(e is not None and e["data"]["reason"]["code"] == 5, "bob sees reason 5", e)
    a2 = ts.Peer(d)
    r = a2.request("resume", resumeToken=token)
    ok(err(r) == 200012, "resume after that: 200012", r)
    ok([e["event"] for e in a2.events] == ["client-banned"], "after client-banned, replayed",
       [e["event"] for e in a2.events])
    a2.drain(0.5)
    ok(a2.closed is not None and a2.closed.code == 4005, "and the socket is closed with 4005", a2.closed)

    # Without "resume" a dropped socket leaves at once, as before.
    c = ts.Peer(d)
    c.join("rs3", "carol")
    c.ws.abort()
    e = b.event("peer-leave", 2)
    ok(e is not None and e["data"]["userId"] == "carol" and e["data"]["reason"]["code"] == 7,
       "a dropped socket that did not ask for resume: reason 7 at once", e)
    b.close()


def metric(d, name):
    st, body = d.get("/metrics")
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def test_metrics(d):
    ok(metric(d, "irtc_signal_resumed_total") == 3, "irtc_signal_resumed_total counts the resumes",
       metric(d, "irtc_signal_resumed_total"))
    ok(metric(d, "irtc_signal_parked") == 0, "irtc_signal_parked is back to 0", metric(d, "irtc_signal_parked"))


def main():
    d = Daemon()
    ok(d.started and d.get("/healthz")[0] == 200, "daemon starts")
    for t in (test_drop_and_resume, test_silence_and_takeover, test_removed_while_away, test_metrics):
        try:
            t(d)
        except Exception as e:  # a crash of the test is a failure, not a hang
            ok(False, "%s raised %r" % (t.__name__, e))
    ok(d.alive(), "daemon still running")
    rc = d.stop()
    ok(rc == 0, "irtcd stops cleanly", rc)
    if T.failed:
        d.dump_log()
    return T.done()


if __name__ == "__main__":
    sys.exit(main())
