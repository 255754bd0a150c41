#!/usr/bin/python3
"""aiortc_peer.py HOST PORT APPID CHANNEL USERID SIGNATURE SECONDS — an aiortc
(Debian's python3-aiortc 1.4, its own SCTP stack) user in a room for
test_datachannel.js: joins in signaling protocol v2, publishes audio with a
reliable and an unreliable data channel (docs/API.md "Data channels"),
prints "ready" once both channels are open, sends "hello from aiortc" to
the room, then answers every reliable message with "echo:" + the text (or
the same bytes) to its sender.  Prints "got FROM KIND LEN" per message and
exits after SECONDS.  Bounded: every wait has a deadline."""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import aioice.ice  # noqa: E402
from aiortc import RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack  # noqa: E402
from dc_envelope import envelope, open_envelope  # noqa: E402
from wsclient import WSClient  # noqa: E402

aioice.ice.get_host_addresses = lambda *a, **k: ["127.0.0.1"]


class Signal:
    def __init__(self, host, port):
        self.ws = WSClient(host, port)
        self.n = 0
        self.last_ping = 0.0

    def request(self, rtype, **fields):
        self.n += 1
        self.ws.send_text(json.dumps(dict(v=2, id=self.n, type=rtype, **fields)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                m = json.loads(self.ws.recv(0.5))
            except TimeoutError:
                continue
            if m.get("type") == "response" and m.get("id") == self.n:
                return m
        return None

    def keepalive(self):
        if time.monotonic() - self.last_ping > 0.5:
            self.last_ping = time.monotonic()
            self.ws.ping()
        try:
            self.ws.recv(0.01)  # events: read and forgotten
        except TimeoutError:
            pass


async def main(host, port, app_id, channel, user, signature, seconds):
    sig = Signal(host, int(port))
    r = sig.request("join", appId=app_id, channelId=channel, userId=user, ctime=int(time.time()),
                    signature=signature)
    if not r or not r.get("ok"):
        print("join failed %r" % r, flush=True)
        return 1
    pc = RTCPeerConnection()
    rel = pc.createDataChannel("irtc-r")
    unrel = pc.createDataChannel("irtc-u", ordered=False, maxRetransmits=0)

    @rel.on("message")
    def on_rel(m):
        frm, data = open_envelope(m)
        print("got %s reliable %s %d" % (frm, "string" if isinstance(data, str) else "binary", len(data)), flush=True)
        rel.send(envelope(frm, "echo:" + data if isinstance(data, str) else data))

    @unrel.on("message")
    def on_unrel(m):
        frm, data = open_envelope(m)
        print("got %s unreliable %d" % (frm, len(data)), flush=True)

    pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())
    mids = {t.kind: t.mid for t in pc.getTransceivers()}
    r = sig.request("publish", sdp=pc.localDescription.sdp, streamType="main", audio=True, video=False, mids=mids)
    if not r or not r.get("ok"):
        print("publish failed %r" % r, flush=True)
        return 1
    await pc.setRemoteDescription(RTCSessionDescription(r["data"]["sdp"], "answer"))
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (rel.readyState == "open" and unrel.readyState == "open"):
        sig.keepalive()
        await asyncio.sleep(0.05)
    if rel.readyState != "open":
        print("channels did not open", flush=True)
        return 1
    print("ready", flush=True)
    await asyncio.sleep(0.5)
    rel.send(envelope("", "hello from aiortc"))
    while time.monotonic() < end:
        sig.keepalive()
        await asyncio.sleep(0.05)
    await pc.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:7], float(sys.argv[7]))))
