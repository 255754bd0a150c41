// Client (guide 7.3.4.2): one room over one signaling WebSocket (protocol
// v2); at most two RTCPeerConnections: one sending every published stream,
// one receiving every subscription (transport.js; the client offers, irtcd
// answers, each change is a renegotiation).  Keeps the room's peers and
// streams, turns the server's events into ClientEvents, reconnects a lost
// socket (`resume`, then a fresh join), restarts ICE on a failed media
// connection (or rebuilds it), and measures network quality and audio
// levels.
import { Emitter } from './emitter.js';
import { Messages } from './messages.js';
import { ErrorCode, RtcError } from './errors.js';
import { SignalSocket, PROTOCOL_VERSION } from './signaling.js';
import { Stream } from './stream.js';
import { AUDIO_MAX_BITRATE } from './media.js';
import { sample, quality } from './stats.js';
import { Transport, isStuck, midsOf, stopTransceivers, whenConnected } from './transport.js';
import { ID_RE, deferred, invalid, log, sleep, tokenEndpoint } from './util.js';

const QUALITY_INTERVAL_MS = 2000;
const VOLUME_INTERVAL_MS = 500;
const ICE_DISCONNECTED_GRACE_MS = 3000;
// A connection still "connecting" after this long is stuck (ICE checks or a
// DTLS handshake nobody answers): it is recovered as a failed one.
const CONNECTING_STUCK_MS = 10000;
const ICE_RESTART_WAIT_MS = 10000;
const SERVER_STATS_FRESH_MS = 5000;
const REJOIN_FOR_MS = 60000;
const MAX_REDIRECTS = 3; // cluster mode: 200030 answers followed per join
const DEFAULT_RESUME = { resumeWindowMs: 15000, idleTimeoutMs: 20000 };
/** setRemoteVideoLayer / subscribe's maxLayer: names of the layers (lowest first). */
const LAYER_NAMES = ['low', 'medium', 'high'];

/**
 * A call that needs a joined client: 200012 ERR_USER_ALREADY_LEAVED once the
 * client has left (leave(), removed, the connection given up); before any
 * join (or while joining) 200002 ERR_SDK_NOT_SUPPORTED.
 */
function notJoined(client, what) {
  if (client._hasLeft) return new RtcError(ErrorCode.ERR_USER_ALREADY_LEAVED, `${what}: the client has left the room: join again`);
  return new RtcError(ErrorCode.ERR_SDK_NOT_SUPPORTED, `${what}: not in a room: join first`);
}
/**
 * join()'s host and port (guide: the media server's access address) against
 * the join token's: the endpoint the client expects its media to go to.
 * Either given alone, or contradicting the token (a stale token naming
 * another endpoint), is 200006 ERR_INVALID_CONNECT_PARAMETER before anything
 * is sent.  Returns {host, port} (null when neither says).
 */
function checkEndpoint(options) {
  const has = v => v !== undefined && v !== null && v !== '';
  const tok = tokenEndpoint(options.signature);
  if (!has(options.host) && !has(options.port)) return tok;
  if (!has(options.host) || !has(options.port)) throw invalid('join: host and port go together (the media endpoint of the join token)');
  if (typeof options.host !== 'string' || options.host.length > 253) throw invalid('join: host must be a string (the media server\'s address)');
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid('join: port must be an integer from 1 to 65535');
  const mine = { host: options.host, port: String(port) };
  if (tok && (tok.host.toLowerCase() !== mine.host.toLowerCase() || Number(tok.port) !== port)) {
    throw invalid(`join: host/port ${mine.host}:${mine.port} are not the media endpoint the join token names ` +
      `(${tok.host}:${tok.port}): a stale token? Get a fresh one (and the endpoint) from your back end`);
  }
  return mine;
}

/** A stream descriptor's tracks or video spec differ (stream-updated). */
function descChanged(a, b) {
  return ['hasAudio', 'hasVideo', 'videoCodec', 'simulcast'].some(k => b[k] !== undefined && a[k] !== b[k]);
}
/** The session is gone (the server's or our own 200012). */
function sessionGone(e) { return !!(e && e.getCode && e.getCode() === ErrorCode.ERR_USER_ALREADY_LEAVED); }
function notSent(what) {
  const e = new RtcError(ErrorCode.SOCKET_DISCONNECT, `${what}: the media connection was reset meanwhile`);
  e.notSent = true;
  return e;
}

/** 'low' | 'medium' | 'high' or 0..2 → 0..2. */
function parseLayer(v, what) {
  const i = typeof v === 'string' ? LAYER_NAMES.indexOf(v) : v;
  if (!Number.isInteger(i) || i < 0 || i > 2) throw invalid(`${what}: maxLayer must be 'low', 'medium', 'high' or 0, 1, 2`);
  return i;
}

export class Client {
  /** @internal Use ISDPRTC.createClient({appId, domain}). */
  constructor(config) {
    this._appId = config.appId;
    this._domain = config.domain;
    this._homeDomain = config.domain; // the site's; _domain may become a node's (cluster redirect)
    this._emitter = new Emitter();
    this._state = 'DISCONNECTED';
    this._sock = null;
    this._room = null;
    this._peers = new Map();  // userId → {userId, role, audioMuted, videoMuted}
    this._remote = new Map(); // streamId → remote Stream
    this._pubs = new Map();   // local Stream → publication
    this._held = null;        // events that arrived before join's own events went out
    this._timers = [];
    this._reconnected = null;
    const onState = (t, pc) => this._onPcState(t, pc);
    this._messages = new Messages(m => this._emit('message', m));
    const onCreate = pc => this._messages.attach(pc);
    this._tx = { send: new Transport('send', onState, onCreate), recv: new Transport('recv', onState, onCreate) };
    this._serverStats = {};   // 'send' | 'recv' → the last transport-stats, with its time
  }

  // ---- events ----

  /** Registers a handler for a ClientEvent (docs/SDK.md lists them). */
  on(event, handler) { this._emitter.on(event, handler); }
  off(event, handler) { this._emitter.off(event, handler); }
  _emit(event, payload) { this._emitter.emit(event, payload); }

  /** 'DISCONNECTED' | 'CONNECTING' | 'CONNECTED' | 'RECONNECTING' (addition). */
  getConnectionState() { return this._state; }

  _setState(s, reason) {
    if (this._state === s) return;
    const prev = this._state;
    this._state = s;
    this._emit('connection-state-changed', { prevState: prev, curState: s, reason });
  }

  _url() {
    let d = String(this._domain || (globalThis.location ? location.host : ''));
    d = d.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
    return `wss://${d}/v1/signal`;
  }

  _newSocket() {
    const sock = new SignalSocket(this._url(), (n, d) => this._onEvent(sock, n, d), info => this._onLost(sock, info));
    return sock;
  }

  async _request(type, fields, timeoutMs) {
    if (this._state === 'RECONNECTING' && this._reconnected) await this._reconnected.promise;
    if (this._state !== 'CONNECTED' || !this._sock) throw notJoined(this, type);
    return this._sock.request(type, fields, timeoutMs);
  }

