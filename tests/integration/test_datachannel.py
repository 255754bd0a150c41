#!/usr/bin/python3
"""test_datachannel.py — data channels through the room (docs/API.md, "Data
channels"): three aiortc clients (Debian's python3-aiortc, its own SCTP
stack) join in protocol v2, each publishing audio with a reliable and an
unreliable (maxRetransmits 0) channel on its sending PeerConnection.  alice
sends 1,000 reliable strings to the room (bob and carol get all, in order,
marked as hers), binary messages to bob only (carol gets none), a 64 KiB
binary message, and unreliable ones; an empty string crosses too.  Prints
TAP; skips (1..0) when aiortc is not installed.  Every wait is bounded."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack
except ImportError:
    print("1..0 # SKIP python3-aiortc is not installed")
    sys.exit(0)
import test_signal as ts  # noqa: E402
from dc_envelope import envelope, open_envelope  # noqa: E402
from test_signal_media import until  # noqa: E402

aioice.ice.get_host_addresses = lambda *a, **k: ["127.0.0.1"]
ok = ts.ok
N_RELIABLE = 1000


class Client:
    def __init__(self, d, name):
        self.name = name
        self.sig = ts.Peer(d, v=2)
        self.pc = RTCPeerConnection()
        self.got = {"r": [], "u": []}  # (from, data) per channel
        self.rel = self.pc.createDataChannel("irtc-r")
        self.unrel = self.pc.createDataChannel("irtc-u", ordered=False, maxRetransmits=0)
        for key, ch in (("r", self.rel), ("u", self.unrel)):
            ch.on("message", lambda m, key=key: self.got[key].append(open_envelope(m)))

    async def publish(self):
        self.pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        mids = {t.kind: t.mid for t in self.pc.getTransceivers()}
        r = self.sig.request("publish", sdp=self.pc.localDescription.sdp, streamType="main", audio=True, video=False,
                             mids=mids)
        if not ts.is_ok(r):
            return r
        await self.pc.setRemoteDescription(RTCSessionDescription(r["data"]["sdp"], "answer"))
        return r

    async def subscribe(self, stream_id):
        self.pc.addTransceiver("audio", direction="recvonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        mids = {t.kind: t.mid for t in self.pc.getTransceivers()}
        r = self.sig.request("subscribe", streamId=stream_id, sdp=self.pc.localDescription.sdp, mids=mids)
        if ts.is_ok(r):
            await self.pc.setRemoteDescription(RTCSessionDescription(r["data"]["sdp"], "answer"))
        return r


async def run(d):
    names = ["alice", "bob", "carol"]
    cl = {n: Client(d, n) for n in names}
    sigs = [c.sig for c in cl.values()]
    ok(all(ts.is_ok(c.sig.join("dcroom", c.name)) for c in cl.values()), "alice, bob and carol join (v2)")
    stream_id = None
    for c in cl.values():
        if c.name == "carol":  # the test room allows two publishers: carol's channels ride her receiving connection
            r = await c.subscribe(stream_id)
        else:
            r = await c.publish()
        ok(ts.is_ok(r), "%s: %s with data channels" % (c.name, "subscribes" if c.name == "carol" else "publishes"),
           r and r.get("errorMsg"))
        if not ts.is_ok(r):
            return
        stream_id = stream_id or r["data"].get("streamId")
        sdp = r["data"]["sdp"]
        ok("m=application 9 DTLS/SCTP 5000\r\n" in sdp and "a=sctpmap:5000 webrtc-datachannel" in sdp,
           "%s: m=application accepted in the offer's (aiortc's pre-RFC 8841) form" % c.name)
        ok("a=max-message-size:262144" in sdp, "%s: a=max-message-size" % c.name)
    opened = await until(lambda: all(c.rel.readyState == "open" and c.unrel.readyState == "open"
                                      for c in cl.values()), sigs, 20)
    ok(opened, "every client's two channels open (DCEP acknowledged)",
       {n: (c.rel.readyState, c.unrel.readyState) for n, c in cl.items()})
    if not opened:
        return
    alice, bob, carol = cl["alice"], cl["bob"], cl["carol"]

    # 1,000 reliable strings to the room
    for i in range(N_RELIABLE):
        alice.rel.send(envelope("", "m%d" % i))
    want = [("alice", "m%d" % i) for i in range(N_RELIABLE)]
    done = await until(lambda: len(bob.got["r"]) >= N_RELIABLE and len(carol.got["r"]) >= N_RELIABLE, sigs, 30)
    ok(done and bob.got["r"] == want, "bob: all %d reliable messages, in order, from alice" % N_RELIABLE,
       len(bob.got["r"]))
    ok(done and carol.got["r"] == want, "carol: likewise", len(carol.got["r"]))
    ok(alice.got["r"] == [], "alice does not get her own messages back")

    # to bob only, then a broadcast marker: carol's ordered channel would hold the private ones before it
    for c in cl.values():
        c.got["r"].clear()
    for i in range(5):
        alice.rel.send(envelope("bob", b"\x00private%d" % i))
    alice.rel.send(envelope("", "end"))
    await until(lambda: len(carol.got["r"]) >= 1 and len(bob.got["r"]) >= 6, sigs, 10)
    ok([x for x in bob.got["r"] if isinstance(x[1], bytes)] == [("alice", b"\x00private%d" % i) for i in range(5)],
       "bob gets the 5 binary messages addressed to him", bob.got["r"][:6])
    ok(carol.got["r"] == [("alice", "end")], "carol gets only the broadcast, none of bob's", carol.got["r"][:6])

    # 64 KiB binary: aiortc 1.4 offers a=max-message-size:65536, so a 64 KiB
    # payload behind the envelope is over bob's limit (refused, counted) and
    # the largest that fits arrives whole
    big = os.urandom(65536)
    fits = big[:65536 - 1 - len("alice")]
    bob.got["r"].clear()
    alice.rel.send(envelope("bob", big))
    alice.rel.send(envelope("bob", fits))
    await until(lambda: len(bob.got["r"]) >= 1, sigs, 10)
    await until(lambda: len(bob.got["r"]) >= 2, sigs, 1)
    ok(bob.got["r"] == [("alice", fits)], "a %d-byte binary message arrives whole, the 64 KiB one over bob's "
       "max-message-size is refused" % len(fits), [len(x[1]) for x in bob.got["r"]])

    # an empty string (PPID 56 on the wire when the envelope is all there is would be bob's own empty;
    # here: alice's empty payload behind the envelope) and bob's reply to alice
    bob.got["r"].clear()
    alice.rel.send(envelope("bob", ""))
    bob.rel.send(envelope("alice", "pong"))
    await until(lambda: len(bob.got["r"]) >= 1 and len(alice.got["r"]) >= 1, sigs, 10)
    ok(bob.got["r"] == [("alice", "")], "an empty string payload arrives", bob.got["r"])
    ok(alice.got["r"] == [("bob", "pong")], "bob's reply reaches alice", alice.got["r"])

    # unreliable
    for i in range(200):
        alice.unrel.send(envelope("", "u%d" % i))
    await until(lambda: len(bob.got["u"]) >= 200, sigs, 5)
    ok(len(bob.got["u"]) >= 150 and all(f == "alice" for f, _ in bob.got["u"]),
       "unreliable messages arrive on bob's unreliable channel (%d of 200 on loopback)" % len(bob.got["u"]))
    ok(bob.got["r"][1:] == [], "none of them on the reliable channel")

    st, m = d.get("/metrics")
    m = m.decode() if isinstance(m, bytes) else m
    def total(name):
        return sum(float(line.split()[-1]) for line in m.splitlines() if line.startswith(name + "{"))
    ok(st == 200 and total("irtc_media_data_messages_received_total") >= N_RELIABLE + 200,
       "/metrics: messages received", total("irtc_media_data_messages_received_total"))
    ok(total("irtc_media_data_drop_too_big_total") >= 1, "/metrics: the refused 64 KiB message is counted")
    for c in cl.values():
        await c.pc.close()
        c.sig.close()


def main():
    return ts.run_daemon_test(run, 150, "the data channel test")


if __name__ == "__main__":
    sys.exit(main())
