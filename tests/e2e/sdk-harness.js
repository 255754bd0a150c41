// sdk-harness.js — loaded into a test page after /sdk/isdprtc.js: an
// application written the way the access guide's sample code (§7.3.2) uses
// the SDK, plus a record of every event for the test to look at.  Only the
// public API: ISDPRTC.createClient → join → createStream → initialize →
// publish → on stream-added subscribe → on stream-subscribed play.
'use strict';
window.H = {
  clients: {},
  events: [],
  locals: {},
  remote: {}, // "key:userId:type" → the remote Stream last subscribed
  EVENTS: ['peer-join', 'peer-leave', 'stream-added', 'stream-removed', 'stream-updated', 'stream-subscribed',
    'stream-published', 'client-banned', 'error', 'mute-audio', 'unmute-audio', 'mute-video', 'unmute-video',
    'signature-expired', 'camera-changed', 'network-quality', 'audio-volume', 'connection-state-changed',
    'stream-video-paused', 'stream-video-resumed', 'stream-layer-changed', 'active-speaker'],

  async token(channelId, userId, role) {
    const r = await fetch('/demo/token', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channelId, userId, role }) });
    if (!r.ok) throw new Error('/demo/token: ' + r.status);
    return r.json();
  },

  record(name, key, ev) {
    const e = { key, ev: name, t: Date.now() };
    if (ev && ev.stream) {
      for (const k of Object.keys(ev)) if (k !== 'stream') e[k] = ev[k];
      e.streamId = ev.stream.getId(); e.userId = ev.stream.getUserId(); e.type = ev.stream.getType();
    } else if (ev) Object.assign(e, JSON.parse(JSON.stringify(ev)));
    if (name === 'audio-volume' || name === 'network-quality') {
      // Kept short: the last one of each kind only.
      this.last = this.last || {};
      this.last[key + ':' + name] = e;
      if (name === 'audio-volume') {
        this.maxVolume = this.maxVolume || {};
        for (const r of e.result) this.maxVolume[`${key}:${r.userId}`] = Math.max(this.maxVolume[`${key}:${r.userId}`] || 0, r.audioVolume);
      }
      return;
    }
    this.events.push(e);
  },

  // The guide's sample, for one client (key names it in the page).
  async start(key, opts) {
    const t = opts.token || await this.token(opts.channel, opts.userId, opts.role);
    const client = ISDPRTC.createClient({ appId: t.appId, domain: opts.domain || location.host });
    this.clients[key] = client;
    for (const name of this.EVENTS) client.on(name, ev => this.record(name, key, ev));
    client.on('stream-added', event => {
      const stream = event.stream;
      client.subscribe(stream, opts.subscribe || { video: true, audio: true }).catch(e => this.record('subscribe-failed', key, { msg: e.getMsg() }));
    });
    client.on('stream-subscribed', event => {
      const stream = event.stream;
      this.remote[`${key}:${stream.getUserId()}:${stream.getType()}`] = stream;
      const id = `${key}-remote-${stream.getId()}`;
      let div = document.getElementById(id);
      if (!div) {
        div = document.createElement('div');
        div.id = id;
        div.className = 'remote';
        div.dataset.key = key;
        div.dataset.userId = stream.getUserId();
        div.dataset.type = stream.getType();
        document.body.appendChild(div);
      }
      stream.play(id, { objectFit: 'contain', muted: true });
    });
    client.on('stream-removed', event => {
      event.stream.close();
      const div = document.getElementById(`${key}-remote-${event.stream.getId()}`);
      if (div) div.remove();
    });
    client.on('signature-expired', async () => {
      const fresh = await this.token(opts.channel, opts.userId, opts.role);
      client.renewSignature(fresh.signature).then(() => this.record('renewed', key, {}),
        e => this.record('renew-failed', key, { msg: e.getMsg() }));
    });
    await client.join(opts.channel, { userId: opts.userId, signature: t.signature, ctime: t.ctime, host: t.host,
      port: t.port, userRole: opts.role === undefined ? 1 : opts.role });
    if (opts.publish === false) return;
    const stream = ISDPRTC.createStream(Object.assign({ audio: true, video: true, userId: opts.userId }, opts.stream || {}));
    this.locals[key] = stream;
    await stream.initialize();
    await client.publish(stream);
    const div = document.createElement('div');
    div.id = `${key}-local`;
    div.className = 'local';
    document.body.appendChild(div);
    await stream.play(div.id, { muted: true });
  },

  // Remote <video> elements of a client: who, what size, whether it plays.
  async videos(key, waitMs = 1000) {
    const els = Array.from(document.querySelectorAll(`.remote[data-key="${key}"] video`));
    const t0 = new Map(els.map(v => [v, v.currentTime]));
    await new Promise(r => setTimeout(r, waitMs));
    return els.filter(v => v.parentNode).map(v => ({ userId: v.parentNode.dataset.userId, type: v.parentNode.dataset.type,
      width: v.videoWidth, height: v.videoHeight, advancing: v.currentTime > t0.get(v), paused: v.paused }));
  },

  has(key, ev, pred = () => true) { return this.events.some(e => e.key === key && e.ev === ev && pred(e)); },
};