  /**
   * A request carrying an offer of pc: it waits for a lost socket like any
   * request, then goes only if pc is still t's connection (a fresh join
   * closes them all: an offer of a closed connection must not reach the
   * new session).
   */
  async _offer(t, pc, type, fields) {
    if (this._state === 'RECONNECTING' && this._reconnected) await this._reconnected.promise.catch(() => {});
    if (t.pc !== pc) throw notSent(type);
    return this._request(type, fields);
  }

  // ---- join / leave ----

  /**
   * Joins room channelId.  options: userId, signature (the join token),
   * ctime (UTC seconds), host, port (the media endpoint the token names:
   * checked against it, see checkEndpoint),
   * userRole (1 joiner: send and receive; 0 publisher: send only).
   */
  async join(channelId, options = {}) {
    if (this._state !== 'DISCONNECTED') throw new RtcError(ErrorCode.NOT_SUPPORTED, 'join: already in a room (or joining): leave first');
    // Missing join parameters: the guide's 200007 (malformed ones: 200006).
    const empty = v => v === undefined || v === null || v === '';
    if (empty(channelId)) throw new RtcError(ErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY, 'join: channelId is empty');
    if (!options || typeof options !== 'object' || Object.keys(options).length === 0) {
      throw new RtcError(ErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY, 'join: the join parameters {userId, signature, ctime, host, port} are empty');
    }
    for (const k of ['userId', 'signature']) {
      if (empty(options[k])) throw new RtcError(ErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY, `join: ${k} is empty`);
    }
    if (typeof channelId !== 'string' || !ID_RE.test(channelId)) throw invalid('join: channelId must be 1 to 64 characters of A-Z a-z 0-9 _ -');
    if (!options || typeof options.userId !== 'string' || !ID_RE.test(options.userId)) throw invalid('join: userId must be 1 to 64 characters of A-Z a-z 0-9 _ -');
    if (typeof options.signature !== 'string' || !options.signature || options.signature.length > 4096) throw invalid('join: signature (the join token) is required');
    let role = options.userRole !== undefined ? options.userRole : options.role;
    if (role !== undefined && role !== null) {
      role = Number(role);
      if (role !== 0 && role !== 1) throw invalid('join: userRole must be 1 (joiner) or 0 (publisher)');
    } else role = undefined;
    if (!this._appId) throw invalid('join: the client has no appId');
    const endpoint = checkEndpoint(options);
    this._room = { channelId, userId: options.userId, signature: options.signature, ctime: options.ctime,
      host: endpoint && endpoint.host, port: endpoint && endpoint.port, requestedRole: role, role: role === undefined ? 1 : role };
    this._setState('CONNECTING');
    try {
      const data = await this._joinFollowing(() => this._room !== null);
      this._afterJoin(data);
    } catch (e) {
      if (this._sock) this._sock.close();
      this._sock = null;
      this._room = null;
      this._setState('DISCONNECTED');
      throw e instanceof RtcError ? e : new RtcError(ErrorCode.JOIN_FAILED, `join: ${e && e.message}`);
    }
    this._hasLeft = false;
    this._setState('CONNECTED');
    this._startTimers();
    // The room as it was: peer-join and stream-added for what is already
    // there, after join() resolves, so handlers set just after still get them.
    this._held = [];
    const room = this._room;
    const initial = this._reconcile(this._lastSnapshot, true);
    setTimeout(() => {
      if (this._room !== room) return; // left meanwhile
      for (const fn of initial) fn();
      const held = this._held || [];
      this._held = null;
      for (const [sock2, name, d] of held) this._onEvent(sock2, name, d);
    }, 0);
  }

  /**
   * Opens a socket and joins on it; a node that answers 200030 (cluster
   * mode: the room is served by another node) names the node to go to: the
   * client follows, at most MAX_REDIRECTS times, and keeps that node's
   * address as its domain (reconnections go there).  Resolves with the join
   * data, this._sock the joined socket; rejects with the last error.
   * stillWanted() false stops following (left meanwhile).
   */
  async _joinFollowing(stillWanted, openTimeoutMs) {
    for (let hop = 0; ; hop++) {
      const sock = this._newSocket();
      this._sock = sock;
      try {
        await sock.open(openTimeoutMs);
        return await sock.request('join', this._joinFields(), 10000);
      } catch (e) {
        if (!(e && e.redirect && hop < MAX_REDIRECTS && stillWanted())) throw e;
        log.info(`join: the room is served by node ${e.redirect.nodeId} at ${e.redirect.domain}: following`);
        sock.close();
        this._domain = e.redirect.domain;
      }
    }
  }

  _joinFields() {
    const r = this._room;
    const f = { appId: this._appId, channelId: r.channelId, userId: r.userId, signature: r.signature, resume: true };
    if (r.ctime !== undefined && r.ctime !== null && r.ctime !== '') f.ctime = r.ctime;
    if (r.requestedRole !== undefined) f.role = r.requestedRole;
    return f;
  }

  _afterJoin(data) {
    const r = this._room;
    r.role = data.role;
    r.tokenExpiresAt = data.tokenExpiresAt;
    r.resumeToken = data.resumeToken || null;
    r.resumeWindowMs = data.resumeWindowMs || 0;
    r.idleTimeoutMs = data.idleTimeoutMs || DEFAULT_RESUME.idleTimeoutMs;
    this._setIceServers(data.iceServers);
    this._lastSnapshot = data;
  }

  /** Leaves the room: others get peer-leave (reason 0); every connection closes. */
  async leave() {
    if (this._state === 'DISCONNECTED') return;
    if (this._state === 'RECONNECTING' && this._reconnected) {
      // Leave properly if the socket comes back soon; otherwise the server times the session out.
      await Promise.race([this._reconnected.promise.catch(() => {}), sleep(3000)]);
      if (this._state === 'DISCONNECTED') return;
    }
    const sock = this._sock;
    if (this._state === 'CONNECTED' && sock) {
      try { await sock.request('leave', {}, 5000); } catch (e) { log.info('leave:', e.message); }
    }
    this._teardown();
    this._setState('DISCONNECTED', 'LEAVE');
  }

  /** Replaces the join token before it expires (answer to signature-expired; addition). */
  async renewSignature(signature) {
    if (typeof signature !== 'string' || !signature) throw invalid('renewSignature: a join token is required');
    const data = await this._request('renew', { signature });
    this._room.signature = signature;
    this._room.tokenExpiresAt = data.tokenExpiresAt;
    if (data.iceServers) this._setIceServers(data.iceServers);
  }

  /** The site's TURN servers as the server hands them out (none without media.turn). */
  _setIceServers(servers) {
    for (const t of Object.values(this._tx)) t.setIceServers(servers);
  }

  /** Switches the role: 1 joiner (send and receive), 0 publisher (send only). */
  async switchRole(role) {
    const r = Number(role);
    if (r !== 0 && r !== 1) throw invalid('switchRole: role must be 1 (joiner) or 0 (publisher)');
    await this._request('switchRole', { role: r });
    const old = this._room.role;
    this._room.role = r;
    if (r === 0 && old !== 0) {
      // A publisher receives nothing: the server ended the subscriptions (the receive connection closes).
      for (const st of Array.from(this._remote.values())) {
        this._endSubscription(st, false);
        this._emit('stream-removed', { stream: st });
      }
    } else if (r === 1 && old === 0) {
      // Fresh objects: the application closed the old ones on stream-removed.
      for (const [id, st] of Array.from(this._remote)) {
        const ns = new Stream('remote', { desc: st._desc, client: this });
        this._remote.set(id, ns);
        this._emit('stream-added', { stream: ns });
      }
    }
  }

