"""gstpeer — GStreamer's webrtcbin (libnice) as a real WebRTC client for the
integration tests: the stack of many embedded devices, recorders and
gateways, beside Chromium and aiortc.  Debian 12's GStreamer 1.22
(gstreamer1.0-plugins-bad, gstreamer1.0-nice, python3-gst-1.0).

A GstPeer publishes (videotestsrc ! vp8enc, audiotestsrc ! opusenc) or
receives (depayloads and decodes VP8 and Opus, counting decoded frames per
second).  Signaling is the caller's: offer() returns the SDP offer once ICE
gathering is complete (irtcd takes no trickle candidates), answer() applies
the server's answer.  Everything is synchronous (Gst.Promise.wait); webrtcbin
and libnice run their own threads, so no GLib main loop is needed.

webrtcbin facts that matter here (../shared/docs/TESTING.md): libnice skips
loopback addresses unless told (add-local-ip-address 127.0.0.1); it writes
`a=ssrc:… msid:user…@host-…`; it keeps pairs alive with STUN binding
indications, not requests; a STUN 401 to one of its checks is fatal."""

import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import Gst, GstSdp, GstWebRTC  # noqa: E402

Gst.init(None)

VIDEO_SRC = ("videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,framerate=30/1 ! "
             "vp8enc deadline=1 cpu-used=8 target-bitrate=600000 keyframe-max-dist=60 ! rtpvp8pay pt=96 mtu=1200 ! "
             "capsfilter caps=\"application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000\"")
AUDIO_SRC = ("audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample ! opusenc ! "
             "rtpopuspay pt=111 ! "
             "capsfilter caps=\"application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000\"")
RECV_CAPS = {
    "video": "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
    "audio": "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,encoding-params=(string)2",
}
DECODE = {"video": "rtpvp8depay ! vp8dec ! fakesink name=sink sync=false async=false",
          "audio": "rtpopusdepay ! opusdec ! fakesink name=sink sync=false async=false"}
Dir = GstWebRTC.WebRTCRTPTransceiverDirection


class GstPeer:
    def __init__(self, name, send=False, recv=False):
        self.name = name
        self.t0 = time.monotonic()
        self.pipe = Gst.Pipeline.new(name)
        self.webrtc = Gst.ElementFactory.make("webrtcbin", name + "-webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        # libnice gathers no candidate on lo unless told to (TESTING.md).  In
        # 1.22 webrtcbin never sinks its agent's floating reference, so the
        # Python wrapper would take it over and free the agent when it goes:
        # one extra reference (leaked with the peer) keeps it alive.
        agent = self.webrtc.get_property("ice-agent")
        agent._ref()
        agent.emit("add-local-ip-address", "127.0.0.1")
        self.lock = threading.Lock()
        self.frames = {"video": 0, "audio": 0}
        self.per_second = {"video": {}, "audio": {}}  # second since start -> decoded buffers
        self.ice_log = []  # (seconds since start, ICE connection state name)
        self.errors = []
        self.webrtc.connect("notify::ice-connection-state", self._on_ice_state)
        self.webrtc.connect("pad-added", self._on_pad)
        if send:
            for desc in (VIDEO_SRC, AUDIO_SRC):
                src = Gst.parse_bin_from_description(desc, True)
                self.pipe.add(src)
                src.link(self.webrtc)
            for tr in self._transceivers():
                tr.set_property("direction", Dir.SENDONLY)
        if recv:
            for kind in ("video", "audio"):
                self.webrtc.emit("add-transceiver", Dir.RECVONLY, Gst.Caps.from_string(RECV_CAPS[kind]))
        self.pipe.set_state(Gst.State.PLAYING)

    def _transceivers(self):
        out, i = [], 0
        while True:
            tr = self.webrtc.emit("get-transceiver", i)
            if tr is None:
                return out
            out.append(tr)
            i += 1

    def _on_ice_state(self, *_):
        st = self.webrtc.get_property("ice-connection-state")
        self.ice_log.append((round(time.monotonic() - self.t0, 2), st.value_nick))

    def _on_pad(self, _webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        kind = caps.get_structure(0).get_string("media") or "video"
        dec = Gst.parse_bin_from_description(DECODE[kind], True)
        self.pipe.add(dec)
        dec.sync_state_with_parent()
        pad.link(dec.get_static_pad("sink"))
        sink = dec.get_by_name("sink").get_static_pad("sink")
        sink.add_probe(Gst.PadProbeType.BUFFER, self._count, kind)

    def _count(self, _pad, _info, kind):
        sec = int(time.monotonic() - self.t0)
        with self.lock:
            self.frames[kind] += 1
            self.per_second[kind][sec] = self.per_second[kind].get(sec, 0) + 1
        return Gst.PadProbeReturn.OK

    def _call(self, signal, *args, timeout=10):
        """Emits an action signal taking a Gst.Promise; returns its reply (bounded wait)."""
        done = threading.Event()
        promise = Gst.Promise.new_with_change_func(lambda *_: done.set(), None)
        self.webrtc.emit(signal, *args, promise)
        if not done.wait(timeout):
            raise TimeoutError("%s: %s got no answer in %d s" % (self.name, signal, timeout))
        return promise.get_reply()

    def caps_known(self):
        """Whether every sink pad of webrtcbin has caps yet (from its payloader)."""
        pads = [p for p in self.webrtc.sinkpads]
        return all(p.get_current_caps() is not None for p in pads)

    def offer(self, gather_timeout=10, wait_caps=True):
        """The SDP offer with every candidate (gathering complete, bounded).
        webrtcbin writes a track's a=ssrc only once its sink pad has caps, and
        sends no mid header extension: wait_caps (up to 5 s) keeps the SSRCs
        in the offer."""
        deadline = time.monotonic() + 5
        while wait_caps and not self.caps_known() and time.monotonic() < deadline:
            time.sleep(0.05)
        reply = self._call("create-offer", None)
        offer = reply.get_value("offer")
        self._call("set-local-description", offer)
        deadline = time.monotonic() + gather_timeout
        while (self.webrtc.get_property("ice-gathering-state") != GstWebRTC.WebRTCICEGatheringState.COMPLETE
               and time.monotonic() < deadline):
            time.sleep(0.05)
        return self.webrtc.get_property("local-description").sdp.as_text()

    def answer(self, sdp):
        ok, msg = GstSdp.SDPMessage.new_from_text(sdp)
        if ok != GstSdp.SDPResult.OK:
            raise ValueError("%s: the answer does not parse" % self.name)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self._call("set-remote-description", desc)
        self.t_answer = time.monotonic()

    def ice_state(self):
        return self.webrtc.get_property("ice-connection-state").value_nick

    def bus_errors(self):
        """Error and warning messages posted since the last call."""
        bus, out = self.pipe.get_bus(), []
        while True:
            m = bus.pop_filtered(Gst.MessageType.ERROR | Gst.MessageType.WARNING)
            if m is None:
                return out
            err, dbg = m.parse_error() if m.type == Gst.MessageType.ERROR else m.parse_warning()
            out.append("%s: %s" % (m.src.get_name(), err.message))

    def decoded(self, kind, since_s, until_s):
        """Buffers decoded in seconds [since_s, until_s) of this peer's life."""
        with self.lock:
            return sum(n for s, n in self.per_second[kind].items() if since_s <= s < until_s)

    def close(self):
        self.pipe.set_state(Gst.State.NULL)
