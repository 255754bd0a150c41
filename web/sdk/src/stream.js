// Stream (guide 7.3.4.4): a local stream (camera + microphone, or a screen)
// made by ISDPRTC.createStream, or a remote one handed out by a Client's
// stream-added event.
import { ErrorCode, RtcError, StreamInitializeResult } from './errors.js';
import { cameraEncodings, capture, captureDevice, DEFAULT_PROFILE, SCREEN_PROFILE, VIDEO_PROFILES } from './media.js';
import { LevelMeter, resumeAudio } from './audiolevel.js';
import { invalid, localId } from './util.js';

const OBJECT_FITS = ['contain', 'cover', 'fill'];
const PLAY_START_WAIT_MS = 3000;

export class Stream {
  /** @internal Use ISDPRTC.createStream() or a Client's stream-added event. */
  constructor(kind, init) {
    this._local = kind === 'local';
    this._ms = typeof MediaStream === 'function' ? new MediaStream() : null;
    this._tracks = { audio: null, video: null };
    this._el = null;
    this._playMuted = false;
    this._volume = 100;
    this._meter = null;
    this._statsLevel = null; // audio level from getStats, when the meter cannot measure
    this._closed = false;
    if (this._local) {
      this._config = init;
      this._id = localId('local');
      this._pubs = new Map(); // Client → publication
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
    if (!this._local) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'initialize: only a local stream is initialized');
    if (this._closed) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'initialize: the stream is closed');
    if (this._initialized) {
      throw new RtcError(ErrorCode.NOT_SUPPORTED, 'initialize: already initialized');
    }
    const results = await capture(this._config);
    for (const r of results) if (r.track) this._setTrack(r.track);
    this._initialized = results.some(r => r.track);
    const result = new StreamInitializeResult(results);
    if (results.some(r => r.error)) throw result;
    return result;
  }

  /** Replaces the camera or microphone with another device, also while published (addition). */
  async switchDevice(type, deviceId) {
    if (!this._local || this._config.screen) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'switchDevice: only a camera/microphone stream');
    if (type !== 'audio' && type !== 'video') throw invalid('switchDevice: type must be "audio" or "video"');
    const old = this._tracks[type];
    if (!old && !this._initialized) throw new RtcError(ErrorCode.ERR_NOT_INITIALIZED, 'switchDevice: initialize the stream first');
    if (!old) throw new RtcError(ErrorCode.ERR_SDK_NOT_SUPPORTED, `switchDevice: the stream has no ${type}`);
    const track = await captureDevice(type, deviceId, this._config.resolution);
    track.enabled = old.enabled;
    this._setTrack(track);
    for (const pub of this._pubs.values()) {
      const tr = pub.tx && pub.tx[type];
      if (tr && tr.sender && !(tr.stopped || tr.currentDirection === 'stopped')) await tr.sender.replaceTrack(track);
    }
    old.stop();
    if (type === 'audio') this._config.microphoneId = deviceId;
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
    if (this._closed) throw new RtcError(ErrorCode.NOT_SUPPORTED, 'play: the stream is closed');
    const div = typeof elementId === 'string' ? document.getElementById(elementId) : elementId;
    if (!div || typeof div.appendChild !== 'function') throw invalid(`play: no element with id "${elementId}"`);
    const objectFit = options.objectFit || 'contain';
    if (!OBJECT_FITS.includes(objectFit)) throw invalid('play: objectFit must be contain, cover or fill');
    this._removeElement();
    const v = document.createElement('video');
    v.autoplay = true;
    v.playsInline = true;
    v.setAttribute('playsinline', '');
    v.muted = !!options.muted;
    this._playMuted = !!options.muted;
    v.className = 'isdprtc-video';
    v.dataset.streamId = this.getId();
    const mirror = options.mirror !== undefined ? !!options.mirror : this._local && !this._config.screen;
    v.style.cssText = `width:100%;height:100%;display:block;object-fit:${objectFit};background:#000;` +
      (mirror ? 'transform:scaleX(-1);' : '');
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
    // play() waits for media; a stream whose tracks are yet to come still plays once they do.
    const waited = new Promise(r => { timer = setTimeout(() => r(false), PLAY_START_WAIT_MS); });
    try {
      await Promise.race([started, waited]);
    } catch (e) {
      if (this._el !== v) return; // replaced by another play(), or stopped: not a playback failure
      const code = this._local ? ErrorCode.ERR_SDK_NOT_SUPPORTED : ErrorCode.ERR_SETUP_REMOTE_VIEW_FAIL;
      throw new RtcError(code, e && e.name ? e.name : 'play failed', { cause: e, message: `play: ${e && e.message}` });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops playing: no option, both (the <video> is removed); {audio} or {video}, that kind. */
  stop(option) {
    if (!this._el) return;
    const all = !option || (!option.audio && !option.video) || (option.audio && option.video);
    if (all) { this._removeElement(); return; }
    if (option.audio) { this._el.muted = true; this._stopped.audio = true; }
    if (option.video) { this._el.style.visibility = 'hidden'; this._stopped.video = true; }
  }

  /** Resumes playback (after stop({audio|video}), an autoplay refusal, or a paused element). */
  async resume(option) {
    resumeAudio();
    if (!this._el) return;
    const all = !option || (!option.audio && !option.video);
    if (all || option.audio) { this._el.muted = this._playMuted; this._stopped.audio = false; }
    if (all || option.video) { this._el.style.visibility = ''; this._stopped.video = false; }
    return this._start(this._el);
  }

  /**
   * Closes the stream: the <video> is removed; a local stream's camera and
   * microphone are released (and it is unpublished if it was published); a
   * remote stream is unsubscribed.
   */
  close() {
    this._removeElement();
    if (this._meter) { this._meter.dispose(); this._meter = null; }
    if (!this._local) {
      if (this._sub && this._client) this._client.unsubscribe(this).catch(() => {});
      return;
    }
    if (this._closed) return;
    this._closed = true;
    for (const client of Array.from(this._pubs.keys())) client.unpublish(this).catch(() => {});
    for (const t of [this._tracks.audio, this._tracks.video]) if (t) t.stop();
  }

  /**
   * A remote stream's video changing size while it plays (the publisher's
   * camera or the simulcast layer received) is a change of its video spec:
   * stream-updated (guide 7.3.4.3).
   */
  _watchVideoSize(v) {
    v.addEventListener('resize', () => {
      if (this._el !== v || !v.videoWidth || !v.videoHeight) return;
      const size = `${v.videoWidth}x${v.videoHeight}`;
      const prev = this._videoSize;
      this._videoSize = size;
      if (prev && prev !== size && this._sub && this._client) this._client._remoteVideoResized(this, size);
    });
  }

  _removeElement() {
    if (!this._el) return;
    try { this._el.pause(); } catch (e) { /* detached */ }
    this._el.srcObject = null;
    this._el.remove();
    this._el = null;
  }

  // ---- mute ----

  /** Disables the audio track (local: others get mute-audio).  True when there is one. */
  muteAudio() { return this._setEnabled('audio', false); }
  muteVideo() { return this._setEnabled('video', false); }
  unmuteAudio() { return this._setEnabled('audio', true); }
  unmuteVideo() { return this._setEnabled('video', true); }

  _setEnabled(kind, enabled) {
    const t = this._tracks[kind];
    if (!t) {
      // A remote stream's audio can be (un)muted only while it is received
      // (guide 200023: the state does not allow setting the remote mute).
      if (!this._local && kind === 'audio' && this._client) {
        const why = this._closed ? 'the stream is closed' : !this.hasAudio() ? 'the stream has no audio'
          : 'its audio is not subscribed';
        this._client._emit('error', { errorCode: String(ErrorCode.ERR_SET_REMOTE_AUDIO_MUTE_FAIL),
          errorMsg: `${enabled ? 'unmuteAudio' : 'muteAudio'}: ${why}` });
      }
      return false;
    }
    t.enabled = enabled;
    if (this._local) for (const [client, pub] of this._pubs) client._sendMute(pub, kind, !enabled);
    return true;
  }

  // ---- information ----

  /** Local: an id made here ("local-…"); remote: the server's stream id (a decimal string). */
  getId() { return this._local ? this._id : this._desc.streamId; }
  /** Local: createStream's userId (undefined if not given); remote: the publisher's userId. */
  getUserId() { return this._local ? this._config.userId : this._desc.userId; }
  hasAudio() { return this._local ? !!this._tracks.audio : !!this._desc.hasAudio; }
  hasVideo() { return this._local ? !!this._tracks.video : !!this._desc.hasVideo; }
  getAudioTrack() { return this._tracks.audio || null; }
  /** The video track (remote: the layer the server forwards; see getStreamInfo().layer). */
  getVideoTrack() { return this._tracks.video || null; }
  /** 'local', or for a remote stream 'main' (camera) or 'auxiliary' (screen share). */
  getType() { return this._local ? 'local' : this._desc.type; }

  /** What the stream carries (our format: docs/SDK.md). */
  getStreamInfo() {
    const v = this._tracks.video, a = this._tracks.audio;
    const vs = v && v.getSettings ? v.getSettings() : null;
    const as = a && a.getSettings ? a.getSettings() : null;
    const info = {
      streamId: this._local ? this._publishedId() : this._desc.streamId,
      userId: this.getUserId(),
      type: this.getType(),
      screen: this._local ? !!this._config.screen : this._desc.type === 'auxiliary',
      hasAudio: this.hasAudio(),
      hasVideo: this.hasVideo(),
      audioMuted: this._local ? !!(a && !a.enabled) : !!this._desc.audioMuted,
      videoMuted: this._local ? !!(v && !v.enabled) : !!this._desc.videoMuted,
      videoCodec: this._local ? null : this._desc.videoCodec || null,
      video: vs ? { width: vs.width, height: vs.height, frameRate: vs.frameRate, deviceId: vs.deviceId } : null,
      audio: as ? { sampleRate: as.sampleRate, channelCount: as.channelCount, deviceId: as.deviceId,
        echoCancellation: as.echoCancellation, noiseSuppression: as.noiseSuppression, autoGainControl: as.autoGainControl } : null,
    };
    if (this._local) {
      info.resolution = this._config.screen ? null : this._config.resolution || DEFAULT_PROFILE;
      info.simulcast = v ? this._encodings().length : 0;
    } else {
      info.simulcast = this._desc.simulcast || (this._desc.hasVideo ? 1 : 0);
      const sub = this._sub;
      // The video layer received (0 lowest); maxLayer the preference; paused for bandwidth.
      info.layer = sub && sub.video ? { current: sub.layer, count: sub.layers || info.simulcast,
        max: sub.maxLayer === undefined ? null : sub.maxLayer, paused: !!sub.paused } : null;
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
    if (!Number.isFinite(v)) throw invalid('setAudioVolume: volume must be a number from 0 to 100');
    this._volume = Math.max(0, Math.min(100, v));
    if (this._el) this._el.volume = this._volume / 100;
  }

  /** The current audio level, 0..1 (above 0.1: speaking); 0 without audio. */
  getAudioLevel() {
    const t = this._tracks.audio;
    if (!t || !t.enabled || t.readyState !== 'live') return 0;
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
    for (const kind of ['audio', 'video']) {
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
    const sim = this._config.simulcast === undefined ? VIDEO_PROFILES[name].simulcast : this._config.simulcast;
    const v = this._tracks.video;
    const st = v && v.getSettings ? v.getSettings() : {};
    return cameraEncodings(name, sim, st.height);
  }
}

/** ISDPRTC.createStream(config). */
export function createStream(config = {}) {
  if (config === null || typeof config !== 'object') throw invalid('createStream: config must be an object');
  const c = {
    audio: !!config.audio,
    video: !!config.video,
    screen: !!config.screen,
    microphoneId: config.microphoneId || undefined,
    cameraId: config.cameraId || undefined,
    userId: config.userId,
    resolution: config.resolution || DEFAULT_PROFILE,
    simulcast: config.simulcast === undefined || config.simulcast === null ? undefined : config.simulcast,
  };
  if (!VIDEO_PROFILES[c.resolution]) throw invalid(`createStream: resolution must be one of ${Object.keys(VIDEO_PROFILES).join(', ')}`);
  if (c.simulcast !== undefined && typeof c.simulcast !== 'boolean') throw invalid('createStream: simulcast must be true or false');
  if (!c.screen && !c.audio && !c.video) {
    throw new RtcError(ErrorCode.ERR_VIDEOINFO_NOT_EMPTY, 'createStream: the media settings are empty: ask for audio, video or screen');
  }
  return new Stream('local', c);
}
