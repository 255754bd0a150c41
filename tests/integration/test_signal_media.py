#!/usr/bin/python3
"""test_signal_media.py — signaling with real media: aiortc (Debian's
python3-aiortc 1.4) publishes audio and VP8 video through /v1/signal, a
second aiortc client subscribes to it, and the frames and audio, the SFU's
connected events, mute/unmute and unpublish are checked as a client sees
them.  Prints TAP; skips (1..0) when aiortc is not installed.  Every wait is
bounded.

aiortc 1.4 offers each m= line with its own ICE credentials (legal in an
initial BUNDLE offer, RFC 8843 §7.2.1): the SFU uses the BUNDLE tag's."""

import asyncio
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import aioice.ice
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
except ImportError:
    print("1..0 # SKIP python3-aiortc is not installed")
    sys.exit(0)
import test_signal as ts  # noqa: E402

# aioice leaves out loopback addresses; the test runs on 127.0.0.1 only.
aioice.ice.get_host_addresses = lambda *a, **k: ["127.0.0.1"]
ok = ts.ok


async def pump(peers, seconds):
    """Lets aiortc run while the signaling peers read and keep alive."""
    for _ in range(int(seconds * 10)):
        await asyncio.sleep(0.1)
        for p in peers:
            p.keepalive()
            p._read(0.005)


async def until(cond, peers, seconds):
    for _ in range(int(seconds * 10)):
        if cond():
            return True
        await pump(peers, 0.1)
    return cond()


def has_event(peer, name):
    return any(e.get("event") == name for e in peer.events)


async def run(d):
    pub, sub = ts.Peer(d), ts.Peer(d)
    ok(ts.is_ok(pub.join("media1", "alice")) and ts.is_ok(sub.join("media1", "bob")), "publisher and viewer join")
    peers = [pub, sub]

    pc = RTCPeerConnection()
    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    r = pub.request("publish", sdp=pc.localDescription.sdp, audio=True, video=True)
    ok(ts.is_ok(r), "publish an aiortc audio + VP8 offer", r and r.get("errorMsg"))
    if not ts.is_ok(r):
        await pc.close()
        return
    data = r["data"]
    st = data["stream"]
    ok(st["hasVideo"] and st["hasAudio"] and st["videoCodec"] == "VP8" and st["streamId"] == data["streamId"],
       "the descriptor comes from the offer (audio + VP8)", st)
    ok("a=ice-lite" in data["sdp"] and "a=setup:passive" in data["sdp"], "the answer: ICE-lite, DTLS server")
    await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "answer"))
    ok(await until(lambda: has_event(sub, "stream-added"), peers, 2), "the viewer gets stream-added")
    ok(await until(lambda: pc.connectionState == "connected", peers, 10), "the publisher connects (ICE + DTLS)",
       pc.connectionState)
    ok(await until(lambda: has_event(pub, "stream-published"), peers, 5), "stream-published once connected")

    spc = RTCPeerConnection()
    spc.addTransceiver("audio", direction="recvonly")
    spc.addTransceiver("video", direction="recvonly")
    frames = {"n": 0, "audio": 0}

    @spc.on("track")
    def on_track(track):
        key = "audio" if track.kind == "audio" else "n"

        async def read():
            while True:
                try:
                    await track.recv()
                except Exception:
                    return
                frames[key] += 1
        asyncio.ensure_future(read())

    await spc.setLocalDescription(await spc.createOffer())
    r = sub.request("subscribe", streamId=data["streamId"], sdp=spc.localDescription.sdp)
    ok(ts.is_ok(r) and r["data"]["subscriptionId"] != data["streamId"], "subscribe: a subscriptionId and an answer",
       r and r.get("errorMsg"))
    if ts.is_ok(r):
        await spc.setRemoteDescription(RTCSessionDescription(r["data"]["sdp"], "answer"))
        ok(await until(lambda: has_event(sub, "stream-subscribed"), peers, 10), "stream-subscribed once connected")
        ok(await until(lambda: frames["n"] >= 30, peers, 10), "the viewer decodes frames (%d)" % frames["n"])
        ok(await until(lambda: frames["audio"] >= 25, peers, 5), "the viewer decodes audio (%d frames)" % frames["audio"])

        ok(ts.is_ok(pub.request("mute", kind="video")), "the publisher mutes its video")
        await pump(peers, 0.5)
        n0 = frames["n"]
        await pump(peers, 1.5)
        ok(frames["n"] - n0 <= 2, "no frames forwarded while muted (%d)" % (frames["n"] - n0))
        ok(has_event(sub, "mute-video"), "the viewer got mute-video")
        ok(ts.is_ok(pub.request("unmute", kind="video")), "unmute")
        n1 = frames["n"]
        ok(await until(lambda: frames["n"] - n1 >= 10, peers, 5), "frames flow again (%d)" % (frames["n"] - n1))

    ok(ts.is_ok(pub.request("unpublish", streamId=data["streamId"])), "unpublish")
    ok(await until(lambda: has_event(sub, "stream-removed"), peers, 2), "the viewer gets stream-removed")
    await spc.close()
    await pc.close()
    for p in peers:
        p.close()


def main():
    return ts.run_daemon_test(run, 90, "the media test")


if __name__ == "__main__":
    sys.exit(main())
