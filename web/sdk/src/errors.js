// RtcError and the error codes the SDK reports (guide §7.3.4.5, §7.2.4.3).

/**
 * Error codes: the guide's table 7.2.4.3-1 (the Web SDK uses the same codes),
 * under the guide's constant names (ERR_…), and the shorter names this SDK
 * had first (same numbers).  What each code means here: docs/SDK.md "Errors".
 */
export const ErrorCode = Object.freeze({
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
  NOT_JOINED: 200012, // deprecated name: 200012 means "already left" (before any join it is 200002)
  SOCKET_CONNECT_FAIL: 200013,
  SOCKET_CONNECT_TIMEOUT: 200014,
  SOCKET_RECONNECT_FAIL: 200015,
  SOCKET_DISCONNECT: 200016,
  SERVER_NO_RESPONSE: 200017,
  JOIN_FAILED: 200018,
  JOIN_REJECTED: 200019,
  MEDIA_FAILED: 200021, // deprecated name of ERR_GET_MEDIA_PORT_FAIL
  SCREEN_CAPTURE_FAILED: 200022,
  PLAY_FAILED: 200024, // deprecated name of ERR_SETUP_REMOTE_VIEW_FAIL
  AUDIO_CAPTURE_FAILED: 200025,
  VIDEO_CAPTURE_FAILED: 200026,
  REDIRECT: 200030, // cluster mode: the room is served by another node (followed by join())
});

/** An error of the SDK: getCode() (number) and getMsg() (string). */
export class RtcError extends Error {
  constructor(code, msg, opts = {}) {
    super(opts.message || msg);
    this.name = opts.name || 'RtcError';
    this.code = code;
    this.msg = msg;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
  getCode() { return this.code; }
  getMsg() { return this.msg; }
}

/** The five capture error names of guide table 7.3.4.4-2. */
export const CaptureErrorNames = ['NotFoundError', 'NotAllowedError', 'NotReadableError', 'OverConstrainedError', 'AbortError'];

/** Maps a getUserMedia/getDisplayMedia failure onto one of CaptureErrorNames. */
export function captureErrorName(e) {
  const n = e && e.name;
  if (n === 'NotFoundError' || n === 'DevicesNotFoundError') return 'NotFoundError';
  if (n === 'NotAllowedError' || n === 'PermissionDeniedError' || n === 'SecurityError') return 'NotAllowedError';
  if (n === 'NotReadableError' || n === 'TrackStartError') return 'NotReadableError';
  if (n === 'OverconstrainedError' || n === 'OverConstrainedError' || n === 'ConstraintNotSatisfiedError') return 'OverConstrainedError';
  return 'AbortError';
}

/** The per-media RtcError of a failed capture: getMsg() is the error name. */
export function captureError(type, e) {
  const name = captureErrorName(e);
  const code = type === 'audio' ? ErrorCode.AUDIO_CAPTURE_FAILED
    : type === 'screen' ? ErrorCode.SCREEN_CAPTURE_FAILED : ErrorCode.VIDEO_CAPTURE_FAILED;
  const detail = e && e.message ? `${name}: ${e.message}` : name;
  return new RtcError(code, name, { name, message: detail, cause: e });
}

/**
 * The result of Stream.initialize() (guide 7.3.4.4): an RtcError with the
 * result of every media type.  Resolved when all succeeded (getCode() 0),
 * the rejection otherwise (the first failure's code and name).
 */
export class StreamInitializeResult extends RtcError {
  constructor(results) {
    const failed = results.find(r => r.error);
    super(failed ? failed.error.getCode() : 0, failed ? failed.error.getMsg() : 'success',
      { name: 'StreamInitializeResult', message: failed ? failed.error.message : 'success' });
    this.results = results;
  }
  getMediaCaptureResult() { return this.results.slice(); }
  getMediaCaptureResultByType(type) { return this.results.find(r => r.type === type); }
}

/** An RtcError from a server error response {errorCode, errorMsg}; a join
 * redirect (cluster mode) keeps its {nodeId, domain, url} as .redirect. */
export function serverError(msg) {
  const e = new RtcError(Number(msg.errorCode) || ErrorCode.INTERNAL_ERROR, String(msg.errorMsg || 'server error'));
  const r = msg.redirect;
  if (r && typeof r === 'object' && typeof r.domain === 'string' && r.domain.length <= 128 && !/[\/\s@?#]/.test(r.domain))
    e.redirect = { nodeId: String(r.nodeId || ''), domain: r.domain };
  return e;
}