  _teardown() {
    this._hasLeft = true;
    this._stopTimers();
    this._closeTransports();
    for (const pub of this._pubs.values()) {
      pub.pc = null;
      pub.stream._pubs.delete(this);
    }
    this._pubs.clear();
    for (const st of this._remote.values()) {
      st._sub = null;
      st._removeElement();
      st._clearTracks();
    }
    this._remote.clear();
    this._serverStats = {};
    this._peers.clear();
    this._held = null;
    if (this._sock) this._sock.close();
    this._sock = null;
    if (this._reconnected) this._reconnected.reject(new RtcError(ErrorCode.ERR_USER_ALREADY_LEAVED, 'left the room'));
    this._reconnected = null;
    this._room = null;
  }

  /** Both media connections closed: the server forgot them (or we leave). */
  _closeTransports() {
    for (const t of Object.values(this._tx)) {
      clearTimeout(t.graceTimer);
      t.graceTimer = null;
      t.close();
    }
  }

  // ---- the server's events ----

  _onEvent(sock, name, data) {
    if (sock !== this._sock) return;
    if (this._held) { this._held.push([sock, name, data]); return; }
    const me = this._room && this._room.userId;
    const receiving = this._room && this._room.role !== 0;
    switch (name) {
      case 'peer-join':
        if (data.userId !== me && !this._peers.has(data.userId)) {
          this._peers.set(data.userId, { userId: data.userId, role: 1, audioMuted: false, videoMuted: false });
          this._emit('peer-join', { userId: data.userId });
        }
        break;
      case 'peer-leave':
        if (data.userId === me) { this._removedByServer('peer-leave', data); return; }
        for (const st of Array.from(this._remote.values())) if (st._desc.userId === data.userId) this._removeRemote(st);
        if (this._peers.delete(data.userId)) this._emit('peer-leave', { userId: data.userId, reason: data.reason });
        break;
      case 'stream-added': {
        const d = data.stream;
        if (!d || d.userId === me || this._remote.has(d.streamId)) break;
        const st = new Stream('remote', { desc: d, client: this });
        this._remote.set(d.streamId, st);
        if (receiving) this._emit('stream-added', { stream: st });
        break;
      }
      case 'stream-removed': {
        const st = data.stream && this._remote.get(data.stream.streamId);
        if (st) this._removeRemote(st);
        break;
      }
      case 'stream-updated': {
        const st = data.stream && this._remote.get(data.stream.streamId);
        if (st) {
          Object.assign(st._desc, data.stream);
          if (receiving) this._emit('stream-updated', { stream: st });
        }
        break;
      }
      case 'stream-published': {
        const pub = Array.from(this._pubs.values()).find(p => data.stream && p.streamId === data.stream.streamId);
        if (pub) this._published(pub);
        break;
      }
      case 'stream-subscribed': {
        const st = data.stream && this._remote.get(data.stream.streamId);
        if (st && st._sub && st._sub.subscriptionId === data.subscriptionId) this._subscribed(st._sub);
        break;
      }
      case 'mute-audio': case 'unmute-audio': case 'mute-video': case 'unmute-video': {
        const p = this._peers.get(data.userId);
        if (p && !data.streamId) p[name.endsWith('audio') ? 'audioMuted' : 'videoMuted'] = name.startsWith('mute');
        const ev = { roomId: data.roomId, userId: data.userId };
        if (data.streamId) ev.streamId = data.streamId;
        this._emit(name, ev);
        break;
      }
      case 'subscription-paused': case 'subscription-resumed': case 'subscription-layer': {
        const st = this._remote.get(data.streamId);
        const sub = st && st._sub;
        if (!sub || (data.subscriptionId && sub.subscriptionId && sub.subscriptionId !== data.subscriptionId)) break;
        if (name === 'subscription-layer') {
          sub.layers = data.of || sub.layers;
          if (sub.layer === data.layer) break;
          sub.layer = data.layer;
          if (receiving) this._emit('stream-layer-changed', { stream: st, layer: data.layer, layers: sub.layers });
        } else {
          const paused = name === 'subscription-paused';
          if (sub.paused === paused) break;
          sub.paused = paused;
          const ev = { stream: st };
          if (paused) ev.reason = data.reason || 'bandwidth';
          if (receiving) this._emit(paused ? 'stream-video-paused' : 'stream-video-resumed', ev);
        }
        break;
      }
      case 'active-speaker': {
        const ev = { userId: data.userId, streamId: data.streamId || null, stream: null };
        if (data.userId === me) {
          const pub = Array.from(this._pubs.values()).find(p => p.streamId === data.streamId);
          ev.stream = pub ? pub.stream : null;
        } else {
          ev.stream = this._remote.get(data.streamId) || null;
        }
        this._emit('active-speaker', ev);
        break;
      }
      case 'transport-stats':
        if (data.pc === 'send' || data.pc === 'recv') this._serverStats[data.pc] = Object.assign({ at: Date.now() }, data);
        break;
      case 'client-banned':
        this._removedByServer('client-banned', data);
        break;
      case 'signature-expired':
        this._emit('signature-expired', { expiresAt: data.expiresAt });
        break;
      case 'error':
        this._emit('error', { errorCode: String(data.errorCode), errorMsg: String(data.errorMsg) });
        break;
      default:
        log.info('unknown event', name, data);
    }
  }

  /** The server removed this user: client-banned (kicked, room dissolved) or its own peer-leave (token expired). */
  _removedByServer(name, data) {
    if (name === 'peer-leave' && data.reason && data.reason.code === 7 && this._state === 'CONNECTED') {
      // The server lost this user's media (or socket): join again, as after a lost socket.
      this._setState('RECONNECTING', 'NETWORK');
      this._reconnected = deferred();
      this._rejoin(this._room, Date.now());
      return;
    }
    this._teardown();
    this._setState('DISCONNECTED', name === 'client-banned' ? 'BANNED' : 'REMOVED');
    if (name === 'client-banned') {
      this._emit('client-banned', { reason: data.reason });
      return;
    }
    this._emit('peer-leave', { userId: data.userId, reason: data.reason });
    const code = data.reason && data.reason.code === 6 ? ErrorCode.TOKEN_EXPIRED : ErrorCode.SOCKET_DISCONNECT;
    this._emit('error', { errorCode: String(code), errorMsg: `removed from the room: ${data.reason && data.reason.msg}` });
  }

  /** A subscribed remote stream's video changed size as it plays (Stream._watchVideoSize). */
  _remoteVideoResized(st, size) {
    if (this._remote.get(st._desc.streamId) !== st || !this._room || this._room.role === 0) return;
    log.info('stream-updated: the video of', st._desc.streamId, 'is now', size);
    this._emit('stream-updated', { stream: st });
  }

  _removeRemote(st) {
    this._endSubscription(st, false);
    this._remote.delete(st._desc.streamId);
    if (this._room && this._room.role !== 0) this._emit('stream-removed', { stream: st });
  }

