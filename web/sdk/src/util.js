// Helpers shared by the SDK's modules.
import { ErrorCode, RtcError } from './errors.js';

export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function invalid(msg) { return new RtcError(ErrorCode.INVALID_PARAMETER, msg); }

export function sleep(ms) { return new Promise(r => setTimeout(r, ms)); }

export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => {}); // a rejection nobody waits for is not an error
  return { promise, resolve, reject };
}

/**
 * The media endpoint a join token names: {host, port} from its body
 * (Base64 of JSON "@#@" signature, CONTRACT.md §2), or null when it cannot be
 * read (the server then judges the token).
 */
export function tokenEndpoint(signature) {
  try {
    if (typeof atob !== 'function') return null;
    const raw = atob(signature);
    const i = raw.lastIndexOf('@#@');
    if (i < 0) return null;
    const body = JSON.parse(raw.slice(0, i));
    if (typeof body.host !== 'string' || body.host === '' || body.port === undefined || body.port === '') return null;
    return { host: body.host, port: String(body.port) };
  } catch (e) {
    return null;
  }
}

let seq = 0;
export function localId(prefix) {
  seq += 1;
  const rnd = Math.random().toString(36).slice(2, 8);
  return `${prefix}-${seq}-${rnd}`;
}

export const log = {
  debug: (...a) => { if (globalThis.ISDPRTC_DEBUG) console.debug('[ISDPRTC]', ...a); },
  info: (...a) => { if (globalThis.ISDPRTC_DEBUG) console.info('[ISDPRTC]', ...a); },
  warn: (...a) => console.warn('[ISDPRTC]', ...a),
};

/** Waits for ICE gathering to finish (at most ms): the protocol has no trickle. */
export function gatheringDone(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise(resolve => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() { if (pc.iceGatheringState === 'complete') done(); }
    pc.addEventListener('icegatheringstatechange', check);
  });
}
