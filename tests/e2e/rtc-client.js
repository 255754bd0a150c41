// rtc-client.js — injected into a page served by irtcd: a minimal client of
// the signaling protocol (docs/API.md) with plain RTCPeerConnection, as a
// native integrator would write it.  No SDK: the SDK's own tests use the SDK.
'use strict';
window.SignalClient = class SignalClient {
  constructor() {
    this.nextId = 1;
    this.pending = new Map();
    this.events = [];
    this.waiters = [];
    this.pcs = {};
    this.remoteVideo = {};
  }
  connect() {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(`wss://${location.host}/v1/signal`);
      this.ws.onopen = () => {
        // The server closes a socket silent for limits.signal_idle_timeout (20 s): ping every 5 s (docs/API.md).
        this.keepalive = setInterval(() => this.request('ping'), 5000);
        resolve();
      };
      this.ws.onerror = e => reject(new Error('websocket error'));
      this.ws.onclose = e => {
        this.closed = { code: e.code, reason: e.reason };
        clearInterval(this.keepalive);
        for (const p of this.pending.values()) p({ ok: false, errorCode: 'closed', errorMsg: 'the socket closed' });
        this.pending.clear();
      };
      this.ws.onmessage = m => {
        const msg = JSON.parse(m.data);
        if (msg.type === 'response') {
          const p = this.pending.get(msg.id);
          this.pending.delete(msg.id);
          if (p) p(msg);
        } else if (msg.type === 'event') {
          this.events.push(msg);
          this.waiters = this.waiters.filter(w => !w(msg));
        }
      };
    });
  }
  request(type, fields = {}) {
    const id = this.nextId++;
    if (this.closed || this.ws.readyState !== WebSocket.OPEN)
      return Promise.resolve({ ok: false, errorCode: 'closed', errorMsg: 'the socket is not open' });
    return new Promise(resolve => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify(Object.assign({ v: 1, id, type }, fields)));
    });
  }
  waitEvent(name, pred = () => true, timeoutMs = 20000) {
    const found = this.events.find(e => e.event === name && pred(e.data));
    if (found) return Promise.resolve(found.data);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timeout waiting for ' + name)), timeoutMs);
      this.waiters.push(e => {
        if (e.event !== name || !pred(e.data)) return false;
        clearTimeout(t);
        resolve(e.data);
        return true;
      });
    });
  }
  async publish(opts = {}) {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: opts.audio !== false, video: opts.video === false ? false : { width: 1280, height: 720, frameRate: 30 } });
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    for (const t of stream.getTracks()) {
      const tr = pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
      // opts.codec ('H264', 'VP8', 'VP9'): offer only that video codec (and RTX), so the server
      // (which prefers VP8) must take it.  H.264 only with packetization-mode=1, as the server wants.
      if (t.kind === 'video' && opts.codec) {
        const caps = RTCRtpSender.getCapabilities('video').codecs;
        const want = caps.filter(c => c.mimeType.toLowerCase() === 'video/' + opts.codec.toLowerCase() &&
          !/packetization-mode=0/.test(c.sdpFmtpLine || ''));
        tr.setCodecPreferences(want.concat(caps.filter(c => c.mimeType === 'video/rtx')));
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    const r = await this.request('publish', { sdp: pc.localDescription.sdp, streamType: opts.type || 'main',
      audio: opts.audio !== false, video: opts.video !== false });
    if (!r.ok) { pc.close(); return r; }
    await pc.setRemoteDescription({ type: 'answer', sdp: r.data.sdp });
    // Keep 720p while the estimate ramps (TESTING.md): measure the link, not the encoder's caution.
    for (const s of pc.getSenders()) {
      if (s.track && s.track.kind === 'video') {
        const p = s.getParameters();
        p.degradationPreference = 'maintain-resolution';
        await s.setParameters(p);
      }
    }
    this.pcs['pub-' + r.data.streamId] = pc;
    this.pubStart = performance.now();
    return r;
  }
  async subscribe(streamId, opts = {}) {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addTransceiver('video', { direction: 'recvonly' });
    const ms = new MediaStream();
    const video = document.createElement('video');
    video.autoplay = true; video.muted = true; video.playsInline = true;
    document.body.appendChild(video);
    pc.ontrack = e => { ms.addTrack(e.track); video.srcObject = ms; };
    await pc.setLocalDescription(await pc.createOffer());
    const t0 = performance.now();
    const r = await this.request('subscribe', Object.assign({ streamId, sdp: pc.localDescription.sdp }, opts));
    if (!r.ok) { pc.close(); return r; }
    await pc.setRemoteDescription({ type: 'answer', sdp: r.data.sdp });
    this.pcs['sub-' + streamId] = pc;
    this.remoteVideo[streamId] = { video, t0, firstFrameMs: null };
    video.requestVideoFrameCallback && video.requestVideoFrameCallback(() => {
      this.remoteVideo[streamId].firstFrameMs = performance.now() - t0;
    });
    return r;
  }
  async stats(key) {
    const pc = this.pcs[key];
    const out = { state: pc.connectionState };
    (await pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' || s.type === 'outbound-rtp')
        out[(s.type === 'inbound-rtp' ? 'in-' : 'out-') + s.kind] = {
          bytes: s.bytesReceived || s.bytesSent || 0, packets: s.packetsReceived || s.packetsSent || 0,
          frames: s.framesDecoded || s.framesEncoded || 0, width: s.frameWidth || 0, height: s.frameHeight || 0,
          limitation: s.qualityLimitationReason };
      if (s.type === 'candidate-pair' && s.nominated) out.availableOutgoingBitrate = s.availableOutgoingBitrate;
    });
    return out;
  }
};