  /**
   * Brings the known peers and streams in line with a join/resume answer.
   * Returns the events as functions (join defers them).
   */
  _reconcile(data, deferEmit) {
    const me = this._room.userId;
    const out = [];
    const emit = (ev, payload) => {
      if (deferEmit) out.push(() => this._emit(ev, payload));
      else this._emit(ev, payload);
    };
    const receiving = this._room.role !== 0;
    const peersNow = new Map((data.peers || []).map(p => [p.userId, p]));
    const streamsNow = new Map((data.streams || []).filter(s => s.userId !== me).map(s => [s.streamId, s]));
    for (const st of Array.from(this._remote.values())) {
      if (!streamsNow.has(st._desc.streamId)) {
        this._endSubscription(st, false);
        this._remote.delete(st._desc.streamId);
        if (receiving) emit('stream-removed', { stream: st });
      }
    }
    for (const userId of Array.from(this._peers.keys())) {
      if (!peersNow.has(userId)) {
        this._peers.delete(userId);
        emit('peer-leave', { userId, reason: { code: 0, msg: 'user left' } });
      }
    }
    for (const [userId, p] of peersNow) {
      const known = this._peers.get(userId);
      if (!known) {
        this._peers.set(userId, { userId, role: p.role, audioMuted: !!p.audioMuted, videoMuted: !!p.videoMuted });
        emit('peer-join', { userId });
      } else {
        Object.assign(known, { role: p.role, audioMuted: !!p.audioMuted, videoMuted: !!p.videoMuted });
      }
    }
    for (const [id, d] of streamsNow) {
      const st = this._remote.get(id);
      if (!st) {
        const ns = new Stream('remote', { desc: d, client: this });
        this._remote.set(id, ns);
        if (receiving) emit('stream-added', { stream: ns });
        continue;
      }
      const changes = [];
      if (!!st._desc.audioMuted !== !!d.audioMuted) changes.push(d.audioMuted ? 'mute-audio' : 'unmute-audio');
      if (!!st._desc.videoMuted !== !!d.videoMuted) changes.push(d.videoMuted ? 'mute-video' : 'unmute-video');
      const updated = changes.length > 0 || descChanged(st._desc, d);
      Object.assign(st._desc, d);
      for (const ev of changes) emit(ev, { roomId: this._room.channelId, userId: d.userId, streamId: id });
      if (updated && receiving) emit('stream-updated', { stream: st });
    }
    return out;
  }

  // ---- messages (our addition: docs/SDK.md "Messages") ----

  /**
   * Sends data (a string or an ArrayBuffer) to everyone else in the room,
   * or to options.userId only; options.reliable false sends it unreliably
   * (no retransmission, no order).  Needs a media connection (publish or
   * subscribe first); messages arrive as 'message' events {userId, data}.
   */
  sendMessage(data, options = {}) {
    this._messages.send(data, options);
  }

  // ---- publish: the send connection ----

