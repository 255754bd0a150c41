#!/usr/bin/python3
"""test_client_aiortc.py — the C client core's transport (src/client)
against aiortc (Debian's python3-aiortc 1.4), peer to peer on 127.0.0.1, no
irtcd: tests/integration/client_p2p offers two PeerConnections, aiortc
answers both.  On the first aiortc sends audio + VP8 video and the C side
receives and counts it (ICE as controlling agent against a full-ICE peer,
DTLS server since aiortc answers active, SRTP, RTCP); on the second the C
side sends Opus frames and aiortc decodes them.  Prints TAP; skips (1..0)
when aiortc is missing.  Every wait is bounded."""

import asyncio
import json
import os
import sys

try:
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
except ImportError:
    print("1..0 # SKIP python3-aiortc is not installed")
    sys.exit(0)

# aioice leaves out loopback addresses; the test stays on 127.0.0.1.
aioice.ice.get_host_addresses = lambda *a, **k: ["127.0.0.1"]

BUILD = os.environ.get("top_builddir", os.getcwd())
HELPER = os.path.join(BUILD, "tests", "integration", "client_p2p")
N = 0
FAILED = 0


def ok(cond, desc, diag=None):
    global N, FAILED
    N += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", N, desc))
    if not cond:
        FAILED += 1
        if diag is not None:
            print("#   %s" % diag)
    sys.stdout.flush()


async def run():
    proc = await asyncio.create_subprocess_exec(HELPER, "5", stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, limit=1 << 20)
    offers = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
    ok("a=sendonly" in offers["send"] and "a=recvonly" in offers["recv"], "the C client offers two PeerConnections")

    pc_recv = RTCPeerConnection()  # aiortc sends on this one
    pc_send = RTCPeerConnection()  # and receives on this one
    frames = {"audio": 0}

    @pc_send.on("track")
    def on_track(track):
        async def pull():
            try:
                while True:
                    await track.recv()
                    frames["audio"] += 1
            except Exception:
                pass
        asyncio.ensure_future(pull())

    await pc_recv.setRemoteDescription(RTCSessionDescription(offers["recv"], "offer"))
    for t in pc_recv.getTransceivers():
        t.direction = "sendonly"
        t.sender.replaceTrack(AudioStreamTrack() if t.kind == "audio" else VideoStreamTrack())
    await pc_recv.setLocalDescription(await pc_recv.createAnswer())
    await pc_send.setRemoteDescription(RTCSessionDescription(offers["send"], "offer"))
    await pc_send.setLocalDescription(await pc_send.createAnswer())
    answers = {"recv": pc_recv.localDescription.sdp, "send": pc_send.localDescription.sdp}
    ok("a=setup:active" in answers["recv"], "aiortc answers as DTLS client (setup active)")
    proc.stdin.write((json.dumps(answers) + "\n").encode())
    await proc.stdin.drain()

    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    stats = json.loads(line) if line else {}
    await asyncio.wait_for(proc.wait(), 10)
    ok(stats.get("recv_connected") and stats.get("send_connected"), "both transports connect (ICE + DTLS)", stats)
    ok(pc_recv.connectionState == "connected" or frames["audio"] > 0, "aiortc saw its side connect",
       pc_recv.connectionState)
    ok(stats.get("packets", 0) > 100, "the C client received aiortc's audio and video (%s packets)"
       % stats.get("packets"))
    ok(stats.get("srtp_failed", 1) == 0, "every packet passed SRTP", stats)
    ok(stats.get("lost", 99) <= 2, "no real loss on loopback (%s)" % stats.get("lost"))
    ok(stats.get("profile") in (1, 7), "an SRTP profile was negotiated (%s)" % stats.get("profile"))
    ok(stats.get("sent", 0) > 100, "the C client sent Opus frames (%s)" % stats.get("sent"))
    ok(frames["audio"] > 50, "aiortc decoded them (%d frames)" % frames["audio"])
    await pc_recv.close()
    await pc_send.close()


def main():
    try:
        asyncio.run(asyncio.wait_for(run(), 60))
    except Exception as e:  # noqa: BLE001 - any failure is a test failure, with its reason
        ok(False, "the exchange completed", repr(e))
    print("1..%d" % N)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
