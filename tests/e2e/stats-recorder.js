// stats-recorder.js — loaded into a test page before the Web SDK: keeps every
// RTCPeerConnection the page creates and samples getStats() on a timer, so a
// test can say what the user saw (resolution, frames decoded — a freeze is a
// gap in their growth —, loss, bitrate, audio really played) and what the
// publisher sent (per simulcast rid).  Only the page is instrumented, never
// the SDK.  R.forceSimulcast(encodings) makes every sendonly video transceiver
// send those encodings instead of the one the SDK asks for (a stand-in until
// the SDK publishes simulcast itself).
'use strict';
window.R = {
  pcs: [],
  samples: [],
  timer: null,

  install() {
    const Orig = window.RTCPeerConnection, self = this;
    if (Orig.__recorded) return;
    window.RTCPeerConnection = class extends Orig {
      constructor(...args) { super(...args); self.pcs.push(this); }
    };
    window.RTCPeerConnection.__recorded = true;
  },

  forceSimulcast(encodings) {
    const proto = window.RTCPeerConnection.prototype, addTransceiver = proto.addTransceiver;
    proto.addTransceiver = function (trackOrKind, init) {
      if (trackOrKind && trackOrKind.kind === 'video' && init && init.direction === 'sendonly')
        init = Object.assign({}, init, { sendEncodings: encodings });
      return addTransceiver.call(this, trackOrKind, init);
    };
  },

  // One compact sample of every open PeerConnection.
  async sample() {
    const s = { t: Date.now(), in: [], out: [], pair: null };
    for (const pc of this.pcs) {
      if (pc.connectionState === 'closed') continue;
      let report;
      try { report = await pc.getStats(); } catch (e) { continue; }
      report.forEach(r => {
        if (r.type === 'inbound-rtp') {
          s.in.push({ kind: r.kind, ssrc: r.ssrc, w: r.frameWidth || 0, h: r.frameHeight || 0, fd: r.framesDecoded || 0,
            kfd: r.keyFramesDecoded || 0, pr: r.packetsReceived || 0, pl: r.packetsLost || 0, br: r.bytesReceived || 0,
            fz: r.freezeCount || 0, fzs: r.totalFreezesDuration || 0, nack: r.nackCount || 0, pli: r.pliCount || 0,
            tsr: r.totalSamplesReceived || 0, cs: r.concealedSamples || 0, al: r.audioLevel || 0 });
        } else if (r.type === 'outbound-rtp') {
          s.out.push({ kind: r.kind, rid: r.rid || '', ssrc: r.ssrc, w: r.frameWidth || 0, h: r.frameHeight || 0,
            bs: r.bytesSent || 0, fe: r.framesEncoded || 0, kfe: r.keyFramesEncoded || 0, ql: r.qualityLimitationReason || '',
            tb: r.targetBitrate || 0, pli: r.pliCount || 0, nack: r.nackCount || 0, fir: r.firCount || 0, active: r.active !== false });
        } else if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded' && !s.pair) {
          s.pair = { rtt: r.currentRoundTripTime, aob: r.availableOutgoingBitrate };
        }
      });
    }
    // The server's view of this page's downlink (its transport-stats event,
    // kept by the SDK): the estimate the allocator worked with.  Figures only.
    const cs = window.H ? Object.values(window.H.clients) : [];
    for (const c of cs) {
      const v = c && c._serverStats && c._serverStats.recv;
      if (v) s.srv = { at: v.at, avail: v.availableKbps, loss: v.lossPct, rtt: v.rttMs };
    }
    this.samples.push(s);
    return s;
  },

  start(periodMs) {
    if (this.timer) return;
    const tick = async () => { await this.sample(); this.timer = setTimeout(tick, periodMs); };
    this.timer = setTimeout(tick, 0);
  },

  // Samples taken since index from (the test pulls them in pieces).
  take(from) { return this.samples.slice(from); },
};
R.install();