  /** Publishes an initialized local stream (camera: main; screen: auxiliary). */
  async publish(stream) {
    if (!(stream instanceof Stream) || !stream._local) throw invalid('publish: a local stream made by createStream is required');
    if (stream._closed) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'publish: the stream is closed');
    if (!stream.hasAudio() && !stream.hasVideo()) {
      if (!stream._initialized) throw new RtcError(ErrorCode.ERR_NOT_INITIALIZED, 'publish: initialize the stream first');
      throw new RtcError(ErrorCode.ERR_SDK_NOT_SUPPORTED, 'publish: the stream has no track left to send');
    }
    if (this._state === 'DISCONNECTED' || this._state === 'CONNECTING') throw notJoined(this, 'publish');
    if (this._pubs.has(stream)) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'publish: this stream is already published');
    const type = stream._config.screen ? 'auxiliary' : 'main';
    for (const p of this._pubs.values()) {
      if (p.type === type) throw new RtcError(ErrorCode.NOT_SUPPORTED, `publish: a ${type} stream is already published: unpublish it first`);
    }
    const pub = { stream, type, pc: null, tx: {}, streamId: null, emitted: false };
    this._pubs.set(stream, pub);
    stream._pubs.set(this, pub);
    try {
      await this._negotiatePublish(pub);
    } catch (e) {
      if (this._pubs.get(stream) === pub) {
        this._pubs.delete(stream);
        stream._pubs.delete(this);
      }
      throw e;
    }
  }

  /** Adds the stream's tracks to the send connection and offers them in `publish`. */
  _negotiatePublish(pub) {
    const t = this._tx.send;
    return t.run(async () => {
      if (this._pubs.get(pub.stream) !== pub) return; // unpublished while waiting
      if (pub.streamId && pub.pc && pub.pc === t.pc) return; // published meanwhile (queued twice)
      const stream = pub.stream;
      const pc = t.ensure();
      const a = stream._tracks.audio, v = stream._tracks.video;
      pub.pc = pc;
      pub.tx = {};
      pub.streamId = null;
      pub.emitted = false;
      if (a) pub.tx.audio = pc.addTransceiver(a, { direction: 'sendonly', streams: [stream._ms], sendEncodings: [{ maxBitrate: AUDIO_MAX_BITRATE }] });
      if (v) pub.tx.video = pc.addTransceiver(v, { direction: 'sendonly', streams: [stream._ms], sendEncodings: stream._encodings() });
      let data;
      try {
        data = await t.negotiate(sdp => this._offer(t, pc, 'publish',
          { sdp, streamType: pub.type, audio: !!a, video: !!v, mids: midsOf(pub.tx) }));
      } catch (e) {
        stopTransceivers(pub.tx);
        if (this._pubs.get(stream) === pub) {
          this._pubs.delete(stream);
          stream._pubs.delete(this);
        }
        if (t.desync) await this._rebuildLocked(t);
        else t.closeIfEmpty();
        throw e;
      }
      pub.streamId = data.streamId;
      pub.simulcast = data.stream && data.stream.simulcast;
      if (this._pubs.get(stream) !== pub) return; // unpublish() is queued behind us and ends it
      if (pub.tx.video) {
        // Keep the resolution asked for (720p / 1080p) while the bandwidth estimate ramps up.
        try {
          const s = pub.tx.video.sender, p = s.getParameters();
          p.degradationPreference = 'maintain-resolution';
          await s.setParameters(p);
        } catch (e) { log.info('setParameters:', e.message); }
      }
      if (pc.connectionState === 'connected') this._published(pub);
      // The server keeps a user's main-media mute state: bring it in line with the tracks.
      const st = data.stream || {};
      if (a && a.enabled === !!st.audioMuted) this._sendMute(pub, 'audio', !a.enabled);
      if (v && v.enabled === !!st.videoMuted) this._sendMute(pub, 'video', !v.enabled);
    });
  }

  _published(pub) {
    if (pub.emitted || !pub.streamId || this._pubs.get(pub.stream) !== pub) return;
    pub.emitted = true;
    this._emit('stream-published', { stream: pub.stream });
  }

  _sendMute(pub, kind, muted) {
    if (!pub.streamId || this._state === 'DISCONNECTED') return;
    const fields = { kind };
    if (pub.type !== 'main') fields.streamId = pub.streamId;
    this._request(muted ? 'mute' : 'unmute', fields).catch(e => log.warn(`${muted ? 'mute' : 'unmute'} ${kind}:`, e.message));
  }

  /** Stops publishing a stream (others get stream-removed); it keeps playing locally. */
  async unpublish(stream) {
    const pub = stream instanceof Stream ? this._pubs.get(stream) : null;
    if (!pub) throw invalid('unpublish: this stream is not published by this client');
    this._pubs.delete(stream);
    stream._pubs.delete(this);
    const t = this._tx.send;
    await t.run(async () => {
      stopTransceivers(pub.tx);
      if (!pub.streamId || this._state === 'DISCONNECTED') { await this._cleanupLocked(t); return; }
      await this._endOnServer(t, 'unpublish', { streamId: pub.streamId });
    }).catch(e => log.info('unpublish:', e.message));
  }

  /**
   * Inside t.run(): tells the server that something on t ended (unpublish /
   * unsubscribe, with the offer whose m-lines are stopped).  When nothing is
   * left on t, the request goes without an offer and t is closed: a browser
   * cannot offer a BUNDLE description whose every m-line is stopped, and
   * the server ends a connection that carries nothing.
   */
  async _endOnServer(t, type, fields) {
    const empty = t.live().length === 0;
    try {
      const pc = t.pc;
      if (!empty && t.needsCleanup() && !t.desync) await t.negotiate(sdp => this._offer(t, pc, type, Object.assign({ sdp }, fields)));
      else await this._request(type, fields);
    } catch (e) {
      log.info(`${type}:`, e.message);
      if (t.desync) { await this._rebuildLocked(t); return; }
      if (!empty) { this._scheduleCleanup(t); return; }
    }
    t.closeIfEmpty();
  }

  /** Inside t.run(): an offer without the stopped transceivers' m-lines (`negotiate`), or closing an empty connection. */
  async _cleanupLocked(t) {
    if (!t.pc) return;
    if (t.closeIfEmpty()) return;
    if (t.needsCleanup() && this._state !== 'DISCONNECTED' && !t.desync) {
      try {
        const pc = t.pc;
        await t.negotiate(sdp => this._offer(t, pc, 'negotiate', { pc: t.dir, sdp }));
      } catch (e) {
        log.info('negotiate (cleanup):', e.message);
        if (t.desync) { await this._rebuildLocked(t); return; }
      }
    }
    t.closeIfEmpty();
  }

  /** Cleans t up once the negotiations queued now are done (one cleanup however many streams ended). */
  _scheduleCleanup(t) {
    if (t.cleanupQueued) return;
    t.cleanupQueued = true;
    t.run(async () => {
      t.cleanupQueued = false;
      await this._cleanupLocked(t);
    }).catch(e => log.info('cleanup:', e.message));
  }

  // ---- subscribe: the receive connection ----

  /**
   * Subscribes to a remote stream.  option {audio, video}: without it (or
   * with neither set), audio and video; with one set, the other defaults to
   * false; both false is an error.  Addition: maxLayer 'low' | 'medium' |
   * 'high' (or 0..2), the largest simulcast layer wanted (default: the
   * highest the link carries).  stream-subscribed follows.
   */
  async subscribe(stream, option) {
    if (!(stream instanceof Stream) || stream._local || stream._client !== this) throw invalid('subscribe: a remote stream of this client is required');
    if (!this._remote.has(stream._desc.streamId)) throw invalid('subscribe: the stream is no longer published');
    if (this._room && this._room.role === 0) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'subscribe: a publisher (role 0) receives nothing');
    let audio = true, video = true;
    if (option && (option.audio !== undefined || option.video !== undefined)) {
      audio = !!option.audio;
      video = !!option.video;
    }
    if (!audio && !video) throw invalid('subscribe: video and audio cannot both be false');
    const maxLayer = option && option.maxLayer !== undefined ? parseLayer(option.maxLayer, 'subscribe') : undefined;
    audio = audio && !!stream._desc.hasAudio;
    video = video && !!stream._desc.hasVideo;
    if (!audio && !video) throw invalid('subscribe: the stream has none of the requested kinds');
    const cur = stream._sub;
    if (cur && cur.audio === audio && cur.video === video) {
      if (maxLayer !== undefined && maxLayer !== cur.maxLayer) await this.setRemoteVideoLayer(stream, maxLayer);
      return;
    }
    if (cur) await this._endSubscription(stream, true);
    const sub = { stream, audio, video, maxLayer: maxLayer !== undefined ? maxLayer : cur ? cur.maxLayer : undefined,
      pc: null, tx: {}, subscriptionId: null, emitted: false, layer: null, layers: null, paused: false };
    stream._sub = sub;
    try {
      await this._negotiateSubscribe(sub);
    } catch (e) {
      if (stream._sub === sub) {
        stream._sub = null;
        stream._clearTracks();
      }
      // The media plane refusing the subscription (the server's 200021), or
      // the browser failing to apply the answer, is the guide's 200024:
      // setting up the remote view failed.  Other codes pass through.
      if (!(e instanceof RtcError) || e.getCode() === ErrorCode.ERR_GET_MEDIA_PORT_FAIL) {
        throw new RtcError(ErrorCode.ERR_SETUP_REMOTE_VIEW_FAIL, `subscribe: ${e && (e.getMsg ? e.getMsg() : e.message)}`, { cause: e });
      }
      throw e;
    }
  }

  /** Adds recvonly transceivers to the receive connection and offers them in `subscribe`. */
  _negotiateSubscribe(sub) {
    const t = this._tx.recv;
    return t.run(async () => {
      if (sub.stream._sub !== sub) return; // ended while waiting
      const pc = t.ensure();
      sub.pc = pc;
      if (sub.audio) sub.tx.audio = pc.addTransceiver('audio', { direction: 'recvonly' });
      if (sub.video) sub.tx.video = pc.addTransceiver('video', { direction: 'recvonly' });
      const fields = { streamId: sub.stream._desc.streamId, audio: sub.audio, video: sub.video };
      if (sub.maxLayer !== undefined) fields.maxLayer = sub.maxLayer;
      let data;
      try {
        data = await t.negotiate(sdp => this._offer(t, pc, 'subscribe', Object.assign({ sdp, mids: midsOf(sub.tx) }, fields)));
      } catch (e) {
        stopTransceivers(sub.tx);
        if (sub.stream._sub === sub) {
          sub.stream._sub = null;
          sub.stream._clearTracks();
        }
        if (t.desync) {
          // The server may have made the subscription: end it, if so, before anything else.
          await this._request('unsubscribe', { streamId: fields.streamId }).catch(() => {});
          await this._rebuildLocked(t);
        } else t.closeIfEmpty();
        throw e;
      }
      sub.subscriptionId = data.subscriptionId;
      if (data.stream) Object.assign(sub.stream._desc, data.stream);
      sub.layers = sub.stream._desc.simulcast || (sub.video ? 1 : 0);
      if (sub.stream._sub !== sub) return; // unsubscribe() is queued behind us; stream-removed cleans up
      for (const kind of ['audio', 'video']) if (sub.tx[kind]) sub.stream._setTrack(sub.tx[kind].receiver.track);
      if (pc.connectionState === 'connected') this._subscribed(sub);
    });
  }

  _subscribed(sub) {
    if (sub.emitted || !sub.subscriptionId || sub.stream._sub !== sub) return;
    sub.emitted = true;
    this._emit('stream-subscribed', { stream: sub.stream });
  }

  /**
   * Ends a stream's subscription.  tell: the server is to be told
   * (`unsubscribe`); otherwise it ended it (stream-removed, switchRole) and
   * the stopped m-lines are cleaned up with `negotiate`.
   */
  _endSubscription(stream, tell) {
    const sub = stream._sub;
    if (!sub) return Promise.resolve();
    stream._sub = null;
    stream._clearTracks();
    const t = this._tx.recv;
    if (sub.pc && sub.pc !== t.pc) return Promise.resolve(); // on a connection closed since
    if (!tell || this._state === 'DISCONNECTED') {
      stopTransceivers(sub.tx);
      if (this._state !== 'DISCONNECTED') this._scheduleCleanup(t);
      return Promise.resolve();
    }
    return t.run(async () => {
      stopTransceivers(sub.tx);
      if (!sub.subscriptionId) { await this._cleanupLocked(t); return; } // never reached the server
      await this._endOnServer(t, 'unsubscribe', { subscriptionId: sub.subscriptionId });
    }).catch(e => log.info('unsubscribe:', e.message));
  }

  /**
   * Ends a subscription.  option {audio, video}: the kinds to stop
   * receiving; without it, everything.
   */
  async unsubscribe(stream, option) {
    if (!(stream instanceof Stream) || stream._local || stream._client !== this) throw invalid('unsubscribe: a remote stream of this client is required');
    const sub = stream._sub;
    if (!sub) return;
    let audio = false, video = false; // what is kept
    if (option && (option.audio || option.video)) {
      audio = sub.audio && !option.audio;
      video = sub.video && !option.video;
    }
    await this._endSubscription(stream, true);
    if (audio || video) await this.subscribe(stream, { audio, video, maxLayer: sub.maxLayer });
    // Guide 7.3.4.3: stream-removed also when the application unsubscribes
    // ("取消选看").  The stream stays published: subscribe() brings it back.
    else if (this._remote.get(stream._desc.streamId) === stream && !stream._sub) this._emit('stream-removed', { stream });
  }

  /**
   * Addition: the largest simulcast layer wanted for a subscribed stream's
   * video: 'low' (0), 'medium' (1) or 'high' (2, the default: the highest
   * the link carries).  A thumbnail tile wants 'low'.  Kept for the
   * subscription's life (and re-subscriptions after reconnecting).
   */
  async setRemoteVideoLayer(stream, layer) {
    if (!(stream instanceof Stream) || stream._local || stream._client !== this) throw invalid('setRemoteVideoLayer: a remote stream of this client is required');
    const maxLayer = parseLayer(layer, 'setRemoteVideoLayer');
    const sub = stream._sub;
    if (!sub) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'setRemoteVideoLayer: the stream is not subscribed');
    sub.maxLayer = maxLayer;
    if (!sub.video) return;
    // After the subscription's own negotiation (it carries maxLayer if still queued).
    await this._tx.recv.run(() => Promise.resolve());
    if (stream._sub !== sub || !sub.subscriptionId || sub.maxLayer !== maxLayer) return;
    await this._request('setLayer', { subscriptionId: sub.subscriptionId, maxLayer });
  }

  // ---- media connections: events, ICE restart, recovery ----

  _onPcState(t, pc) {
    const s = pc.connectionState;
    if (s === 'connected') {
      clearTimeout(t.graceTimer);
      t.graceTimer = null;
      if (t.dir === 'send') for (const pub of this._pubs.values()) { if (pub.pc === pc) this._published(pub); }
      else for (const st of this._remote.values()) { if (st._sub && st._sub.pc === pc) this._subscribed(st._sub); }
    } else if (s === 'failed') {
      clearTimeout(t.graceTimer);
      t.graceTimer = null;
      this._recover(t);
    } else if (s === 'disconnected') {
      this._watchStuck(t, pc, ICE_DISCONNECTED_GRACE_MS);
    } else if (s === 'connecting') {
      this._watchStuck(t, pc, CONNECTING_STUCK_MS);
    }
  }

  /**
   * Recovers pc if it is still not connected after ms (the earliest such
   * deadline wins: "connecting" then "disconnected" does not wait longer).
   * A deadline that passes while a recovery runs is checked again after it.
   */
  _watchStuck(t, pc, ms) {
    const due = Date.now() + ms;
    if (t.graceTimer && t.graceDue <= due) return;
    clearTimeout(t.graceTimer);
    t.graceDue = due;
    t.graceTimer = setTimeout(() => {
      t.graceTimer = null;
      if (t.pc === pc && isStuck(pc)) this._recover(t);
    }, ms);
  }

  /**
   * A media connection failed (or stayed disconnected or connecting): ICE restart on the
   * live connection (new ICE credentials in a `negotiate` offer; the DTLS
   * association and every stream on it stay).  If the server refuses it or
   * the connection does not come back, the connection is rebuilt: its
   * streams are published (subscribed) again on a new one.
   */
  async _recover(t) {
    if (t.recovering) return;
    t.recovering = true;
    try {
      if (this._state === 'RECONNECTING' && this._reconnected) await this._reconnected.promise.catch(() => {});
      if (this._state !== 'CONNECTED') return;
      const pc = t.pc;
      if (!pc || pc.connectionState === 'connected') return; // it came back by itself meanwhile
      log.info('media connection lost: ICE restart', t.dir);
      let ok = false;
      try {
        await t.run(async () => {
          if (t.pc !== pc || pc.connectionState === 'connected') { ok = true; return; }
          await t.negotiate(sdp => this._offer(t, pc, 'negotiate', { pc: t.dir, sdp }), { iceRestart: true });
        });
        ok = ok || await whenConnected(pc, ICE_RESTART_WAIT_MS);
      } catch (e) {
        log.info('ICE restart failed:', e.message);
        if (sessionGone(e)) return; // the session is gone: rejoining handles it
      }
      if (t.pc !== pc || this._state !== 'CONNECTED') return;
      if (!ok) await this._rebuild(t);
    } catch (e) {
      this._emit('error', { errorCode: String(e.getCode ? e.getCode() : ErrorCode.ERR_SDK_INTERNAL_ERROR), errorMsg: `media reconnection failed: ${e.message}` });
    } finally {
      t.recovering = false;
      // A connection that is still down (a deadline passed meanwhile, or the
      // signaling was down) is looked at again: no call stays frozen.
      const pc = t.pc;
      if (pc && isStuck(pc) && this._state !== 'DISCONNECTED') this._watchStuck(t, pc, CONNECTING_STUCK_MS);
    }
  }

  /** The server's view of t may differ from ours (e.g. a publish it has and we do not know): rebuild it. */
  _resync(t) {
    this._rebuild(t).catch(e => log.warn('rebuilding the media connection:', e.message));
  }

  /**
   * The fallback: ends everything on t with the server, closes it, and
   * publishes (subscribes) it all again on a new connection.  A publication
   * gets a new stream id (the others see stream-removed, stream-added); a
   * subscription keeps its Stream object.
   */
  _rebuild(t) {
    return t.run(() => this._rebuildLocked(t));
  }

  /**
   * _rebuild inside t.run(): also right where a request with an offer got no
   * answer (the server may or may not have applied it), so that no other
   * offer goes to a server whose view of t differs.
   */
  async _rebuildLocked(t) {
    const old = t.pc;
    log.info('rebuilding the media connection', t.dir);
    t.close();
    if (!old) return;
    if (t.dir === 'send') {
      const pubs = Array.from(this._pubs.values()).filter(p => p.pc === old);
      for (const pub of pubs) {
        if (pub.streamId) await this._request('unpublish', { streamId: pub.streamId }).catch(() => {});
        pub.pc = null;
        pub.tx = {};
        pub.streamId = null;
        pub.emitted = false;
      }
      for (const pub of pubs) {
        if (this._pubs.get(pub.stream) === pub) this._negotiatePublish(pub).catch(e => this._publishLost(pub, e));
      }
      return;
    }
    const subs = Array.from(this._remote.values()).filter(st => st._sub && st._sub.pc === old).map(st => st._sub);
    for (const sub of subs) {
      if (sub.subscriptionId) await this._request('unsubscribe', { subscriptionId: sub.subscriptionId }).catch(() => {});
      sub.subscriptionId = null;
    }
    for (const sub of subs) {
      const st = sub.stream;
      if (st._sub !== sub || !this._remote.has(st._desc.streamId)) continue;
      st._sub = null;
      st._clearTracks();
      this.subscribe(st, { audio: sub.audio, video: sub.video, maxLayer: sub.maxLayer })
        .catch(e => log.warn('subscribe again:', e.message));
    }
  }

  // ---- the signaling socket: lost, resumed, or joined again ----

  _onLost(sock, info) {
    if (sock !== this._sock) return;
    if (this._state !== 'CONNECTED') return;
    log.info('signaling lost', info);
    this._reconnect(sock.lastRx || Date.now());
  }

  async _reconnect(lastRx) {
    this._setState('RECONNECTING', 'NETWORK');
    this._reconnected = deferred();
    const room = this._room;
    const lostAt = Date.now();
    // The server notices a dead socket at the latest after its idle timeout, then keeps the user for the window.
    const resumeUntil = room.resumeToken ? lastRx + room.idleTimeoutMs + room.resumeWindowMs : 0;
    let delay = 0, refused = 0;
    while (this._room === room && Date.now() < resumeUntil) {
      if (delay) await sleep(delay);
      if (this._room !== room) return;
      delay = Math.min(delay ? delay * 2 : 500, 2000);
      const sock = this._newSocket();
      this._sock = sock;
      try {
        await sock.open(Math.max(1000, Math.min(5000, resumeUntil - Date.now())));
        const data = await sock.request('resume', { resumeToken: room.resumeToken }, 5000);
        if (this._room !== room) { sock.close(); return; }
        this._afterJoin(data);
        this._reconcile(data, false);
        this._reconnectDone();
        // Publications the server has without our knowing (a publish whose
        // answer was lost) are ended; if it lost one of ours, the send
        // connection is rebuilt.
        const mine = new Set((data.streams || []).filter(s => s.userId === room.userId).map(s => s.streamId));
        const known = new Set(Array.from(this._pubs.values()).map(p => p.streamId).filter(Boolean));
        const orphans = Array.from(mine).filter(id => !known.has(id));
        for (const id of orphans) this._request('unpublish', { streamId: id }).catch(() => {});
        if (Array.from(known).some(id => !mine.has(id))) this._resync(this._tx.send);
        this._checkTransports();
        return;
      } catch (e) {
        if (this._sock === sock) sock.close();
        if (this._room !== room || this._state !== 'RECONNECTING') return; // removed meanwhile (replayed client-banned)
        if (sessionGone(e)) break; // the session is gone
        // A node a cluster redirect sent us to that twice takes no connection
        // has most likely died with the session: join again through the
        // site's domain now rather than after the whole resume window
        // (measured: 37 s after a kill -9, against 3 s for its rooms to go).
        const code = e.getCode ? e.getCode() : 0;
        if ((code === ErrorCode.SOCKET_CONNECT_FAIL || code === ErrorCode.SOCKET_CONNECT_TIMEOUT) &&
          this._domain !== this._homeDomain && ++refused >= 2) break;
      }
    }
    await this._rejoin(room, lostAt);
  }

  /** The session could not be resumed: join again and publish and subscribe again. */
  async _rejoin(room, lostAt) {
    const old = this._sock;
    this._sock = null;
    if (old) old.close();
    // Everything the server had for this user is gone.
    this._closeTransports();
    for (const pub of this._pubs.values()) {
      pub.pc = null;
      pub.tx = {};
      pub.streamId = null;
      pub.emitted = false;
    }
    const wanted = new Map();
    for (const st of this._remote.values()) {
      if (st._sub) wanted.set(st._desc.streamId, { audio: st._sub.audio, video: st._sub.video, maxLayer: st._sub.maxLayer });
      this._endSubscription(st, false);
    }
    let delay = 500, lastErr = null;
    while (this._room === room && Date.now() < lostAt + REJOIN_FOR_MS) {
      let sock = null;
      try {
        const data = await this._joinFollowing(() => this._room === room, 5000);
        sock = this._sock;
        if (this._room !== room) { sock.close(); return; }
        this._afterJoin(data);
        this._reconcile(data, false);
        this._reconnectDone();
        for (const pub of Array.from(this._pubs.values())) this._negotiatePublish(pub).catch(e => this._publishLost(pub, e));
        for (const [id, opt] of wanted) {
          const st = this._remote.get(id);
          if (st) this.subscribe(st, opt).catch(e => log.warn('subscribe after rejoin:', e.message));
        }
        return;
      } catch (e) {
        // sock is null when the join itself failed: the socket it used is this._sock.
        if (this._sock && (sock === null || this._sock === sock)) this._sock.close();
        if (this._room !== room) return;
        lastErr = e;
        const code = e.getCode ? e.getCode() : 0;
        if (code === ErrorCode.TOKEN_EXPIRED || code === ErrorCode.INVALID_TOKEN || code === ErrorCode.JOIN_REJECTED) break;
        // The node a redirect sent us to is gone (cluster mode): back to the
        // site's domain, whose nodes take the room over or redirect again.
        if ((code === ErrorCode.SOCKET_CONNECT_FAIL || code === ErrorCode.SOCKET_CONNECT_TIMEOUT) &&
          this._domain !== this._homeDomain) this._domain = this._homeDomain;
        await sleep(delay);
        delay = Math.min(delay * 2, 4000);
      }
    }
    if (this._room !== room) return;
    this._teardown();
    this._setState('DISCONNECTED', 'NETWORK');
    this._emit('error', { errorCode: String(ErrorCode.SOCKET_RECONNECT_FAIL),
      errorMsg: `reconnection failed: ${lastErr ? lastErr.message : 'no connection'}` });
  }

  _publishLost(pub, e) {
    if (this._pubs.get(pub.stream) === pub) {
      this._pubs.delete(pub.stream);
      pub.stream._pubs.delete(this);
    }
    const code = e.getCode ? e.getCode() : pub.stream.hasVideo() ? ErrorCode.ERR_PUBLISH_VIDEO_STREAM_FAIL : ErrorCode.ERR_PUBLISH_AUDIO_STREAM_FAIL;
    this._emit('error', { errorCode: String(code), errorMsg: `publish after reconnecting: ${e.message}` });
  }

  _reconnectDone() {
    this._setState('CONNECTED', 'RECONNECTED');
    const d = this._reconnected;
    this._reconnected = null;
    if (d) d.resolve();
  }

  /** After a reconnection (a network change, often): restart ICE on a media connection that is down (a "connecting" one keeps its deadline). */
  _checkTransports() {
    for (const t of Object.values(this._tx)) {
      const s = t.pc && t.pc.connectionState;
      if (s === 'failed' || s === 'disconnected') this._recover(t);
    }
  }

  // ---- timers: network quality, audio volume, camera changes ----

  // A page going away leaves first: the browser then closes the media
  // connections, which irtcd would otherwise count as a lost user (reason 7).
  _onPageHide() {
    if (this._state !== 'CONNECTED' || !this._sock || !this._sock.open_) return;
    try { this._sock.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id: this._sock.nextId++, type: 'leave' })); } catch (e) { /* going */ }
  }

  _startTimers() {
    if (globalThis.addEventListener) {
      this._pageHide = () => this._onPageHide();
      globalThis.addEventListener('pagehide', this._pageHide);
      // The browser is online again (a new network): restart ICE at once on a connection that is not connected.
      this._online = () => { if (this._state === 'CONNECTED') this._checkTransports(); };
      globalThis.addEventListener('online', this._online);
    }
    this._timers.push(setInterval(() => this._qualityTick(), QUALITY_INTERVAL_MS));
    this._timers.push(setInterval(() => this._volumeTick(), VOLUME_INTERVAL_MS));
    if (globalThis.navigator && navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      this._cameras = null;
      this._listCameras().then(c => { this._cameras = c; }).catch(() => {});
      this._deviceHandler = () => this._devicesChanged();
      navigator.mediaDevices.addEventListener('devicechange', this._deviceHandler);
    }
  }

  _stopTimers() {
    for (const t of this._timers) clearInterval(t);
    this._timers = [];
    if (this._pageHide) globalThis.removeEventListener('pagehide', this._pageHide);
    if (this._online) globalThis.removeEventListener('online', this._online);
    this._pageHide = null;
    this._online = null;
    if (this._deviceHandler) navigator.mediaDevices.removeEventListener('devicechange', this._deviceHandler);
    this._deviceHandler = null;
  }

  async _listCameras() {
    const devs = await navigator.mediaDevices.enumerateDevices();
    return new Map(devs.filter(d => d.kind === 'videoinput').map(d => [d.deviceId, d.label]));
  }

  async _devicesChanged() {
    const now = await this._listCameras().catch(() => null);
    if (!now) return;
    const before = this._cameras || new Map();
    this._cameras = now;
    for (const [id, label] of now) if (!before.has(id)) this._emit('camera-changed', { deviceId: id, label, state: 'ADDED' });
    for (const [id, label] of before) if (!now.has(id)) this._emit('camera-changed', { deviceId: id, label, state: 'REMOVED' });
  }

  async _qualityTick() {
    if (this._state !== 'CONNECTED' && this._state !== 'RECONNECTING') return;
    const wantQuality = this._emitter.listenerCount('network-quality') > 0;
    const wantVolume = this._emitter.listenerCount('audio-volume') > 0;
    if (!wantQuality && !wantVolume) return;
    const measure = async (t, dir) => {
      const pc = t.pc;
      if (!pc || pc.signalingState === 'closed') return null;
      try { return await sample(pc, dir); } catch (e) { return null; } // closed meanwhile
    };
    const up = await measure(this._tx.send, 'up');
    const dn = await measure(this._tx.recv, 'down');
    // Audio levels from the statistics, for streams whose level meter cannot measure (suspended AudioContext).
    const levels = new Map([...(up ? up.levels : []), ...(dn ? dn.levels : [])]);
    for (const pub of this._pubs.values()) this._statsLevelOf(pub.stream, levels);
    for (const st of this._remote.values()) this._statsLevelOf(st, levels);
    if (!wantQuality || this._state === 'DISCONNECTED') return;
    const sigDown = this._state === 'RECONNECTING';
    const sigRtt = this._sock && this._sock.rtt !== undefined ? this._sock.rtt : null;
    // The server's view of each connection (transport-stats) counts too: the worse figure wins.
    const figures = (x, server, useServerAvailable) => {
      const sv = server && Date.now() - server.at < SERVER_STATS_FRESH_MS ? server : null;
      let rtt = x && x.rtt !== null ? x.rtt : null;
      if (sv && typeof sv.rttMs === 'number') rtt = Math.max(rtt || 0, sv.rttMs);
      if (rtt === null && sigRtt !== null) rtt = sigRtt;
      let loss = x ? x.loss : 0;
      if (sv && typeof sv.lossPct === 'number') loss = Math.max(loss, sv.lossPct / 100);
      const f = { rtt: rtt !== null ? Math.round(rtt) : null, loss: Math.round(Math.min(1, loss) * 1000) / 1000,
        bitrate: Math.round(x ? x.bitrate : 0) };
      const avail = useServerAvailable ? (sv && typeof sv.availableKbps === 'number' ? sv.availableKbps * 1000 : null)
        : (x && x.available !== null ? x.available : sv && typeof sv.availableKbps === 'number' ? sv.availableKbps * 1000 : null);
      if (avail !== null) f.available = Math.round(avail);
      return f;
    };
    const u = figures(up, this._serverStats.send, false), d = figures(dn, this._serverStats.recv, true);
    const isDown = x => !!x && (x.state === 'failed' || x.state === 'disconnected');
    let dq = quality(d.rtt, d.loss, sigDown || isDown(dn));
    // A subscription's video paused for bandwidth: the downlink cannot carry even the lowest layer.
    if (dq < 4 && Array.from(this._remote.values()).some(st => st._sub && st._sub.paused)) dq = 4;
    this._emit('network-quality', {
      uplinkNetworkQuality: quality(u.rtt, u.loss, sigDown || isDown(up)),
      downlinkNetworkQuality: dq,
      uplink: u,
      downlink: d,
    });
  }

  _statsLevelOf(stream, levels) {
    const a = stream._tracks.audio;
    if (a && levels.has(a.id)) stream._statsLevel = levels.get(a.id);
  }

  _volumeTick() {
    if (this._state !== 'CONNECTED' || this._emitter.listenerCount('audio-volume') === 0) return;
    const result = [];
    for (const pub of this._pubs.values()) {
      if (!pub.stream.hasAudio()) continue;
      const level = pub.stream.getAudioLevel();
      result.push({ userId: this._room.userId, streamId: pub.streamId, type: 'local', audioVolume: Math.round(level * 100), level });
    }
    for (const st of this._remote.values()) {
      if (!st._sub || !st._sub.audio) continue;
      const level = st.getAudioLevel();
      result.push({ userId: st._desc.userId, streamId: st._desc.streamId, type: st._desc.type, audioVolume: Math.round(level * 100), level });
    }
    this._emit('audio-volume', { result });
  }
}

/** ISDPRTC.createClient({appId, domain}). */
export function createClient(config) {
  if (!config || typeof config !== 'object') throw invalid('createClient: config {appId, domain} is required');
  if (typeof config.appId !== 'string' || !config.appId || config.appId.length > 128) throw invalid('createClient: appId must be a string of 1 to 128 characters');
  if (config.domain !== undefined && (typeof config.domain !== 'string' || config.domain.length > 128)) throw invalid('createClient: domain must be host[:port], at most 128 characters');
  return new Client({ appId: config.appId, domain: config.domain });
}
