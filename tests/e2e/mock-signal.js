// mock-signal.js — an in-page stand-in for irtcd's signaling protocol v2
// (docs/API.md "Protocol v2"), for test_sdk_negotiation.js: window.WebSocket
// is replaced by a fake socket whose "server" lives in the page and answers
// every offer with a real RTCPeerConnection of its own (one per client
// connection, as irtcd has one transport per client connection).  What a
// publisher sends is relayed by those connections to its subscribers, so
// the SDK's renegotiations are checked by a real browser answerer and real
// media.  Simulcast offers get an answer that accepts every rid.  Every
// RTCPeerConnection the page's SDK makes is recorded in MOCK.clientPcs (the
// constructor is wrapped); the mock's own are not.
'use strict';
(() => {
  const NativePC = window.RTCPeerConnection;
  const clientPcs = [];
  class CountedPC extends NativePC {
    constructor(...a) { super(...a); clientPcs.push(this); }
  }
  window.RTCPeerConnection = CountedPC;

  const gathered = pc => pc.iceGatheringState === 'complete' ? Promise.resolve() : new Promise(r => {
    const t = setTimeout(r, 1000);
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(t); r(); } });
  });

  // The answer accepts the offer's simulcast: a=rid:X recv and a=simulcast:recv in every m-section that sends rids.
  function sections(sdp) {
    const lines = sdp.split('\r\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const secs = [[]];
    for (const l of lines) {
      if (l.startsWith('m=')) secs.push([]);
      secs[secs.length - 1].push(l);
    }
    return secs;
  }
  function acceptSimulcast(offer, answer) {
    const o = sections(offer), a = sections(answer);
    for (let i = 1; i < a.length && i < o.length; i++) {
      const rids = o[i].filter(l => /^a=rid:\S+ send/.test(l)).map(l => l.slice(6).split(' ')[0]);
      if (!rids.length || a[i][0].split(' ')[1] === '0' || a[i].some(l => l.startsWith('a=simulcast:'))) continue;
      a[i].push(...rids.map(r => `a=rid:${r} recv`), `a=simulcast:recv ${rids.join(';')}`);
    }
    return a.flat().join('\r\n') + '\r\n';
  }

  // What the mock forwards as a stream's video: a small synthetic picture
  // (a relayed camera would cost a decode and an encode per subscriber).
  function syntheticVideo(label) {
    const c = document.createElement('canvas');
    c.width = 160; c.height = 90;
    const g = c.getContext('2d');
    let n = 0;
    const timer = setInterval(() => {
      n++;
      g.fillStyle = '#123'; g.fillRect(0, 0, 160, 90);
      g.fillStyle = '#fc0'; g.fillRect((n * 4) % 160, 30, 20, 30);
      g.fillStyle = '#fff'; g.font = '14px sans-serif'; g.fillText(`${label} ${n}`, 4, 16);
    }, 100);
    const track = c.captureStream(10).getVideoTracks()[0];
    track.addEventListener('ended', () => clearInterval(timer));
    return track;
  }

  const M = window.MOCK = {
    clientPcs,
    sessions: new Set(),
    streams: new Map(),   // streamId → {streamId, userId, type, hasAudio, hasVideo, simulcast, owner, tracks}
    subs: new Map(),      // subscriptionId → {id, sess, streamId, mids, maxLayer}
    nextId: 100,
    log: [],              // every request: {user, type, mids, maxLayer, sdpLines}
    refuse: {},           // type → errorCode: refuse the next such request (then forget)
    serverPcs: [],

    snapshot(sess) {
      const peers = this.others(sess).map(o => ({ userId: o.userId, role: 1, audioMuted: false, videoMuted: false }));
      const streams = Array.from(this.streams.values()).filter(st => st.owner.room === sess.room).map(st => this.desc(st));
      return { roomId: sess.room, userId: sess.userId, role: 1, tokenExpiresAt: Date.now() + 86400000, peers, streams,
        resumeToken: sess.resumeToken, resumeWindowMs: 15000, idleTimeoutMs: 20000 };
    },
    livePcs() { return clientPcs.filter(pc => pc.signalingState !== 'closed'); },
    desc(st) {
      return { streamId: st.streamId, userId: st.userId, type: st.type, hasAudio: st.hasAudio, hasVideo: st.hasVideo,
        audioMuted: false, videoMuted: false, videoCodec: st.hasVideo ? 'VP8' : '', simulcast: st.simulcast };
    },
    event(sess, name, data) {
      if (sess.ws.readyState !== 1) return;
      setTimeout(() => sess.ws._deliver({ v: 2, type: 'event', event: name, data }), 0);
    },
    // An event to a user, as the server would send it (the tests' hand on v2's events).
    push(userId, name, data) {
      const sess = Array.from(this.sessions).find(x => x.userId === userId && x.joined);
      if (sess) this.event(sess, name, data);
    },
    subOf(userId, streamOwner) {
      const st = Array.from(this.streams.values()).find(x => x.userId === streamOwner && x.type === 'main');
      const sub = st && Array.from(this.subs.values()).find(x => x.sess.userId === userId && x.streamId === st.streamId);
      return sub ? { subscriptionId: sub.id, streamId: st.streamId } : null;
    },
    others(sess) { return Array.from(this.sessions).filter(s => s !== sess && s.room === sess.room && s.joined); },

    serverPc(sess, dir) {
      let pc = sess.pcs[dir];
      if (!pc || pc.signalingState === 'closed') {
        pc = sess.pcs[dir] = new NativePC({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
        this.serverPcs.push(pc);
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState !== 'connected' || sess.pcs[dir] !== pc) return;
          if (dir === 'send') for (const st of this.streams.values()) { if (st.owner === sess) this.event(sess, 'stream-published', { stream: this.desc(st) }); }
          else for (const sub of this.subs.values()) { if (sub.sess === sess) this.subscribed(sub); }
        });
      }
      return pc;
    },
    subscribed(sub) {
      const st = this.streams.get(sub.streamId);
      if (st) this.event(sub.sess, 'stream-subscribed', { subscriptionId: sub.id, stream: this.desc(st) });
      if (st && st.simulcast > 1 && sub.mids.video) {
        this.event(sub.sess, 'subscription-layer', { subscriptionId: sub.id, streamId: st.streamId,
          layer: Math.min(st.simulcast - 1, sub.maxLayer === undefined ? 2 : sub.maxLayer), of: st.simulcast });
      }
    },
    // Applies a client offer to the server's connection; prepare(pc) runs between the offer and the answer.
    // An offer with another DTLS fingerprint comes from a new RTCPeerConnection: it replaces the old one
    // (the client closes a connection that carries nothing and makes a new one when it needs it again).
    async answer(sess, dir, sdp, prepare) {
      const fp = x => (/a=fingerprint:(.+)/.exec(x) || [])[1];
      const old = sess.pcs[dir];
      if (old && old.remoteDescription && fp(old.remoteDescription.sdp) !== fp(sdp)) {
        old.close();
        this.replaced = (this.replaced || 0) + 1;
      }
      const pc = this.serverPc(sess, dir);
      await pc.setRemoteDescription({ type: 'offer', sdp });
      if (prepare) await prepare(pc);
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      return acceptSimulcast(sdp, pc.localDescription.sdp);
    },
    txByMid(pc, mid) { return pc.getTransceivers().find(t => t.mid === mid); },

    endStream(st) {
      this.streams.delete(st.streamId);
      if (st.tracks.video && !this.relayVideo) st.tracks.video.stop();
      for (const sub of Array.from(this.subs.values())) {
        if (sub.streamId !== st.streamId) continue;
        this.endSub(sub);
      }
      for (const o of this.others(st.owner)) this.event(o, 'stream-removed', { stream: this.desc(st) });
    },
    endSub(sub) {
      this.subs.delete(sub.id);
      const pc = sub.sess.pcs.recv;
      for (const mid of Object.values(sub.mids)) {
        const tr = pc && this.txByMid(pc, mid);
        if (tr) tr.sender.replaceTrack(null).catch(() => {});
      }
    },

    async handle(sess, req) {
      const me = sess.userId;
      this.log.push({ user: me || req.userId, type: req.type, mids: req.mids, maxLayer: req.maxLayer, pc: req.pc,
        hasSdp: !!req.sdp, stopped: req.sdp ? (req.sdp.match(/\r\nm=\S+ 0 /g) || []).length : 0,
        ufrag: req.sdp ? (/a=ice-ufrag:(\S+)/.exec(req.sdp) || [])[1] : undefined, v: req.v });
      if (req.v !== 2) throw [200006, 'v must be 2'];
      if (this.refuse[req.type]) { const c = this.refuse[req.type]; delete this.refuse[req.type]; throw [c, 'refused by the test']; }
      switch (req.type) {
        case 'ping': return { serverTime: Date.now() };
        case 'join': {
          sess.userId = req.userId; sess.room = req.channelId; sess.joined = true;
          sess.resumeToken = Math.random().toString(36).slice(2);
          for (const o of this.others(sess)) this.event(o, 'peer-join', { userId: req.userId });
          return this.snapshot(sess);
        }
        case 'resume': {
          // The session moves to this socket (the old one is dead); the room as it is now.
          const old = Array.from(this.sessions).find(x => x.resumeToken && x.resumeToken === req.resumeToken && x.joined);
          if (!old) throw [200012, 'no such session'];
          this.sessions.delete(sess);
          if (old.ws !== sess.ws) old.ws.close(4100, 'taken over');
          old.ws = sess.ws;
          sess.ws.sess = old;
          this.resumes = (this.resumes || 0) + 1;
          return this.snapshot(old);
        }
        case 'leave': {
          for (const st of Array.from(this.streams.values())) if (st.owner === sess) this.endStream(st);
          for (const sub of Array.from(this.subs.values())) if (sub.sess === sess) this.endSub(sub);
          for (const o of this.others(sess)) this.event(o, 'peer-leave', { userId: me, reason: { code: 0, msg: 'user left' } });
          sess.joined = false;
          sess.resumeToken = null;
          for (const pc of Object.values(sess.pcs)) if (pc) pc.close();
          sess.pcs = {};
          return {};
        }
        case 'publish': {
          const simulcast = req.video ? Math.max(1, (req.sdp.split(/\r\nm=video/)[1] || '').split(/\r\nm=/)[0].split('a=rid:').length - 1) : 0;
          // MOCK.videoCodec (e.g. 'H264'): the answer accepts only that codec, as irtcd picks one.
          const sdp = await this.answer(sess, 'send', req.sdp, this.videoCodec && req.mids && req.mids.video !== undefined ? pc => {
            const tr = this.txByMid(pc, req.mids.video);
            const codecs = RTCRtpReceiver.getCapabilities('video').codecs.filter(c => c.mimeType === 'video/' + this.videoCodec &&
              (this.videoCodec !== 'H264' || /packetization-mode=1/.test(c.sdpFmtpLine || '')));
            if (tr) tr.setCodecPreferences(codecs);
          } : undefined);
          const pc = sess.pcs.send;
          const tracks = {};
          for (const kind of ['audio', 'video']) {
            if (!req[kind]) continue;
            const tr = req.mids && this.txByMid(pc, req.mids[kind]);
            if (!tr) throw [200006, `mids.${kind} names no m-line`];
            tracks[kind] = kind === 'video' && !this.relayVideo ? syntheticVideo(me) : tr.receiver.track;
          }
          const st = { streamId: String(this.nextId++), userId: me, type: req.streamType || 'main', hasAudio: !!req.audio,
            hasVideo: !!req.video, simulcast: simulcast || (req.video ? 1 : 0), owner: sess, tracks };
          this.streams.set(st.streamId, st);
          for (const o of this.others(sess)) this.event(o, 'stream-added', { stream: this.desc(st) });
          if (pc.connectionState === 'connected') this.event(sess, 'stream-published', { stream: this.desc(st) });
          return { streamId: st.streamId, sdp, stream: this.desc(st) };
        }
        case 'unpublish': {
          const st = this.streams.get(String(req.streamId));
          if (!st || st.owner !== sess) throw [200006, 'not your stream'];
          this.endStream(st);
          return req.sdp ? { sdp: await this.answer(sess, 'send', req.sdp) } : {};
        }
        case 'subscribe': {
          const st = this.streams.get(String(req.streamId));
          if (!st) throw [200006, 'no such stream'];
          const mids = req.mids || {};
          const sdp = await this.answer(sess, 'recv', req.sdp, async pc => {
            for (const kind of ['audio', 'video']) {
              if (!mids[kind]) continue;
              const tr = this.txByMid(pc, mids[kind]);
              if (!tr) throw [200006, `mids.${kind} names no m-line`];
              tr.direction = 'sendonly';
              await tr.sender.replaceTrack(st.tracks[kind] || null);
            }
          });
          const sub = { id: String(this.nextId++), sess, streamId: st.streamId, mids, maxLayer: req.maxLayer };
          this.subs.set(sub.id, sub);
          if (sess.pcs.recv.connectionState === 'connected') this.subscribed(sub);
          return { subscriptionId: sub.id, sdp, stream: this.desc(st) };
        }
        case 'unsubscribe': {
          const sub = Array.from(this.subs.values()).find(s => s.sess === sess && (s.id === String(req.subscriptionId) || s.streamId === String(req.streamId)));
          if (sub) this.endSub(sub);
          else if (!req.sdp) throw [200006, 'no such subscription'];
          return req.sdp ? { sdp: await this.answer(sess, 'recv', req.sdp) } : {};
        }
        case 'negotiate': {
          if (req.pc !== 'send' && req.pc !== 'recv') throw [200006, 'pc'];
          if (!sess.pcs[req.pc] || sess.pcs[req.pc].signalingState === 'closed') throw [200006, 'no such connection'];
          return { sdp: await this.answer(sess, req.pc, req.sdp) };
        }
        case 'setLayer': {
          const sub = this.subs.get(String(req.subscriptionId));
          if (!sub || sub.sess !== sess) throw [200006, 'no such subscription'];
          sub.maxLayer = req.maxLayer;
          const st = this.streams.get(sub.streamId);
          if (st && st.simulcast > 1) this.event(sess, 'subscription-layer', { subscriptionId: sub.id, streamId: st.streamId,
            layer: Math.min(st.simulcast - 1, req.maxLayer), of: st.simulcast });
          return {};
        }
        case 'mute': case 'unmute': return { changed: true };
        default: throw [200006, 'unknown type ' + req.type];
      }
    },
  };

  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sess = { ws: this, pcs: {}, joined: false };
      M.sessions.add(this.sess);
      setTimeout(() => { this.readyState = 1; if (this.onopen) this.onopen({}); }, 5);
    }
    _deliver(msg) { if (this.readyState === 1 && this.onmessage) this.onmessage({ data: JSON.stringify(msg) }); }
    send(text) {
      const req = JSON.parse(text);
      M.handle(this.sess, req).then(
        data => this._deliver({ v: 2, id: req.id, type: 'response', ok: true, data }),
        e => {
          const [code, msg] = Array.isArray(e) ? e : [200001, String(e && e.message)];
          this._deliver({ v: 2, id: req.id, type: 'response', ok: false, errorCode: code, errorMsg: msg });
        });
    }
    close(code = 1000, reason = '') {
      if (this.readyState >= 2) return;
      this.readyState = 3;
      setTimeout(() => { if (this.onclose) this.onclose({ code, reason }); }, 0);
    }
  }
  window.WebSocket = FakeSocket;
})();
