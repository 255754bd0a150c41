/*! ISDPRTC 0.1.0 — the irtc Web SDK (docs/SDK.md). Built from web/sdk/src by tools/sdk/build.mjs with esbuild. */
var ISDPRTC = (() => {
  var __defProp = Object.defineProperty;
  var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
  var __getOwnPropNames = Object.getOwnPropertyNames;
  var __hasOwnProp = Object.prototype.hasOwnProperty;
  var __export = (target, all) => {
    for (var name in all)
      __defProp(target, name, { get: all[name], enumerable: true });
  };
  var __copyProps = (to, from, except, desc) => {
    if (from && typeof from === "object" || typeof from === "function") {
      for (let key of __getOwnPropNames(from))
        if (!__hasOwnProp.call(to, key) && key !== except)
          __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
    }
    return to;
  };
  var __toCommonJS = (mod) => __copyProps(__defProp({}, "__esModule", { value: true }), mod);

  // src/esm.js
  var esm_exports = {};
  __export(esm_exports, {
    ErrorCode: () => ErrorCode,
    RtcError: () => RtcError,
    VERSION: () => VERSION,
    checkSystemRequirements: () => checkSystemRequirements,
    createClient: () => createClient,
    createStream: () => createStream,
    default: () => esm_default,
    getDevices: () => getDevices
  });

  // src/index.js
  var index_exports = {};
  __export(index_exports, {
    ErrorCode: () => ErrorCode,
    RtcError: () => RtcError,
    VERSION: () => VERSION,
    checkSystemRequirements: () => checkSystemRequirements,
    createClient: () => createClient,
    createStream: () => createStream,
    getDevices: () => getDevices
  });

  // src/errors.js
  var ErrorCode = Object.freeze({
    ERR_SDK_INTERNAL_ERROR: 200001,
    ERR_SDK_NOT_SUPPORTED: 200002,
    ERR_CREATE_MEDIA_ENGINE: 200003,
    ERR_NOT_INITIALIZED: 200004,
    ERR_SOCKET_URL_NOT_CORRECT: 200005,
    ERR_INVALID_CONNECT_PARAMETER: 200006,
    ERR_CONNECT_PARAMETER_NOT_EMPTY: 200007,
    ERR_VIDEOINFO_NOT_EMPTY: 200008,
    ERR_INVALID_TOKEN: 200009,
    ERR_TOKEN_EXPIRED: 200010,
    ERR_USER_ALREADY_JOINED: 200011,
    ERR_USER_ALREADY_LEAVED: 200012,
    ERR_SOCKET_CONNECT_FAIL: 200013,
    ERR_SOCKET_CONNECT_TIMEOUT: 200014,
    ERR_SOCKET_RECONNECT_FAIL: 200015,
    ERR_SOCKET_DISCONNECT: 200016,
    ERR_SERVER_NO_RESPONSE: 200017,
    ERR_JOIN_CHANNEL_FAIL: 200018,
    ERR_JOIN_CHANNEL_REJECTED: 200019,
    ERR_MEM_NOT_ENOUGH: 200020,
    ERR_GET_MEDIA_PORT_FAIL: 200021,
    ERR_SCREEN_CAPTURE_FAIL: 200022,
    ERR_SET_REMOTE_AUDIO_MUTE_FAIL: 200023,
    ERR_SETUP_REMOTE_VIEW_FAIL: 200024,
    ERR_PUBLISH_AUDIO_STREAM_FAIL: 200025,
    ERR_PUBLISH_VIDEO_STREAM_FAIL: 200026,
    // The earlier names (kept for applications that use them).
    INTERNAL_ERROR: 200001,
    NOT_SUPPORTED: 200002,
    SOCKET_URL_INVALID: 200005,
    INVALID_PARAMETER: 200006,
    INVALID_TOKEN: 200009,
    TOKEN_EXPIRED: 200010,
    USER_ALREADY_JOINED: 200011,
    USER_ALREADY_LEFT: 200012,
    NOT_JOINED: 200012,
    // deprecated name: 200012 means "already left" (before any join it is 200002)
    SOCKET_CONNECT_FAIL: 200013,
    SOCKET_CONNECT_TIMEOUT: 200014,
    SOCKET_RECONNECT_FAIL: 200015,
    SOCKET_DISCONNECT: 200016,
    SERVER_NO_RESPONSE: 200017,
    JOIN_FAILED: 200018,
    JOIN_REJECTED: 200019,
    MEDIA_FAILED: 200021,
    // deprecated name of ERR_GET_MEDIA_PORT_FAIL
    SCREEN_CAPTURE_FAILED: 200022,
    PLAY_FAILED: 200024,
    // deprecated name of ERR_SETUP_REMOTE_VIEW_FAIL
    AUDIO_CAPTURE_FAILED: 200025,
    VIDEO_CAPTURE_FAILED: 200026,
    REDIRECT: 200030
    // cluster mode: the room is served by another node (followed by join())
  });
  var RtcError = class extends Error {
    constructor(code, msg, opts = {}) {
      super(opts.message || msg);
      this.name = opts.name || "RtcError";
      this.code = code;
      this.msg = msg;
      if (opts.cause !== void 0) this.cause = opts.cause;
    }
    getCode() {
      return this.code;
    }
    getMsg() {
      return this.msg;
    }
  };
  function captureErrorName(e) {
    const n = e && e.name;
    if (n === "NotFoundError" || n === "DevicesNotFoundError") return "NotFoundError";
    if (n === "NotAllowedError" || n === "PermissionDeniedError" || n === "SecurityError") return "NotAllowedError";
    if (n === "NotReadableError" || n === "TrackStartError") return "NotReadableError";
    if (n === "OverconstrainedError" || n === "OverConstrainedError" || n === "ConstraintNotSatisfiedError") return "OverConstrainedError";
    return "AbortError";
  }
  function captureError(type, e) {
    const name = captureErrorName(e);
    const code = type === "audio" ? ErrorCode.AUDIO_CAPTURE_FAILED : type === "screen" ? ErrorCode.SCREEN_CAPTURE_FAILED : ErrorCode.VIDEO_CAPTURE_FAILED;
    const detail = e && e.message ? `${name}: ${e.message}` : name;
    return new RtcError(code, name, { name, message: detail, cause: e });
  }
  var StreamInitializeResult = class extends RtcError {
    constructor(results) {
      const failed = results.find((r) => r.error);
      super(
        failed ? failed.error.getCode() : 0,
        failed ? failed.error.getMsg() : "success",
        { name: "StreamInitializeResult", message: failed ? failed.error.message : "success" }
      );
      this.results = results;
    }
    getMediaCaptureResult() {
      return this.results.slice();
    }
    getMediaCaptureResultByType(type) {
      return this.results.find((r) => r.type === type);
    }
  };
  function serverError(msg) {
    const e = new RtcError(Number(msg.errorCode) || ErrorCode.INTERNAL_ERROR, String(msg.errorMsg || "server error"));
    const r = msg.redirect;
    if (r && typeof r === "object" && typeof r.domain === "string" && r.domain.length <= 128 && !/[\/\s@?#]/.test(r.domain))
      e.redirect = { nodeId: String(r.nodeId || ""), domain: r.domain };
    return e;
  }

  // src/emitter.js
  var Emitter = class {
    constructor() {
      this._handlers = /* @__PURE__ */ new Map();
    }
    on(event, handler) {
      if (typeof handler !== "function") return;
      if (!this._handlers.has(event)) this._handlers.set(event, []);
      this._handlers.get(event).push(handler);
    }
    off(event, handler) {
      const list = this._handlers.get(event);
      if (!list) return;
      if (handler === void 0) {
        this._handlers.delete(event);
        return;
      }
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    }
    listenerCount(event) {
      const l = this._handlers.get(event);
      return l ? l.length : 0;
    }
    emit(event, payload) {
      const list = this._handlers.get(event);
      if (!list) return;
      for (const h of list.slice()) {
        try {
          h(payload);
        } catch (e) {
          console.error(`[ISDPRTC] a "${event}" handler threw`, e);
        }
      }
    }
  };

  // src/messages.js
  var enc = new TextEncoder();
  function wrap(userId, data) {
    if (typeof data === "string") return String.fromCharCode(userId.length) + userId + data;
    const body = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const id = enc.encode(userId);
    const out = new Uint8Array(1 + id.length + body.length);
    out[0] = id.length;
    out.set(id, 1);
    out.set(body, 1 + id.length);
    return out.buffer;
  }
  function unwrap(msg) {
    if (typeof msg === "string") {
      const n = msg.charCodeAt(0);
      if (!(n >= 0) || msg.length < 1 + n) return null;
      return { userId: msg.slice(1, 1 + n), data: msg.slice(1 + n) };
    }
    const b = new Uint8Array(msg);
    if (b.length < 1 || b.length < 1 + b[0]) return null;
    return { userId: String.fromCharCode(...b.subarray(1, 1 + b[0])), data: msg.slice(1 + b[0]) };
  }
  var Messages = class {
    /** onMessage({userId, data}) for every message the room sends us. */
    constructor(onMessage) {
      this.onMessage = onMessage;
      this.pc = null;
      this.ch = null;
    }
    /** A new media connection: the channels go on it unless another carries them. */
    attach(pc) {
      if (this.pc && this.pc.signalingState !== "closed") return;
      this.pc = pc;
      const r = pc.createDataChannel("irtc-r");
      const u = pc.createDataChannel("irtc-u", { ordered: false, maxRetransmits: 0 });
      this.ch = { r, u };
      for (const c of [r, u]) {
        c.binaryType = "arraybuffer";
        c.onmessage = (ev) => {
          const m = unwrap(ev.data);
          if (m) this.onMessage(m);
        };
      }
    }
    /** Sends data (string, ArrayBuffer or a view) to userId ('' or absent: everyone else). */
    send(data, opts = {}) {
      const userId = opts.userId ? String(opts.userId) : "";
      const reliable = opts.reliable !== false;
      if (typeof data !== "string" && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
        throw new RtcError(ErrorCode.INVALID_PARAMETER, "sendMessage: data must be a string or an ArrayBuffer");
      }
      if (!/^[A-Za-z0-9_-]{0,64}$/.test(userId)) {
        throw new RtcError(ErrorCode.INVALID_PARAMETER, "sendMessage: userId must be 1-64 of [A-Za-z0-9_-]");
      }
      const c = this.ch && (reliable ? this.ch.r : this.ch.u);
      if (!c || c.readyState !== "open" || !this.pc || this.pc.signalingState === "closed") {
        throw new RtcError(ErrorCode.ERR_NOT_INITIALIZED, "sendMessage: no data channel yet (publish or subscribe first)");
      }
      c.send(wrap(userId, data));
    }
  };

  // src/util.js
  var ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
  function invalid(msg) {
    return new RtcError(ErrorCode.INVALID_PARAMETER, msg);
  }
  function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
  }
  function deferred() {
    let resolve, reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {
    });
    return { promise, resolve, reject };
  }
  function tokenEndpoint(signature) {
    try {
      if (typeof atob !== "function") return null;
      const raw = atob(signature);
      const i = raw.lastIndexOf("@#@");
      if (i < 0) return null;
      const body = JSON.parse(raw.slice(0, i));
      if (typeof body.host !== "string" || body.host === "" || body.port === void 0 || body.port === "") return null;
      return { host: body.host, port: String(body.port) };
    } catch (e) {
      return null;
    }
  }
  var seq = 0;
  function localId(prefix) {
    seq += 1;
    const rnd = Math.random().toString(36).slice(2, 8);
    return `${prefix}-${seq}-${rnd}`;
  }
  var log = {
    debug: (...a) => {
      if (globalThis.ISDPRTC_DEBUG) console.debug("[ISDPRTC]", ...a);
    },
    info: (...a) => {
      if (globalThis.ISDPRTC_DEBUG) console.info("[ISDPRTC]", ...a);
    },
    warn: (...a) => console.warn("[ISDPRTC]", ...a)
  };
  function gatheringDone(pc, ms) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      }
      function check() {
        if (pc.iceGatheringState === "complete") done();
      }
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  // src/signaling.js
  var PING_INTERVAL_MS = 5e3;
  var DEAD_AFTER_MS = 12e3;
  var REQUEST_TIMEOUT_MS = 15e3;
  var PROTOCOL_VERSION = 2;
  var SignalSocket = class {
    /**
     * url: wss://domain/v1/signal.  onEvent(name, data) gets server events;
     * onLost({code, reason}) is called once if the socket ends without close().
     */
    constructor(url, onEvent, onLost) {
      this.url = url;
      this.onEvent = onEvent;
      this.onLost = onLost;
      this.ws = null;
      this.nextId = 1;
      this.pending = /* @__PURE__ */ new Map();
      this.closedByUs = false;
      this.ended = false;
      this.lastRx = 0;
      this.timer = null;
    }
    /** Opens the socket; rejects with 200013 (refused) or 200014 (timeout). */
    open(timeoutMs = 1e4) {
      return new Promise((resolve, reject) => {
        let settled = false;
        let ws;
        try {
          ws = new WebSocket(this.url);
        } catch (e) {
          reject(new RtcError(ErrorCode.SOCKET_URL_INVALID, `signaling: bad URL ${this.url}`));
          return;
        }
        this.ws = ws;
        const t = setTimeout(() => {
          if (settled) return;
          settled = true;
          this.ended = true;
          try {
            ws.close();
          } catch (e) {
          }
          reject(new RtcError(ErrorCode.SOCKET_CONNECT_TIMEOUT, `signaling: no connection to ${this.url} within ${timeoutMs} ms`));
        }, timeoutMs);
        ws.onopen = () => {
          if (settled) return;
          settled = true;
          clearTimeout(t);
          this.lastRx = Date.now();
          this.timer = setInterval(() => this._tick(), 1e3);
          resolve();
        };
        ws.onerror = () => {
        };
        ws.onclose = (ev) => {
          clearTimeout(t);
          if (!settled) {
            settled = true;
            this.ended = true;
            reject(new RtcError(ErrorCode.SOCKET_CONNECT_FAIL, `signaling: cannot connect to ${this.url} (${ev.code})`));
            return;
          }
          this._ended(ev.code, ev.reason);
        };
        ws.onmessage = (m) => this._onMessage(m.data);
      });
    }
    get open_() {
      return this.ws && this.ws.readyState === 1 && !this.ended;
    }
    _onMessage(text) {
      this.lastRx = Date.now();
      let msg;
      try {
        msg = JSON.parse(text);
      } catch (e) {
        log.warn("signaling: not JSON", text);
        return;
      }
      if (msg.type === "response") {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) p.resolve(msg.data || {});
        else p.reject(serverError(msg));
      } else if (msg.type === "event") {
        this.onEvent(msg.event, msg.data || {});
      }
    }
    /** Sends a request; resolves with its data or rejects with an RtcError. */
    request(type, fields = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
      if (!this.open_) return Promise.reject(new RtcError(ErrorCode.SOCKET_DISCONNECT, `${type}: the signaling socket is not open`));
      const id = this.nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new RtcError(ErrorCode.SERVER_NO_RESPONSE, `${type}: no response within ${timeoutMs} ms`));
        }, timeoutMs);
        this.pending.set(id, { resolve, reject, timer, type });
        try {
          this.ws.send(JSON.stringify(Object.assign({ v: PROTOCOL_VERSION, id, type }, fields)));
        } catch (e) {
          clearTimeout(timer);
          this.pending.delete(id);
          reject(new RtcError(ErrorCode.SOCKET_DISCONNECT, `${type}: send failed`));
        }
      });
    }
    _tick() {
      if (!this.open_) return;
      const now = Date.now();
      if (now - this.lastRx > DEAD_AFTER_MS) {
        log.info("signaling: nothing received for", now - this.lastRx, "ms: the connection is dead");
        try {
          this.ws.close(4e3, "dead");
        } catch (e) {
        }
        this._ended(1006, "no traffic");
        return;
      }
      if (!this.lastPing || now - this.lastPing >= PING_INTERVAL_MS) {
        this.lastPing = now;
        const t0 = performance.now();
        this.request("ping", {}, DEAD_AFTER_MS).then(() => {
          this.rtt = performance.now() - t0;
        }, () => {
        });
      }
    }
    _ended(code, reason) {
      if (this.ended) return;
      this.ended = true;
      clearInterval(this.timer);
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new RtcError(ErrorCode.SOCKET_DISCONNECT, `${p.type}: the signaling socket was lost`));
      }
      this.pending.clear();
      if (this.ws) {
        this.ws.onmessage = null;
        this.ws.onclose = null;
      }
      if (!this.closedByUs) this.onLost({ code, reason });
    }
    /** Closes on purpose (after leave): onLost is not called. */
    close() {
      this.closedByUs = true;
      if (this.ws && this.ws.readyState <= 1) {
        try {
          this.ws.close(1e3, "bye");
        } catch (e) {
        }
      }
      this._ended(1e3, "closed");
    }
  };

  // src/media.js
  var VIDEO_PROFILES = Object.freeze({
    "360p": { width: 640, height: 360, frameRate: 30, maxBitrate: 8e5, topBitrate: 7e5, simulcast: false },
    "480p": { width: 848, height: 480, frameRate: 30, maxBitrate: 12e5, topBitrate: 1e6, simulcast: false },
    "720p": { width: 1280, height: 720, frameRate: 30, maxBitrate: 2e6, topBitrate: 15e5, simulcast: true },
    "1080p": { width: 1920, height: 1080, frameRate: 30, maxBitrate: 35e5, topBitrate: 3e6, simulcast: true }
  });
  var SIMULCAST_LOWER = Object.freeze([
    Object.freeze({ height: 180, maxBitrate: 15e4 }),
    Object.freeze({ height: 360, maxBitrate: 5e5 })
  ]);
  var RIDS = ["q", "h", "f"];
  var DEFAULT_PROFILE = "720p";
  var SCREEN_PROFILE = Object.freeze({ width: 1920, height: 1080, frameRate: 15, maxBitrate: 25e5 });
  var AUDIO_MAX_BITRATE = 64e3;
  function cameraEncodings(profileName, simulcast, height) {
    const p = VIDEO_PROFILES[profileName] || VIDEO_PROFILES[DEFAULT_PROFILE];
    const top = height || p.height;
    const lower = simulcast ? SIMULCAST_LOWER.filter((l) => l.height * 2 <= top) : [];
    if (!lower.length) return [{ maxBitrate: p.maxBitrate }];
    const rids = lower.length === 1 ? ["q", "f"] : RIDS;
    const encs = lower.map((l, i) => ({ rid: rids[i], scaleResolutionDownBy: top / l.height, maxBitrate: l.maxBitrate }));
    encs.push({ rid: rids[rids.length - 1], scaleResolutionDownBy: 1, maxBitrate: p.topBitrate });
    return encs;
  }
  function audioConstraints(microphoneId) {
    const c = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, sampleRate: 48e3, channelCount: 1 };
    if (microphoneId) c.deviceId = { exact: microphoneId };
    return c;
  }
  function videoConstraints(cameraId, profile) {
    const p = VIDEO_PROFILES[profile] || VIDEO_PROFILES[DEFAULT_PROFILE];
    const c = { width: { ideal: p.width }, height: { ideal: p.height }, frameRate: { ideal: p.frameRate } };
    if (cameraId) c.deviceId = { exact: cameraId };
    return c;
  }
  function md() {
    if (!globalThis.navigator || !navigator.mediaDevices) {
      const e = new Error("navigator.mediaDevices is not available (a secure context, https:// or localhost, is needed)");
      e.name = "NotAllowedError";
      throw e;
    }
    return navigator.mediaDevices;
  }
  async function captureOne(kind, constraints) {
    try {
      const ms = await md().getUserMedia({ [kind]: constraints });
      const track = kind === "audio" ? ms.getAudioTracks()[0] : ms.getVideoTracks()[0];
      return { type: kind, track };
    } catch (e) {
      return { type: kind, error: captureError(kind, e) };
    }
  }
  async function capture(config) {
    if (config.screen) {
      try {
        const p = SCREEN_PROFILE;
        const ms = await md().getDisplayMedia({
          video: { width: { ideal: p.width }, height: { ideal: p.height }, frameRate: { ideal: p.frameRate } },
          audio: false
        });
        const track = ms.getVideoTracks()[0];
        try {
          track.contentHint = "detail";
        } catch (e) {
        }
        return [{ type: "video", track }];
      } catch (e) {
        return [{ type: "video", error: captureError("screen", e) }];
      }
    }
    const ac = config.audio ? audioConstraints(config.microphoneId) : null;
    const vc = config.video ? videoConstraints(config.cameraId, config.resolution) : null;
    if (ac && vc) {
      try {
        const ms = await md().getUserMedia({ audio: ac, video: vc });
        return [{ type: "audio", track: ms.getAudioTracks()[0] }, { type: "video", track: ms.getVideoTracks()[0] }];
      } catch (e) {
      }
    }
    const results = [];
    if (ac) results.push(await captureOne("audio", ac));
    if (vc) results.push(await captureOne("video", vc));
    return results;
  }
  async function captureDevice(kind, deviceId, profile) {
    const r = await captureOne(kind, kind === "audio" ? audioConstraints(deviceId) : videoConstraints(deviceId, profile));
    if (r.error) throw r.error;
    return r.track;
  }

  // src/audiolevel.js
  var ctx = null;
  function context() {
    if (ctx) return ctx;
    const AC = globalThis.AudioContext || globalThis.webkitAudioContext;
    if (!AC) return null;
    try {
      ctx = new AC();
    } catch (e) {
      return null;
    }
    return ctx;
  }
  function resumeAudio() {
    if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {
    });
  }
  var LevelMeter = class {
    constructor(track) {
      this.track = track;
      this.node = null;
      this.source = null;
      const c = context();
      if (!c || !track) return;
      try {
        this.source = c.createMediaStreamSource(new MediaStream([track]));
        this.node = c.createAnalyser();
        this.node.fftSize = 1024;
        this.buf = new Float32Array(this.node.fftSize);
        this.source.connect(this.node);
        resumeAudio();
      } catch (e) {
        this.node = null;
      }
    }
    /** 0..1, or null when the meter cannot measure (no context, suspended). */
    level() {
      if (!this.node || !ctx || ctx.state !== "running" || this.track.readyState !== "live") return null;
      this.node.getFloatTimeDomainData(this.buf);
      let sum = 0;
      for (let i = 0; i < this.buf.length; i++) sum += this.buf[i] * this.buf[i];
      return Math.min(1, Math.sqrt(sum / this.buf.length) * Math.SQRT2);
    }
    dispose() {
      try {
        if (this.source) this.source.disconnect();
      } catch (e) {
      }
      this.node = this.source = null;
    }
  };

  // src/stream.js
  var OBJECT_FITS = ["contain", "cover", "fill"];
  var PLAY_START_WAIT_MS = 3e3;
  var Stream = class {
    /** @internal Use ISDPRTC.createStream() or a Client's stream-added event. */
    constructor(kind, init) {
      this._local = kind === "local";
      this._ms = typeof MediaStream === "function" ? new MediaStream() : null;
      this._tracks = { audio: null, video: null };
      this._el = null;
      this._playMuted = false;
      this._volume = 100;
      this._meter = null;
      this._statsLevel = null;
      this._closed = false;
      if (this._local) {
        this._config = init;
        this._id = localId("local");
        this._pubs = /* @__PURE__ */ new Map();
        this._initialized = false;
      } else {
        this._desc = Object.assign({}, init.desc);
        this._client = init.client;
        this._sub = null;
      }
    }
    // ---- local streams ----
    /**
     * Captures what createStream asked for.  Resolves with a
     * StreamInitializeResult (getCode() 0) when every kind succeeded; rejects
     * with one whose getMediaCaptureResult() tells each kind's track or
     * error (NotFoundError, NotAllowedError, NotReadableError,
     * OverConstrainedError, AbortError).  Kinds that succeeded are kept.
     */
    async initialize() {
      if (!this._local) throw new RtcError(ErrorCode.NOT_SUPPORTED, "initialize: only a local stream is initialized");
      if (this._closed) throw new RtcError(ErrorCode.NOT_SUPPORTED, "initialize: the stream is closed");
      if (this._initialized) {
        throw new RtcError(ErrorCode.NOT_SUPPORTED, "initialize: already initialized");
      }
      const results = await capture(this._config);
      for (const r of results) if (r.track) this._setTrack(r.track);
      this._initialized = results.some((r) => r.track);
      const result = new StreamInitializeResult(results);
      if (results.some((r) => r.error)) throw result;
      return result;
    }
    /** Replaces the camera or microphone with another device, also while published (addition). */
    async switchDevice(type, deviceId) {
      if (!this._local || this._config.screen) throw new RtcError(ErrorCode.NOT_SUPPORTED, "switchDevice: only a camera/microphone stream");
      if (type !== "audio" && type !== "video") throw invalid('switchDevice: type must be "audio" or "video"');
      const old = this._tracks[type];
      if (!old && !this._initialized) throw new RtcError(ErrorCode.ERR_NOT_INITIALIZED, "switchDevice: initialize the stream first");
      if (!old) throw new RtcError(ErrorCode.ERR_SDK_NOT_SUPPORTED, `switchDevice: the stream has no ${type}`);
      const track = await captureDevice(type, deviceId, this._config.resolution);
      track.enabled = old.enabled;
      this._setTrack(track);
      for (const pub of this._pubs.values()) {
        const tr = pub.tx && pub.tx[type];
        if (tr && tr.sender && !(tr.stopped || tr.currentDirection === "stopped")) await tr.sender.replaceTrack(track);
      }
      old.stop();
      if (type === "audio") this._config.microphoneId = deviceId;
      else this._config.cameraId = deviceId;
    }
    // ---- playback ----
    /**
     * Plays the stream in a <video> element created inside the <div> whose id
     * is elementId.  options: objectFit 'contain' (default) | 'cover' |
     * 'fill'; muted (default false); mirror (addition; default true for a
     * local camera).  When the browser refuses to start playback (autoplay
     * policy) it rejects with RtcError 200024 ERR_SETUP_REMOTE_VIEW_FAIL for a
     * remote stream, 200002 for a local one: call resume() from a user gesture.
     */
    async play(elementId, options = {}) {
      if (this._closed) throw new RtcError(ErrorCode.NOT_SUPPORTED, "play: the stream is closed");
      const div = typeof elementId === "string" ? document.getElementById(elementId) : elementId;
      if (!div || typeof div.appendChild !== "function") throw invalid(`play: no element with id "${elementId}"`);
      const objectFit = options.objectFit || "contain";
      if (!OBJECT_FITS.includes(objectFit)) throw invalid("play: objectFit must be contain, cover or fill");
      this._removeElement();
      const v = document.createElement("video");
      v.autoplay = true;
      v.playsInline = true;
      v.setAttribute("playsinline", "");
      v.muted = !!options.muted;
      this._playMuted = !!options.muted;
      v.className = "isdprtc-video";
      v.dataset.streamId = this.getId();
      const mirror = options.mirror !== void 0 ? !!options.mirror : this._local && !this._config.screen;
      v.style.cssText = `width:100%;height:100%;display:block;object-fit:${objectFit};background:#000;` + (mirror ? "transform:scaleX(-1);" : "");
      v.srcObject = this._ms;
      v.volume = this._volume / 100;
      div.appendChild(v);
      this._el = v;
      if (!this._local) this._watchVideoSize(v);
      this._stopped = { audio: false, video: false };
      resumeAudio();
      return this._start(v);
    }
    async _start(v) {
      let timer;
      const started = v.play().then(() => true);
      const waited = new Promise((r) => {
        timer = setTimeout(() => r(false), PLAY_START_WAIT_MS);
      });
      try {
        await Promise.race([started, waited]);
      } catch (e) {
        if (this._el !== v) return;
        const code = this._local ? ErrorCode.ERR_SDK_NOT_SUPPORTED : ErrorCode.ERR_SETUP_REMOTE_VIEW_FAIL;
        throw new RtcError(code, e && e.name ? e.name : "play failed", { cause: e, message: `play: ${e && e.message}` });
      } finally {
        clearTimeout(timer);
      }
    }
    /** Stops playing: no option, both (the <video> is removed); {audio} or {video}, that kind. */
    stop(option) {
      if (!this._el) return;
      const all = !option || !option.audio && !option.video || option.audio && option.video;
      if (all) {
        this._removeElement();
        return;
      }
      if (option.audio) {
        this._el.muted = true;
        this._stopped.audio = true;
      }
      if (option.video) {
        this._el.style.visibility = "hidden";
        this._stopped.video = true;
      }
    }
    /** Resumes playback (after stop({audio|video}), an autoplay refusal, or a paused element). */
    async resume(option) {
      resumeAudio();
      if (!this._el) return;
      const all = !option || !option.audio && !option.video;
      if (all || option.audio) {
        this._el.muted = this._playMuted;
        this._stopped.audio = false;
      }
      if (all || option.video) {
        this._el.style.visibility = "";
        this._stopped.video = false;
      }
      return this._start(this._el);
    }
    /**
     * Closes the stream: the <video> is removed; a local stream's camera and
     * microphone are released (and it is unpublished if it was published); a
     * remote stream is unsubscribed.
     */
    close() {
      this._removeElement();
      if (this._meter) {
        this._meter.dispose();
        this._meter = null;
      }
      if (!this._local) {
        if (this._sub && this._client) this._client.unsubscribe(this).catch(() => {
        });
        return;
      }
      if (this._closed) return;
      this._closed = true;
      for (const client of Array.from(this._pubs.keys())) client.unpublish(this).catch(() => {
      });
      for (const t of [this._tracks.audio, this._tracks.video]) if (t) t.stop();
    }
    /**
     * A remote stream's video changing size while it plays (the publisher's
     * camera or the simulcast layer received) is a change of its video spec:
     * stream-updated (guide 7.3.4.3).
     */
    _watchVideoSize(v) {
      v.addEventListener("resize", () => {
        if (this._el !== v || !v.videoWidth || !v.videoHeight) return;
        const size = `${v.videoWidth}x${v.videoHeight}`;
        const prev = this._videoSize;
        this._videoSize = size;
        if (prev && prev !== size && this._sub && this._client) this._client._remoteVideoResized(this, size);
      });
    }
    _removeElement() {
      if (!this._el) return;
      try {
        this._el.pause();
      } catch (e) {
      }
      this._el.srcObject = null;
      this._el.remove();
      this._el = null;
    }
    // ---- mute ----
    /** Disables the audio track (local: others get mute-audio).  True when there is one. */
    muteAudio() {
      return this._setEnabled("audio", false);
    }
    muteVideo() {
      return this._setEnabled("video", false);
    }
    unmuteAudio() {
      return this._setEnabled("audio", true);
    }
    unmuteVideo() {
      return this._setEnabled("video", true);
    }
    _setEnabled(kind, enabled) {
      const t = this._tracks[kind];
      if (!t) {
        if (!this._local && kind === "audio" && this._client) {
          const why = this._closed ? "the stream is closed" : !this.hasAudio() ? "the stream has no audio" : "its audio is not subscribed";
          this._client._emit("error", {
            errorCode: String(ErrorCode.ERR_SET_REMOTE_AUDIO_MUTE_FAIL),
            errorMsg: `${enabled ? "unmuteAudio" : "muteAudio"}: ${why}`
          });
        }
        return false;
      }
      t.enabled = enabled;
      if (this._local) for (const [client, pub] of this._pubs) client._sendMute(pub, kind, !enabled);
      return true;
    }
    // ---- information ----
    /** Local: an id made here ("local-…"); remote: the server's stream id (a decimal string). */
    getId() {
      return this._local ? this._id : this._desc.streamId;
    }
    /** Local: createStream's userId (undefined if not given); remote: the publisher's userId. */
    getUserId() {
      return this._local ? this._config.userId : this._desc.userId;
    }
    hasAudio() {
      return this._local ? !!this._tracks.audio : !!this._desc.hasAudio;
    }
    hasVideo() {
      return this._local ? !!this._tracks.video : !!this._desc.hasVideo;
    }
    getAudioTrack() {
      return this._tracks.audio || null;
    }
    /** The video track (remote: the layer the server forwards; see getStreamInfo().layer). */
    getVideoTrack() {
      return this._tracks.video || null;
    }
    /** 'local', or for a remote stream 'main' (camera) or 'auxiliary' (screen share). */
    getType() {
      return this._local ? "local" : this._desc.type;
    }
    /** What the stream carries (our format: docs/SDK.md). */
    getStreamInfo() {
      const v = this._tracks.video, a = this._tracks.audio;
      const vs = v && v.getSettings ? v.getSettings() : null;
      const as = a && a.getSettings ? a.getSettings() : null;
      const info = {
        streamId: this._local ? this._publishedId() : this._desc.streamId,
        userId: this.getUserId(),
        type: this.getType(),
        screen: this._local ? !!this._config.screen : this._desc.type === "auxiliary",
        hasAudio: this.hasAudio(),
        hasVideo: this.hasVideo(),
        audioMuted: this._local ? !!(a && !a.enabled) : !!this._desc.audioMuted,
        videoMuted: this._local ? !!(v && !v.enabled) : !!this._desc.videoMuted,
        videoCodec: this._local ? null : this._desc.videoCodec || null,
        video: vs ? { width: vs.width, height: vs.height, frameRate: vs.frameRate, deviceId: vs.deviceId } : null,
        audio: as ? {
          sampleRate: as.sampleRate,
          channelCount: as.channelCount,
          deviceId: as.deviceId,
          echoCancellation: as.echoCancellation,
          noiseSuppression: as.noiseSuppression,
          autoGainControl: as.autoGainControl
        } : null
      };
      if (this._local) {
        info.resolution = this._config.screen ? null : this._config.resolution || DEFAULT_PROFILE;
        info.simulcast = v ? this._encodings().length : 0;
      } else {
        info.simulcast = this._desc.simulcast || (this._desc.hasVideo ? 1 : 0);
        const sub = this._sub;
        info.layer = sub && sub.video ? {
          current: sub.layer,
          count: sub.layers || info.simulcast,
          max: sub.maxLayer === void 0 ? null : sub.maxLayer,
          paused: !!sub.paused
        } : null;
      }
      return info;
    }
    _publishedId() {
      for (const pub of this._pubs.values()) if (pub.streamId) return pub.streamId;
      return null;
    }
    /** Playback volume, 0..100 (default 100). */
    setAudioVolume(volume) {
      const v = Number(volume);
      if (!Number.isFinite(v)) throw invalid("setAudioVolume: volume must be a number from 0 to 100");
      this._volume = Math.max(0, Math.min(100, v));
      if (this._el) this._el.volume = this._volume / 100;
    }
    /** The current audio level, 0..1 (above 0.1: speaking); 0 without audio. */
    getAudioLevel() {
      const t = this._tracks.audio;
      if (!t || !t.enabled || t.readyState !== "live") return 0;
      if (!this._meter || this._meter.track !== t) {
        if (this._meter) this._meter.dispose();
        this._meter = new LevelMeter(t);
      }
      const l = this._meter.level();
      if (l !== null) return l;
      return this._statsLevel || 0;
    }
    // ---- internal ----
    _setTrack(track) {
      const old = this._tracks[track.kind];
      if (old === track) return;
      if (old && this._ms) this._ms.removeTrack(old);
      this._tracks[track.kind] = track;
      if (this._ms) this._ms.addTrack(track);
      if (this._el && this._el.srcObject !== this._ms) this._el.srcObject = this._ms;
    }
    _clearTracks() {
      this._videoSize = null;
      for (const kind of ["audio", "video"]) {
        const t = this._tracks[kind];
        if (t && this._ms) this._ms.removeTrack(t);
        this._tracks[kind] = null;
      }
    }
    _profile() {
      if (this._config.screen) return null;
      return VIDEO_PROFILES[this._config.resolution] || VIDEO_PROFILES[DEFAULT_PROFILE];
    }
    /** The sendEncodings of the video track: simulcast layers for a camera at 720p and above (unless turned off). */
    _encodings() {
      if (this._config.screen) return [{ maxBitrate: SCREEN_PROFILE.maxBitrate }];
      const name = VIDEO_PROFILES[this._config.resolution] ? this._config.resolution : DEFAULT_PROFILE;
      const sim = this._config.simulcast === void 0 ? VIDEO_PROFILES[name].simulcast : this._config.simulcast;
      const v = this._tracks.video;
      const st = v && v.getSettings ? v.getSettings() : {};
      return cameraEncodings(name, sim, st.height);
    }
  };
  function createStream(config = {}) {
    if (config === null || typeof config !== "object") throw invalid("createStream: config must be an object");
    const c = {
      audio: !!config.audio,
      video: !!config.video,
      screen: !!config.screen,
      microphoneId: config.microphoneId || void 0,
      cameraId: config.cameraId || void 0,
      userId: config.userId,
      resolution: config.resolution || DEFAULT_PROFILE,
      simulcast: config.simulcast === void 0 || config.simulcast === null ? void 0 : config.simulcast
    };
    if (!VIDEO_PROFILES[c.resolution]) throw invalid(`createStream: resolution must be one of ${Object.keys(VIDEO_PROFILES).join(", ")}`);
    if (c.simulcast !== void 0 && typeof c.simulcast !== "boolean") throw invalid("createStream: simulcast must be true or false");
    if (!c.screen && !c.audio && !c.video) {
      throw new RtcError(ErrorCode.ERR_VIDEOINFO_NOT_EMPTY, "createStream: the media settings are empty: ask for audio, video or screen");
    }
    return new Stream("local", c);
  }

  // src/stats.js
  var last = /* @__PURE__ */ new WeakMap();
  async function counters(pc) {
    const out = {
      at: performance.now(),
      rtt: null,
      rrRtt: null,
      sent: 0,
      bytesSent: 0,
      nacks: 0,
      remoteLost: 0,
      hasRR: false,
      received: 0,
      lost: 0,
      bytesReceived: 0,
      levels: /* @__PURE__ */ new Map(),
      available: null
    };
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.state === "succeeded" && (s.nominated || s.selected)) {
        if (typeof s.currentRoundTripTime === "number") out.rtt = s.currentRoundTripTime * 1e3;
        if (typeof s.availableOutgoingBitrate === "number") out.available = s.availableOutgoingBitrate;
      } else if (s.type === "outbound-rtp") {
        out.sent += s.packetsSent || 0;
        out.bytesSent += s.bytesSent || 0;
        out.nacks += s.nackCount || 0;
      } else if (s.type === "remote-inbound-rtp") {
        out.hasRR = true;
        out.remoteLost += Math.max(0, s.packetsLost || 0);
        if (typeof s.roundTripTime === "number") out.rrRtt = Math.max(out.rrRtt || 0, s.roundTripTime * 1e3);
      } else if (s.type === "inbound-rtp") {
        out.received += s.packetsReceived || 0;
        out.lost += Math.max(0, s.packetsLost || 0);
        out.bytesReceived += s.bytesReceived || 0;
        if (s.kind === "audio" && typeof s.audioLevel === "number" && s.trackIdentifier) out.levels.set(s.trackIdentifier, s.audioLevel);
      } else if (s.type === "media-source" && s.kind === "audio" && typeof s.audioLevel === "number" && s.trackIdentifier) {
        out.levels.set(s.trackIdentifier, s.audioLevel);
      }
    });
    return out;
  }
  async function sample(pc, direction) {
    const c = await counters(pc);
    const p = last.get(pc);
    last.set(pc, c);
    const res = {
      rtt: c.rrRtt !== null ? c.rrRtt : c.rtt,
      loss: 0,
      bitrate: 0,
      available: c.available,
      levels: c.levels,
      state: pc.connectionState
    };
    if (!p) return res;
    const secs = Math.max(1e-3, (c.at - p.at) / 1e3);
    if (direction === "up") {
      const sent = c.sent - p.sent;
      const lost = c.hasRR ? c.remoteLost - p.remoteLost : c.nacks - p.nacks;
      res.loss = sent > 0 ? Math.max(0, Math.min(1, lost / sent)) : 0;
      res.bitrate = Math.max(0, (c.bytesSent - p.bytesSent) * 8 / secs);
    } else {
      const recv = c.received - p.received, lost = c.lost - p.lost;
      res.loss = recv + lost > 0 ? Math.max(0, Math.min(1, lost / (recv + lost))) : 0;
      res.bitrate = Math.max(0, (c.bytesReceived - p.bytesReceived) * 8 / secs);
    }
    return res;
  }
  function quality(rtt, loss, down) {
    if (down) return 6;
    if (rtt === null || rtt === void 0) return 0;
    const l = loss * 100;
    if (l <= 1 && rtt <= 100) return 1;
    if (l <= 3 && rtt <= 200) return 2;
    if (l <= 8 && rtt <= 400) return 3;
    if (l <= 15 && rtt <= 800) return 4;
    if (l <= 30) return 5;
    return 6;
  }

  // src/transport.js
  var PC_CONFIG = { bundlePolicy: "max-bundle", rtcpMuxPolicy: "require", iceServers: [] };
  var GATHER_WAIT_MS = 500;
  function isStopped(tr) {
    return !!(tr.stopped || tr.direction === "stopped" || tr.currentDirection === "stopped");
  }
  function stopTransceivers(tx) {
    for (const kind of ["audio", "video"]) {
      const tr = tx && tx[kind];
      if (!tr || isStopped(tr)) continue;
      try {
        tr.stop();
      } catch (e) {
        try {
          tr.direction = "inactive";
        } catch (e2) {
        }
      }
    }
  }
  function midsOf(tx) {
    const mids = {};
    for (const kind of ["audio", "video"]) if (tx[kind] && tx[kind].mid !== null) mids[kind] = tx[kind].mid;
    return mids;
  }
  function outcomeUnknown(e) {
    const c = e && e.getCode ? e.getCode() : 0;
    return !e.notSent && (c === ErrorCode.SOCKET_DISCONNECT || c === ErrorCode.SERVER_NO_RESPONSE);
  }
  var Transport = class {
    /**
     * dir: 'send' | 'recv'.  onState(transport, pc) is called on every
     * connectionstatechange of the current connection; onCreate(pc), if
     * given, when a connection is made (before its first offer).
     */
    constructor(dir, onState, onCreate) {
      this.dir = dir;
      this.pc = null;
      this.onState = onState;
      this.onCreate = onCreate;
      this.queue = Promise.resolve();
      this.negotiations = 0;
      this.iceRestarts = 0;
      this.recovering = false;
      this.desync = false;
      this.cleanupQueued = false;
      this.iceServers = [];
    }
    /** New TURN credentials (join, resume, renew): used by the next connection and the current one's next gathering. */
    setIceServers(servers) {
      this.iceServers = Array.isArray(servers) ? servers : [];
      if (this.pc && this.pc.signalingState !== "closed") {
        try {
          this.pc.setConfiguration(Object.assign(this.pc.getConfiguration(), { iceServers: this.iceServers }));
        } catch (e) {
          log.info("setConfiguration:", e && e.message);
        }
      }
    }
    /** Runs fn() after every negotiation queued before it; resolves or rejects with fn's result. */
    run(fn) {
      const p = this.queue.then(() => fn());
      this.queue = p.catch(() => {
      });
      return p;
    }
    /** The connection, created on first use (and after close()). */
    ensure() {
      if (this.pc && this.pc.signalingState !== "closed") return this.pc;
      let pc;
      try {
        pc = new RTCPeerConnection(Object.assign({}, PC_CONFIG, { iceServers: this.iceServers }));
      } catch (e) {
        throw new RtcError(ErrorCode.ERR_CREATE_MEDIA_ENGINE, `RTCPeerConnection: ${e && e.message}`, { cause: e });
      }
      this.pc = pc;
      this.desync = false;
      pc.addEventListener("connectionstatechange", () => {
        if (this.pc === pc) this.onState(this, pc);
      });
      if (this.onCreate) this.onCreate(pc);
      return pc;
    }
    /**
     * One offer/answer round; call it inside run().  send(sdp) makes the
     * request carrying the offer and resolves with its data, whose sdp is the
     * answer.  A refused request rolls the offer back and rethrows.
     */
    async negotiate(send, opts = {}) {
      const pc = this.ensure();
      const offer = await pc.createOffer(opts.iceRestart ? { iceRestart: true } : {});
      await pc.setLocalDescription(offer);
      await gatheringDone(pc, GATHER_WAIT_MS);
      let data;
      try {
        data = await send(pc.localDescription.sdp);
      } catch (e) {
        if (outcomeUnknown(e)) this.desync = true;
        if (this.pc === pc && pc.signalingState === "have-local-offer") {
          await pc.setLocalDescription({ type: "rollback" }).catch((err) => log.info("rollback:", err.message));
        }
        throw e;
      }
      if (this.pc !== pc || pc.signalingState !== "have-local-offer") return data;
      await pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
      this.negotiations++;
      if (opts.iceRestart) this.iceRestarts++;
      return data;
    }
    /** Transceivers that still carry something (or are about to). */
    live() {
      if (!this.pc || this.pc.signalingState === "closed") return [];
      return this.pc.getTransceivers().filter((tr) => !isStopped(tr));
    }
    /** Some stopped transceiver still has its m-line: an offer would free it. */
    needsCleanup() {
      if (!this.pc || this.pc.signalingState === "closed") return false;
      return this.pc.getTransceivers().some((tr) => tr.mid !== null && (tr.stopped || tr.direction === "stopped") && tr.currentDirection !== "stopped");
    }
    /** Closes the connection (the next negotiation makes a new one). */
    close() {
      const pc = this.pc;
      this.pc = null;
      this.desync = false;
      if (pc) try {
        pc.close();
      } catch (e) {
      }
    }
    /** Closes the connection when nothing lives on it any more; true if it did. */
    closeIfEmpty() {
      if (!this.pc) return false;
      if (this.live().length > 0) return false;
      this.close();
      return true;
    }
    connected() {
      return !!this.pc && this.pc.connectionState === "connected";
    }
  };
  function isStuck(pc) {
    const s = pc.connectionState;
    return s === "connecting" || s === "disconnected" || s === "failed";
  }
  function whenConnected(pc, ms) {
    if (pc.connectionState === "connected") return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => done(false), ms);
      const poll = setInterval(check, 250);
      function done(v) {
        clearTimeout(t);
        clearInterval(poll);
        pc.removeEventListener("connectionstatechange", check);
        resolve(v);
      }
      function check() {
        if (pc.connectionState === "connected") done(true);
        else if (pc.connectionState === "closed" || pc.signalingState === "closed") done(false);
      }
      pc.addEventListener("connectionstatechange", check);
    });
  }

  // src/client.js
  var QUALITY_INTERVAL_MS = 2e3;
  var VOLUME_INTERVAL_MS = 500;
  var ICE_DISCONNECTED_GRACE_MS = 3e3;
  var CONNECTING_STUCK_MS = 1e4;
  var ICE_RESTART_WAIT_MS = 1e4;
  var SERVER_STATS_FRESH_MS = 5e3;
  var REJOIN_FOR_MS = 6e4;
  var MAX_REDIRECTS = 3;
  var DEFAULT_RESUME = { resumeWindowMs: 15e3, idleTimeoutMs: 2e4 };
  var LAYER_NAMES = ["low", "medium", "high"];
  function notJoined(client, what) {
    if (client._hasLeft) return new RtcError(ErrorCode.ERR_USER_ALREADY_LEAVED, `${what}: the client has left the room: join again`);
    return new RtcError(ErrorCode.ERR_SDK_NOT_SUPPORTED, `${what}: not in a room: join first`);
  }
  function checkEndpoint(options) {
    const has = (v) => v !== void 0 && v !== null && v !== "";
    const tok = tokenEndpoint(options.signature);
    if (!has(options.host) && !has(options.port)) return tok;
    if (!has(options.host) || !has(options.port)) throw invalid("join: host and port go together (the media endpoint of the join token)");
    if (typeof options.host !== "string" || options.host.length > 253) throw invalid("join: host must be a string (the media server's address)");
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid("join: port must be an integer from 1 to 65535");
    const mine = { host: options.host, port: String(port) };
    if (tok && (tok.host.toLowerCase() !== mine.host.toLowerCase() || Number(tok.port) !== port)) {
      throw invalid(`join: host/port ${mine.host}:${mine.port} are not the media endpoint the join token names (${tok.host}:${tok.port}): a stale token? Get a fresh one (and the endpoint) from your back end`);
    }
    return mine;
  }
  function descChanged(a, b) {
    return ["hasAudio", "hasVideo", "videoCodec", "simulcast"].some((k) => b[k] !== void 0 && a[k] !== b[k]);
  }
  function sessionGone(e) {
    return !!(e && e.getCode && e.getCode() === ErrorCode.ERR_USER_ALREADY_LEAVED);
  }
  function notSent(what) {
    const e = new RtcError(ErrorCode.SOCKET_DISCONNECT, `${what}: the media connection was reset meanwhile`);
    e.notSent = true;
    return e;
  }
  function parseLayer(v, what) {
    const i = typeof v === "string" ? LAYER_NAMES.indexOf(v) : v;
    if (!Number.isInteger(i) || i < 0 || i > 2) throw invalid(`${what}: maxLayer must be 'low', 'medium', 'high' or 0, 1, 2`);
    return i;
  }
  var Client = class {
    /** @internal Use ISDPRTC.createClient({appId, domain}). */
    constructor(config) {
      this._appId = config.appId;
      this._domain = config.domain;
      this._homeDomain = config.domain;
      this._emitter = new Emitter();
      this._state = "DISCONNECTED";
      this._sock = null;
      this._room = null;
      this._peers = /* @__PURE__ */ new Map();
      this._remote = /* @__PURE__ */ new Map();
      this._pubs = /* @__PURE__ */ new Map();
      this._held = null;
      this._timers = [];
      this._reconnected = null;
      const onState = (t, pc) => this._onPcState(t, pc);
      this._messages = new Messages((m) => this._emit("message", m));
      const onCreate = (pc) => this._messages.attach(pc);
      this._tx = { send: new Transport("send", onState, onCreate), recv: new Transport("recv", onState, onCreate) };
      this._serverStats = {};
    }
    // ---- events ----
    /** Registers a handler for a ClientEvent (docs/SDK.md lists them). */
    on(event, handler) {
      this._emitter.on(event, handler);
    }
    off(event, handler) {
      this._emitter.off(event, handler);
    }
    _emit(event, payload) {
      this._emitter.emit(event, payload);
    }
    /** 'DISCONNECTED' | 'CONNECTING' | 'CONNECTED' | 'RECONNECTING' (addition). */
    getConnectionState() {
      return this._state;
    }
    _setState(s, reason) {
      if (this._state === s) return;
      const prev = this._state;
      this._state = s;
      this._emit("connection-state-changed", { prevState: prev, curState: s, reason });
    }
    _url() {
      let d = String(this._domain || (globalThis.location ? location.host : ""));
      d = d.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
      return `wss://${d}/v1/signal`;
    }
    _newSocket() {
      const sock = new SignalSocket(this._url(), (n, d) => this._onEvent(sock, n, d), (info) => this._onLost(sock, info));
      return sock;
    }
    async _request(type, fields, timeoutMs) {
      if (this._state === "RECONNECTING" && this._reconnected) await this._reconnected.promise;
      if (this._state !== "CONNECTED" || !this._sock) throw notJoined(this, type);
      return this._sock.request(type, fields, timeoutMs);
    }
    /**
     * A request carrying an offer of pc: it waits for a lost socket like any
     * request, then goes only if pc is still t's connection (a fresh join
     * closes them all: an offer of a closed connection must not reach the
     * new session).
     */
    async _offer(t, pc, type, fields) {
      if (this._state === "RECONNECTING" && this._reconnected) await this._reconnected.promise.catch(() => {
      });
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
      if (this._state !== "DISCONNECTED") throw new RtcError(ErrorCode.NOT_SUPPORTED, "join: already in a room (or joining): leave first");
      const empty = (v) => v === void 0 || v === null || v === "";
      if (empty(channelId)) throw new RtcError(ErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY, "join: channelId is empty");
      if (!options || typeof options !== "object" || Object.keys(options).length === 0) {
        throw new RtcError(ErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY, "join: the join parameters {userId, signature, ctime, host, port} are empty");
      }
      for (const k of ["userId", "signature"]) {
        if (empty(options[k])) throw new RtcError(ErrorCode.ERR_CONNECT_PARAMETER_NOT_EMPTY, `join: ${k} is empty`);
      }
      if (typeof channelId !== "string" || !ID_RE.test(channelId)) throw invalid("join: channelId must be 1 to 64 characters of A-Z a-z 0-9 _ -");
      if (!options || typeof options.userId !== "string" || !ID_RE.test(options.userId)) throw invalid("join: userId must be 1 to 64 characters of A-Z a-z 0-9 _ -");
      if (typeof options.signature !== "string" || !options.signature || options.signature.length > 4096) throw invalid("join: signature (the join token) is required");
      let role = options.userRole !== void 0 ? options.userRole : options.role;
      if (role !== void 0 && role !== null) {
        role = Number(role);
        if (role !== 0 && role !== 1) throw invalid("join: userRole must be 1 (joiner) or 0 (publisher)");
      } else role = void 0;
      if (!this._appId) throw invalid("join: the client has no appId");
      const endpoint = checkEndpoint(options);
      this._room = {
        channelId,
        userId: options.userId,
        signature: options.signature,
        ctime: options.ctime,
        host: endpoint && endpoint.host,
        port: endpoint && endpoint.port,
        requestedRole: role,
        role: role === void 0 ? 1 : role
      };
      this._setState("CONNECTING");
      try {
        const data = await this._joinFollowing(() => this._room !== null);
        this._afterJoin(data);
      } catch (e) {
        if (this._sock) this._sock.close();
        this._sock = null;
        this._room = null;
        this._setState("DISCONNECTED");
        throw e instanceof RtcError ? e : new RtcError(ErrorCode.JOIN_FAILED, `join: ${e && e.message}`);
      }
      this._hasLeft = false;
      this._setState("CONNECTED");
      this._startTimers();
      this._held = [];
      const room = this._room;
      const initial = this._reconcile(this._lastSnapshot, true);
      setTimeout(() => {
        if (this._room !== room) return;
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
          return await sock.request("join", this._joinFields(), 1e4);
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
      if (r.ctime !== void 0 && r.ctime !== null && r.ctime !== "") f.ctime = r.ctime;
      if (r.requestedRole !== void 0) f.role = r.requestedRole;
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
      if (this._state === "DISCONNECTED") return;
      if (this._state === "RECONNECTING" && this._reconnected) {
        await Promise.race([this._reconnected.promise.catch(() => {
        }), sleep(3e3)]);
        if (this._state === "DISCONNECTED") return;
      }
      const sock = this._sock;
      if (this._state === "CONNECTED" && sock) {
        try {
          await sock.request("leave", {}, 5e3);
        } catch (e) {
          log.info("leave:", e.message);
        }
      }
      this._teardown();
      this._setState("DISCONNECTED", "LEAVE");
    }
    /** Replaces the join token before it expires (answer to signature-expired; addition). */
    async renewSignature(signature) {
      if (typeof signature !== "string" || !signature) throw invalid("renewSignature: a join token is required");
      const data = await this._request("renew", { signature });
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
      if (r !== 0 && r !== 1) throw invalid("switchRole: role must be 1 (joiner) or 0 (publisher)");
      await this._request("switchRole", { role: r });
      const old = this._room.role;
      this._room.role = r;
      if (r === 0 && old !== 0) {
        for (const st of Array.from(this._remote.values())) {
          this._endSubscription(st, false);
          this._emit("stream-removed", { stream: st });
        }
      } else if (r === 1 && old === 0) {
        for (const [id, st] of Array.from(this._remote)) {
          const ns = new Stream("remote", { desc: st._desc, client: this });
          this._remote.set(id, ns);
          this._emit("stream-added", { stream: ns });
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
      if (this._reconnected) this._reconnected.reject(new RtcError(ErrorCode.ERR_USER_ALREADY_LEAVED, "left the room"));
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
      if (this._held) {
        this._held.push([sock, name, data]);
        return;
      }
      const me = this._room && this._room.userId;
      const receiving = this._room && this._room.role !== 0;
      switch (name) {
        case "peer-join":
          if (data.userId !== me && !this._peers.has(data.userId)) {
            this._peers.set(data.userId, { userId: data.userId, role: 1, audioMuted: false, videoMuted: false });
            this._emit("peer-join", { userId: data.userId });
          }
          break;
        case "peer-leave":
          if (data.userId === me) {
            this._removedByServer("peer-leave", data);
            return;
          }
          for (const st of Array.from(this._remote.values())) if (st._desc.userId === data.userId) this._removeRemote(st);
          if (this._peers.delete(data.userId)) this._emit("peer-leave", { userId: data.userId, reason: data.reason });
          break;
        case "stream-added": {
          const d = data.stream;
          if (!d || d.userId === me || this._remote.has(d.streamId)) break;
          const st = new Stream("remote", { desc: d, client: this });
          this._remote.set(d.streamId, st);
          if (receiving) this._emit("stream-added", { stream: st });
          break;
        }
        case "stream-removed": {
          const st = data.stream && this._remote.get(data.stream.streamId);
          if (st) this._removeRemote(st);
          break;
        }
        case "stream-updated": {
          const st = data.stream && this._remote.get(data.stream.streamId);
          if (st) {
            Object.assign(st._desc, data.stream);
            if (receiving) this._emit("stream-updated", { stream: st });
          }
          break;
        }
        case "stream-published": {
          const pub = Array.from(this._pubs.values()).find((p) => data.stream && p.streamId === data.stream.streamId);
          if (pub) this._published(pub);
          break;
        }
        case "stream-subscribed": {
          const st = data.stream && this._remote.get(data.stream.streamId);
          if (st && st._sub && st._sub.subscriptionId === data.subscriptionId) this._subscribed(st._sub);
          break;
        }
        case "mute-audio":
        case "unmute-audio":
        case "mute-video":
        case "unmute-video": {
          const p = this._peers.get(data.userId);
          if (p && !data.streamId) p[name.endsWith("audio") ? "audioMuted" : "videoMuted"] = name.startsWith("mute");
          const ev = { roomId: data.roomId, userId: data.userId };
          if (data.streamId) ev.streamId = data.streamId;
          this._emit(name, ev);
          break;
        }
        case "subscription-paused":
        case "subscription-resumed":
        case "subscription-layer": {
          const st = this._remote.get(data.streamId);
          const sub = st && st._sub;
          if (!sub || data.subscriptionId && sub.subscriptionId && sub.subscriptionId !== data.subscriptionId) break;
          if (name === "subscription-layer") {
            sub.layers = data.of || sub.layers;
            if (sub.layer === data.layer) break;
            sub.layer = data.layer;
            if (receiving) this._emit("stream-layer-changed", { stream: st, layer: data.layer, layers: sub.layers });
          } else {
            const paused = name === "subscription-paused";
            if (sub.paused === paused) break;
            sub.paused = paused;
            const ev = { stream: st };
            if (paused) ev.reason = data.reason || "bandwidth";
            if (receiving) this._emit(paused ? "stream-video-paused" : "stream-video-resumed", ev);
          }
          break;
        }
        case "active-speaker": {
          const ev = { userId: data.userId, streamId: data.streamId || null, stream: null };
          if (data.userId === me) {
            const pub = Array.from(this._pubs.values()).find((p) => p.streamId === data.streamId);
            ev.stream = pub ? pub.stream : null;
          } else {
            ev.stream = this._remote.get(data.streamId) || null;
          }
          this._emit("active-speaker", ev);
          break;
        }
        case "transport-stats":
          if (data.pc === "send" || data.pc === "recv") this._serverStats[data.pc] = Object.assign({ at: Date.now() }, data);
          break;
        case "client-banned":
          this._removedByServer("client-banned", data);
          break;
        case "signature-expired":
          this._emit("signature-expired", { expiresAt: data.expiresAt });
          break;
        case "error":
          this._emit("error", { errorCode: String(data.errorCode), errorMsg: String(data.errorMsg) });
          break;
        default:
          log.info("unknown event", name, data);
      }
    }
    /** The server removed this user: client-banned (kicked, room dissolved) or its own peer-leave (token expired). */
    _removedByServer(name, data) {
      if (name === "peer-leave" && data.reason && data.reason.code === 7 && this._state === "CONNECTED") {
        this._setState("RECONNECTING", "NETWORK");
        this._reconnected = deferred();
        this._rejoin(this._room, Date.now());
        return;
      }
      this._teardown();
      this._setState("DISCONNECTED", name === "client-banned" ? "BANNED" : "REMOVED");
      if (name === "client-banned") {
        this._emit("client-banned", { reason: data.reason });
        return;
      }
      this._emit("peer-leave", { userId: data.userId, reason: data.reason });
      const code = data.reason && data.reason.code === 6 ? ErrorCode.TOKEN_EXPIRED : ErrorCode.SOCKET_DISCONNECT;
      this._emit("error", { errorCode: String(code), errorMsg: `removed from the room: ${data.reason && data.reason.msg}` });
    }
    /** A subscribed remote stream's video changed size as it plays (Stream._watchVideoSize). */
    _remoteVideoResized(st, size) {
      if (this._remote.get(st._desc.streamId) !== st || !this._room || this._room.role === 0) return;
      log.info("stream-updated: the video of", st._desc.streamId, "is now", size);
      this._emit("stream-updated", { stream: st });
    }
    _removeRemote(st) {
      this._endSubscription(st, false);
      this._remote.delete(st._desc.streamId);
      if (this._room && this._room.role !== 0) this._emit("stream-removed", { stream: st });
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
      const peersNow = new Map((data.peers || []).map((p) => [p.userId, p]));
      const streamsNow = new Map((data.streams || []).filter((s) => s.userId !== me).map((s) => [s.streamId, s]));
      for (const st of Array.from(this._remote.values())) {
        if (!streamsNow.has(st._desc.streamId)) {
          this._endSubscription(st, false);
          this._remote.delete(st._desc.streamId);
          if (receiving) emit("stream-removed", { stream: st });
        }
      }
      for (const userId of Array.from(this._peers.keys())) {
        if (!peersNow.has(userId)) {
          this._peers.delete(userId);
          emit("peer-leave", { userId, reason: { code: 0, msg: "user left" } });
        }
      }
      for (const [userId, p] of peersNow) {
        const known = this._peers.get(userId);
        if (!known) {
          this._peers.set(userId, { userId, role: p.role, audioMuted: !!p.audioMuted, videoMuted: !!p.videoMuted });
          emit("peer-join", { userId });
        } else {
          Object.assign(known, { role: p.role, audioMuted: !!p.audioMuted, videoMuted: !!p.videoMuted });
        }
      }
      for (const [id, d] of streamsNow) {
        const st = this._remote.get(id);
        if (!st) {
          const ns = new Stream("remote", { desc: d, client: this });
          this._remote.set(id, ns);
          if (receiving) emit("stream-added", { stream: ns });
          continue;
        }
        const changes = [];
        if (!!st._desc.audioMuted !== !!d.audioMuted) changes.push(d.audioMuted ? "mute-audio" : "unmute-audio");
        if (!!st._desc.videoMuted !== !!d.videoMuted) changes.push(d.videoMuted ? "mute-video" : "unmute-video");
        const updated = changes.length > 0 || descChanged(st._desc, d);
        Object.assign(st._desc, d);
        for (const ev of changes) emit(ev, { roomId: this._room.channelId, userId: d.userId, streamId: id });
        if (updated && receiving) emit("stream-updated", { stream: st });
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
      if (!(stream instanceof Stream) || !stream._local) throw invalid("publish: a local stream made by createStream is required");
      if (stream._closed) throw new RtcError(ErrorCode.NOT_SUPPORTED, "publish: the stream is closed");
      if (!stream.hasAudio() && !stream.hasVideo()) {
        if (!stream._initialized) throw new RtcError(ErrorCode.ERR_NOT_INITIALIZED, "publish: initialize the stream first");
        throw new RtcError(ErrorCode.ERR_SDK_NOT_SUPPORTED, "publish: the stream has no track left to send");
      }
      if (this._state === "DISCONNECTED" || this._state === "CONNECTING") throw notJoined(this, "publish");
      if (this._pubs.has(stream)) throw new RtcError(ErrorCode.NOT_SUPPORTED, "publish: this stream is already published");
      const type = stream._config.screen ? "auxiliary" : "main";
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
        if (this._pubs.get(pub.stream) !== pub) return;
        if (pub.streamId && pub.pc && pub.pc === t.pc) return;
        const stream = pub.stream;
        const pc = t.ensure();
        const a = stream._tracks.audio, v = stream._tracks.video;
        pub.pc = pc;
        pub.tx = {};
        pub.streamId = null;
        pub.emitted = false;
        if (a) pub.tx.audio = pc.addTransceiver(a, { direction: "sendonly", streams: [stream._ms], sendEncodings: [{ maxBitrate: AUDIO_MAX_BITRATE }] });
        if (v) pub.tx.video = pc.addTransceiver(v, { direction: "sendonly", streams: [stream._ms], sendEncodings: stream._encodings() });
        let data;
        try {
          data = await t.negotiate((sdp) => this._offer(
            t,
            pc,
            "publish",
            { sdp, streamType: pub.type, audio: !!a, video: !!v, mids: midsOf(pub.tx) }
          ));
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
        if (this._pubs.get(stream) !== pub) return;
        if (pub.tx.video) {
          try {
            const s = pub.tx.video.sender, p = s.getParameters();
            p.degradationPreference = "maintain-resolution";
            await s.setParameters(p);
          } catch (e) {
            log.info("setParameters:", e.message);
          }
        }
        if (pc.connectionState === "connected") this._published(pub);
        const st = data.stream || {};
        if (a && a.enabled === !!st.audioMuted) this._sendMute(pub, "audio", !a.enabled);
        if (v && v.enabled === !!st.videoMuted) this._sendMute(pub, "video", !v.enabled);
      });
    }
    _published(pub) {
      if (pub.emitted || !pub.streamId || this._pubs.get(pub.stream) !== pub) return;
      pub.emitted = true;
      this._emit("stream-published", { stream: pub.stream });
    }
    _sendMute(pub, kind, muted) {
      if (!pub.streamId || this._state === "DISCONNECTED") return;
      const fields = { kind };
      if (pub.type !== "main") fields.streamId = pub.streamId;
      this._request(muted ? "mute" : "unmute", fields).catch((e) => log.warn(`${muted ? "mute" : "unmute"} ${kind}:`, e.message));
    }
    /** Stops publishing a stream (others get stream-removed); it keeps playing locally. */
    async unpublish(stream) {
      const pub = stream instanceof Stream ? this._pubs.get(stream) : null;
      if (!pub) throw invalid("unpublish: this stream is not published by this client");
      this._pubs.delete(stream);
      stream._pubs.delete(this);
      const t = this._tx.send;
      await t.run(async () => {
        stopTransceivers(pub.tx);
        if (!pub.streamId || this._state === "DISCONNECTED") {
          await this._cleanupLocked(t);
          return;
        }
        await this._endOnServer(t, "unpublish", { streamId: pub.streamId });
      }).catch((e) => log.info("unpublish:", e.message));
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
        if (!empty && t.needsCleanup() && !t.desync) await t.negotiate((sdp) => this._offer(t, pc, type, Object.assign({ sdp }, fields)));
        else await this._request(type, fields);
      } catch (e) {
        log.info(`${type}:`, e.message);
        if (t.desync) {
          await this._rebuildLocked(t);
          return;
        }
        if (!empty) {
          this._scheduleCleanup(t);
          return;
        }
      }
      t.closeIfEmpty();
    }
    /** Inside t.run(): an offer without the stopped transceivers' m-lines (`negotiate`), or closing an empty connection. */
    async _cleanupLocked(t) {
      if (!t.pc) return;
      if (t.closeIfEmpty()) return;
      if (t.needsCleanup() && this._state !== "DISCONNECTED" && !t.desync) {
        try {
          const pc = t.pc;
          await t.negotiate((sdp) => this._offer(t, pc, "negotiate", { pc: t.dir, sdp }));
        } catch (e) {
          log.info("negotiate (cleanup):", e.message);
          if (t.desync) {
            await this._rebuildLocked(t);
            return;
          }
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
      }).catch((e) => log.info("cleanup:", e.message));
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
      if (!(stream instanceof Stream) || stream._local || stream._client !== this) throw invalid("subscribe: a remote stream of this client is required");
      if (!this._remote.has(stream._desc.streamId)) throw invalid("subscribe: the stream is no longer published");
      if (this._room && this._room.role === 0) throw new RtcError(ErrorCode.NOT_SUPPORTED, "subscribe: a publisher (role 0) receives nothing");
      let audio = true, video = true;
      if (option && (option.audio !== void 0 || option.video !== void 0)) {
        audio = !!option.audio;
        video = !!option.video;
      }
      if (!audio && !video) throw invalid("subscribe: video and audio cannot both be false");
      const maxLayer = option && option.maxLayer !== void 0 ? parseLayer(option.maxLayer, "subscribe") : void 0;
      audio = audio && !!stream._desc.hasAudio;
      video = video && !!stream._desc.hasVideo;
      if (!audio && !video) throw invalid("subscribe: the stream has none of the requested kinds");
      const cur = stream._sub;
      if (cur && cur.audio === audio && cur.video === video) {
        if (maxLayer !== void 0 && maxLayer !== cur.maxLayer) await this.setRemoteVideoLayer(stream, maxLayer);
        return;
      }
      if (cur) await this._endSubscription(stream, true);
      const sub = {
        stream,
        audio,
        video,
        maxLayer: maxLayer !== void 0 ? maxLayer : cur ? cur.maxLayer : void 0,
        pc: null,
        tx: {},
        subscriptionId: null,
        emitted: false,
        layer: null,
        layers: null,
        paused: false
      };
      stream._sub = sub;
      try {
        await this._negotiateSubscribe(sub);
      } catch (e) {
        if (stream._sub === sub) {
          stream._sub = null;
          stream._clearTracks();
        }
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
        if (sub.stream._sub !== sub) return;
        const pc = t.ensure();
        sub.pc = pc;
        if (sub.audio) sub.tx.audio = pc.addTransceiver("audio", { direction: "recvonly" });
        if (sub.video) sub.tx.video = pc.addTransceiver("video", { direction: "recvonly" });
        const fields = { streamId: sub.stream._desc.streamId, audio: sub.audio, video: sub.video };
        if (sub.maxLayer !== void 0) fields.maxLayer = sub.maxLayer;
        let data;
        try {
          data = await t.negotiate((sdp) => this._offer(t, pc, "subscribe", Object.assign({ sdp, mids: midsOf(sub.tx) }, fields)));
        } catch (e) {
          stopTransceivers(sub.tx);
          if (sub.stream._sub === sub) {
            sub.stream._sub = null;
            sub.stream._clearTracks();
          }
          if (t.desync) {
            await this._request("unsubscribe", { streamId: fields.streamId }).catch(() => {
            });
            await this._rebuildLocked(t);
          } else t.closeIfEmpty();
          throw e;
        }
        sub.subscriptionId = data.subscriptionId;
        if (data.stream) Object.assign(sub.stream._desc, data.stream);
        sub.layers = sub.stream._desc.simulcast || (sub.video ? 1 : 0);
        if (sub.stream._sub !== sub) return;
        for (const kind of ["audio", "video"]) if (sub.tx[kind]) sub.stream._setTrack(sub.tx[kind].receiver.track);
        if (pc.connectionState === "connected") this._subscribed(sub);
      });
    }
    _subscribed(sub) {
      if (sub.emitted || !sub.subscriptionId || sub.stream._sub !== sub) return;
      sub.emitted = true;
      this._emit("stream-subscribed", { stream: sub.stream });
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
      if (sub.pc && sub.pc !== t.pc) return Promise.resolve();
      if (!tell || this._state === "DISCONNECTED") {
        stopTransceivers(sub.tx);
        if (this._state !== "DISCONNECTED") this._scheduleCleanup(t);
        return Promise.resolve();
      }
      return t.run(async () => {
        stopTransceivers(sub.tx);
        if (!sub.subscriptionId) {
          await this._cleanupLocked(t);
          return;
        }
        await this._endOnServer(t, "unsubscribe", { subscriptionId: sub.subscriptionId });
      }).catch((e) => log.info("unsubscribe:", e.message));
    }
    /**
     * Ends a subscription.  option {audio, video}: the kinds to stop
     * receiving; without it, everything.
     */
    async unsubscribe(stream, option) {
      if (!(stream instanceof Stream) || stream._local || stream._client !== this) throw invalid("unsubscribe: a remote stream of this client is required");
      const sub = stream._sub;
      if (!sub) return;
      let audio = false, video = false;
      if (option && (option.audio || option.video)) {
        audio = sub.audio && !option.audio;
        video = sub.video && !option.video;
      }
      await this._endSubscription(stream, true);
      if (audio || video) await this.subscribe(stream, { audio, video, maxLayer: sub.maxLayer });
      else if (this._remote.get(stream._desc.streamId) === stream && !stream._sub) this._emit("stream-removed", { stream });
    }
    /**
     * Addition: the largest simulcast layer wanted for a subscribed stream's
     * video: 'low' (0), 'medium' (1) or 'high' (2, the default: the highest
     * the link carries).  A thumbnail tile wants 'low'.  Kept for the
     * subscription's life (and re-subscriptions after reconnecting).
     */
    async setRemoteVideoLayer(stream, layer) {
      if (!(stream instanceof Stream) || stream._local || stream._client !== this) throw invalid("setRemoteVideoLayer: a remote stream of this client is required");
      const maxLayer = parseLayer(layer, "setRemoteVideoLayer");
      const sub = stream._sub;
      if (!sub) throw new RtcError(ErrorCode.NOT_SUPPORTED, "setRemoteVideoLayer: the stream is not subscribed");
      sub.maxLayer = maxLayer;
      if (!sub.video) return;
      await this._tx.recv.run(() => Promise.resolve());
      if (stream._sub !== sub || !sub.subscriptionId || sub.maxLayer !== maxLayer) return;
      await this._request("setLayer", { subscriptionId: sub.subscriptionId, maxLayer });
    }
    // ---- media connections: events, ICE restart, recovery ----
    _onPcState(t, pc) {
      const s = pc.connectionState;
      if (s === "connected") {
        clearTimeout(t.graceTimer);
        t.graceTimer = null;
        if (t.dir === "send") for (const pub of this._pubs.values()) {
          if (pub.pc === pc) this._published(pub);
        }
        else for (const st of this._remote.values()) {
          if (st._sub && st._sub.pc === pc) this._subscribed(st._sub);
        }
      } else if (s === "failed") {
        clearTimeout(t.graceTimer);
        t.graceTimer = null;
        this._recover(t);
      } else if (s === "disconnected") {
        this._watchStuck(t, pc, ICE_DISCONNECTED_GRACE_MS);
      } else if (s === "connecting") {
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
        if (this._state === "RECONNECTING" && this._reconnected) await this._reconnected.promise.catch(() => {
        });
        if (this._state !== "CONNECTED") return;
        const pc = t.pc;
        if (!pc || pc.connectionState === "connected") return;
        log.info("media connection lost: ICE restart", t.dir);
        let ok = false;
        try {
          await t.run(async () => {
            if (t.pc !== pc || pc.connectionState === "connected") {
              ok = true;
              return;
            }
            await t.negotiate((sdp) => this._offer(t, pc, "negotiate", { pc: t.dir, sdp }), { iceRestart: true });
          });
          ok = ok || await whenConnected(pc, ICE_RESTART_WAIT_MS);
        } catch (e) {
          log.info("ICE restart failed:", e.message);
          if (sessionGone(e)) return;
        }
        if (t.pc !== pc || this._state !== "CONNECTED") return;
        if (!ok) await this._rebuild(t);
      } catch (e) {
        this._emit("error", { errorCode: String(e.getCode ? e.getCode() : ErrorCode.ERR_SDK_INTERNAL_ERROR), errorMsg: `media reconnection failed: ${e.message}` });
      } finally {
        t.recovering = false;
        const pc = t.pc;
        if (pc && isStuck(pc) && this._state !== "DISCONNECTED") this._watchStuck(t, pc, CONNECTING_STUCK_MS);
      }
    }
    /** The server's view of t may differ from ours (e.g. a publish it has and we do not know): rebuild it. */
    _resync(t) {
      this._rebuild(t).catch((e) => log.warn("rebuilding the media connection:", e.message));
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
      log.info("rebuilding the media connection", t.dir);
      t.close();
      if (!old) return;
      if (t.dir === "send") {
        const pubs = Array.from(this._pubs.values()).filter((p) => p.pc === old);
        for (const pub of pubs) {
          if (pub.streamId) await this._request("unpublish", { streamId: pub.streamId }).catch(() => {
          });
          pub.pc = null;
          pub.tx = {};
          pub.streamId = null;
          pub.emitted = false;
        }
        for (const pub of pubs) {
          if (this._pubs.get(pub.stream) === pub) this._negotiatePublish(pub).catch((e) => this._publishLost(pub, e));
        }
        return;
      }
      const subs = Array.from(this._remote.values()).filter((st) => st._sub && st._sub.pc === old).map((st) => st._sub);
      for (const sub of subs) {
        if (sub.subscriptionId) await this._request("unsubscribe", { subscriptionId: sub.subscriptionId }).catch(() => {
        });
        sub.subscriptionId = null;
      }
      for (const sub of subs) {
        const st = sub.stream;
        if (st._sub !== sub || !this._remote.has(st._desc.streamId)) continue;
        st._sub = null;
        st._clearTracks();
        this.subscribe(st, { audio: sub.audio, video: sub.video, maxLayer: sub.maxLayer }).catch((e) => log.warn("subscribe again:", e.message));
      }
    }
    // ---- the signaling socket: lost, resumed, or joined again ----
    _onLost(sock, info) {
      if (sock !== this._sock) return;
      if (this._state !== "CONNECTED") return;
      log.info("signaling lost", info);
      this._reconnect(sock.lastRx || Date.now());
    }
    async _reconnect(lastRx) {
      this._setState("RECONNECTING", "NETWORK");
      this._reconnected = deferred();
      const room = this._room;
      const lostAt = Date.now();
      const resumeUntil = room.resumeToken ? lastRx + room.idleTimeoutMs + room.resumeWindowMs : 0;
      let delay = 0, refused = 0;
      while (this._room === room && Date.now() < resumeUntil) {
        if (delay) await sleep(delay);
        if (this._room !== room) return;
        delay = Math.min(delay ? delay * 2 : 500, 2e3);
        const sock = this._newSocket();
        this._sock = sock;
        try {
          await sock.open(Math.max(1e3, Math.min(5e3, resumeUntil - Date.now())));
          const data = await sock.request("resume", { resumeToken: room.resumeToken }, 5e3);
          if (this._room !== room) {
            sock.close();
            return;
          }
          this._afterJoin(data);
          this._reconcile(data, false);
          this._reconnectDone();
          const mine = new Set((data.streams || []).filter((s) => s.userId === room.userId).map((s) => s.streamId));
          const known = new Set(Array.from(this._pubs.values()).map((p) => p.streamId).filter(Boolean));
          const orphans = Array.from(mine).filter((id) => !known.has(id));
          for (const id of orphans) this._request("unpublish", { streamId: id }).catch(() => {
          });
          if (Array.from(known).some((id) => !mine.has(id))) this._resync(this._tx.send);
          this._checkTransports();
          return;
        } catch (e) {
          if (this._sock === sock) sock.close();
          if (this._room !== room || this._state !== "RECONNECTING") return;
          if (sessionGone(e)) break;
          const code = e.getCode ? e.getCode() : 0;
          if ((code === ErrorCode.SOCKET_CONNECT_FAIL || code === ErrorCode.SOCKET_CONNECT_TIMEOUT) && this._domain !== this._homeDomain && ++refused >= 2) break;
        }
      }
      await this._rejoin(room, lostAt);
    }
    /** The session could not be resumed: join again and publish and subscribe again. */
    async _rejoin(room, lostAt) {
      const old = this._sock;
      this._sock = null;
      if (old) old.close();
      this._closeTransports();
      for (const pub of this._pubs.values()) {
        pub.pc = null;
        pub.tx = {};
        pub.streamId = null;
        pub.emitted = false;
      }
      const wanted = /* @__PURE__ */ new Map();
      for (const st of this._remote.values()) {
        if (st._sub) wanted.set(st._desc.streamId, { audio: st._sub.audio, video: st._sub.video, maxLayer: st._sub.maxLayer });
        this._endSubscription(st, false);
      }
      let delay = 500, lastErr = null;
      while (this._room === room && Date.now() < lostAt + REJOIN_FOR_MS) {
        let sock = null;
        try {
          const data = await this._joinFollowing(() => this._room === room, 5e3);
          sock = this._sock;
          if (this._room !== room) {
            sock.close();
            return;
          }
          this._afterJoin(data);
          this._reconcile(data, false);
          this._reconnectDone();
          for (const pub of Array.from(this._pubs.values())) this._negotiatePublish(pub).catch((e) => this._publishLost(pub, e));
          for (const [id, opt] of wanted) {
            const st = this._remote.get(id);
            if (st) this.subscribe(st, opt).catch((e) => log.warn("subscribe after rejoin:", e.message));
          }
          return;
        } catch (e) {
          if (this._sock && (sock === null || this._sock === sock)) this._sock.close();
          if (this._room !== room) return;
          lastErr = e;
          const code = e.getCode ? e.getCode() : 0;
          if (code === ErrorCode.TOKEN_EXPIRED || code === ErrorCode.INVALID_TOKEN || code === ErrorCode.JOIN_REJECTED) break;
          if ((code === ErrorCode.SOCKET_CONNECT_FAIL || code === ErrorCode.SOCKET_CONNECT_TIMEOUT) && this._domain !== this._homeDomain) this._domain = this._homeDomain;
          await sleep(delay);
          delay = Math.min(delay * 2, 4e3);
        }
      }
      if (this._room !== room) return;
      this._teardown();
      this._setState("DISCONNECTED", "NETWORK");
      this._emit("error", {
        errorCode: String(ErrorCode.SOCKET_RECONNECT_FAIL),
        errorMsg: `reconnection failed: ${lastErr ? lastErr.message : "no connection"}`
      });
    }
    _publishLost(pub, e) {
      if (this._pubs.get(pub.stream) === pub) {
        this._pubs.delete(pub.stream);
        pub.stream._pubs.delete(this);
      }
      const code = e.getCode ? e.getCode() : pub.stream.hasVideo() ? ErrorCode.ERR_PUBLISH_VIDEO_STREAM_FAIL : ErrorCode.ERR_PUBLISH_AUDIO_STREAM_FAIL;
      this._emit("error", { errorCode: String(code), errorMsg: `publish after reconnecting: ${e.message}` });
    }
    _reconnectDone() {
      this._setState("CONNECTED", "RECONNECTED");
      const d = this._reconnected;
      this._reconnected = null;
      if (d) d.resolve();
    }
    /** After a reconnection (a network change, often): restart ICE on a media connection that is down (a "connecting" one keeps its deadline). */
    _checkTransports() {
      for (const t of Object.values(this._tx)) {
        const s = t.pc && t.pc.connectionState;
        if (s === "failed" || s === "disconnected") this._recover(t);
      }
    }
    // ---- timers: network quality, audio volume, camera changes ----
    // A page going away leaves first: the browser then closes the media
    // connections, which irtcd would otherwise count as a lost user (reason 7).
    _onPageHide() {
      if (this._state !== "CONNECTED" || !this._sock || !this._sock.open_) return;
      try {
        this._sock.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id: this._sock.nextId++, type: "leave" }));
      } catch (e) {
      }
    }
    _startTimers() {
      if (globalThis.addEventListener) {
        this._pageHide = () => this._onPageHide();
        globalThis.addEventListener("pagehide", this._pageHide);
        this._online = () => {
          if (this._state === "CONNECTED") this._checkTransports();
        };
        globalThis.addEventListener("online", this._online);
      }
      this._timers.push(setInterval(() => this._qualityTick(), QUALITY_INTERVAL_MS));
      this._timers.push(setInterval(() => this._volumeTick(), VOLUME_INTERVAL_MS));
      if (globalThis.navigator && navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
        this._cameras = null;
        this._listCameras().then((c) => {
          this._cameras = c;
        }).catch(() => {
        });
        this._deviceHandler = () => this._devicesChanged();
        navigator.mediaDevices.addEventListener("devicechange", this._deviceHandler);
      }
    }
    _stopTimers() {
      for (const t of this._timers) clearInterval(t);
      this._timers = [];
      if (this._pageHide) globalThis.removeEventListener("pagehide", this._pageHide);
      if (this._online) globalThis.removeEventListener("online", this._online);
      this._pageHide = null;
      this._online = null;
      if (this._deviceHandler) navigator.mediaDevices.removeEventListener("devicechange", this._deviceHandler);
      this._deviceHandler = null;
    }
    async _listCameras() {
      const devs = await navigator.mediaDevices.enumerateDevices();
      return new Map(devs.filter((d) => d.kind === "videoinput").map((d) => [d.deviceId, d.label]));
    }
    async _devicesChanged() {
      const now = await this._listCameras().catch(() => null);
      if (!now) return;
      const before = this._cameras || /* @__PURE__ */ new Map();
      this._cameras = now;
      for (const [id, label] of now) if (!before.has(id)) this._emit("camera-changed", { deviceId: id, label, state: "ADDED" });
      for (const [id, label] of before) if (!now.has(id)) this._emit("camera-changed", { deviceId: id, label, state: "REMOVED" });
    }
    async _qualityTick() {
      if (this._state !== "CONNECTED" && this._state !== "RECONNECTING") return;
      const wantQuality = this._emitter.listenerCount("network-quality") > 0;
      const wantVolume = this._emitter.listenerCount("audio-volume") > 0;
      if (!wantQuality && !wantVolume) return;
      const measure = async (t, dir) => {
        const pc = t.pc;
        if (!pc || pc.signalingState === "closed") return null;
        try {
          return await sample(pc, dir);
        } catch (e) {
          return null;
        }
      };
      const up = await measure(this._tx.send, "up");
      const dn = await measure(this._tx.recv, "down");
      const levels = new Map([...up ? up.levels : [], ...dn ? dn.levels : []]);
      for (const pub of this._pubs.values()) this._statsLevelOf(pub.stream, levels);
      for (const st of this._remote.values()) this._statsLevelOf(st, levels);
      if (!wantQuality || this._state === "DISCONNECTED") return;
      const sigDown = this._state === "RECONNECTING";
      const sigRtt = this._sock && this._sock.rtt !== void 0 ? this._sock.rtt : null;
      const figures = (x, server, useServerAvailable) => {
        const sv = server && Date.now() - server.at < SERVER_STATS_FRESH_MS ? server : null;
        let rtt = x && x.rtt !== null ? x.rtt : null;
        if (sv && typeof sv.rttMs === "number") rtt = Math.max(rtt || 0, sv.rttMs);
        if (rtt === null && sigRtt !== null) rtt = sigRtt;
        let loss = x ? x.loss : 0;
        if (sv && typeof sv.lossPct === "number") loss = Math.max(loss, sv.lossPct / 100);
        const f = {
          rtt: rtt !== null ? Math.round(rtt) : null,
          loss: Math.round(Math.min(1, loss) * 1e3) / 1e3,
          bitrate: Math.round(x ? x.bitrate : 0)
        };
        const avail = useServerAvailable ? sv && typeof sv.availableKbps === "number" ? sv.availableKbps * 1e3 : null : x && x.available !== null ? x.available : sv && typeof sv.availableKbps === "number" ? sv.availableKbps * 1e3 : null;
        if (avail !== null) f.available = Math.round(avail);
        return f;
      };
      const u = figures(up, this._serverStats.send, false), d = figures(dn, this._serverStats.recv, true);
      const isDown = (x) => !!x && (x.state === "failed" || x.state === "disconnected");
      let dq = quality(d.rtt, d.loss, sigDown || isDown(dn));
      if (dq < 4 && Array.from(this._remote.values()).some((st) => st._sub && st._sub.paused)) dq = 4;
      this._emit("network-quality", {
        uplinkNetworkQuality: quality(u.rtt, u.loss, sigDown || isDown(up)),
        downlinkNetworkQuality: dq,
        uplink: u,
        downlink: d
      });
    }
    _statsLevelOf(stream, levels) {
      const a = stream._tracks.audio;
      if (a && levels.has(a.id)) stream._statsLevel = levels.get(a.id);
    }
    _volumeTick() {
      if (this._state !== "CONNECTED" || this._emitter.listenerCount("audio-volume") === 0) return;
      const result = [];
      for (const pub of this._pubs.values()) {
        if (!pub.stream.hasAudio()) continue;
        const level = pub.stream.getAudioLevel();
        result.push({ userId: this._room.userId, streamId: pub.streamId, type: "local", audioVolume: Math.round(level * 100), level });
      }
      for (const st of this._remote.values()) {
        if (!st._sub || !st._sub.audio) continue;
        const level = st.getAudioLevel();
        result.push({ userId: st._desc.userId, streamId: st._desc.streamId, type: st._desc.type, audioVolume: Math.round(level * 100), level });
      }
      this._emit("audio-volume", { result });
    }
  };
  function createClient(config) {
    if (!config || typeof config !== "object") throw invalid("createClient: config {appId, domain} is required");
    if (typeof config.appId !== "string" || !config.appId || config.appId.length > 128) throw invalid("createClient: appId must be a string of 1 to 128 characters");
    if (config.domain !== void 0 && (typeof config.domain !== "string" || config.domain.length > 128)) throw invalid("createClient: domain must be host[:port], at most 128 characters");
    return new Client({ appId: config.appId, domain: config.domain });
  }

  // src/version.js
  var VERSION = "0.1.0";

  // src/index.js
  var MIN_CHROME = 73;
  async function checkSystemRequirements() {
    const g = globalThis;
    const missing = [];
    if (typeof g.RTCPeerConnection !== "function") missing.push("RTCPeerConnection");
    else if (!("addTransceiver" in g.RTCPeerConnection.prototype)) missing.push("RTCPeerConnection.addTransceiver");
    if (!g.navigator || !g.navigator.mediaDevices || typeof g.navigator.mediaDevices.getUserMedia !== "function") {
      missing.push("navigator.mediaDevices.getUserMedia (a secure context, https:// or localhost, is needed)");
    }
    if (typeof g.WebSocket !== "function") missing.push("WebSocket");
    const m = g.navigator && /Chrom(?:e|ium)\/(\d+)/.exec(g.navigator.userAgent || "");
    if (m && Number(m[1]) < MIN_CHROME) missing.push(`Chrome ${MIN_CHROME} or later (this is ${m[1]})`);
    if (missing.length === 0 && g.RTCRtpSender && typeof g.RTCRtpSender.getCapabilities === "function") {
      const v = g.RTCRtpSender.getCapabilities("video");
      const a = g.RTCRtpSender.getCapabilities("audio");
      if (v && !v.codecs.some((c) => /\/(VP8|H264|VP9)$/i.test(c.mimeType))) missing.push("a VP8, H.264 or VP9 encoder");
      if (a && !a.codecs.some((c) => /\/opus$/i.test(c.mimeType))) missing.push("an Opus encoder");
    }
    if (missing.length) throw new RtcError(ErrorCode.NOT_SUPPORTED, `browser not supported: needs ${missing.join(", ")}`);
    return true;
  }
  async function getDevices() {
    if (!globalThis.navigator || !navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
      throw new RtcError(ErrorCode.NOT_SUPPORTED, "getDevices: navigator.mediaDevices is not available");
    }
    return navigator.mediaDevices.enumerateDevices();
  }

  // src/esm.js
  var esm_default = index_exports;
  return __toCommonJS(esm_exports);
})();
if(typeof module==="object"&&module.exports){module.exports=ISDPRTC;}else if(typeof define==="function"&&define.amd){define([],function(){return ISDPRTC;});}
