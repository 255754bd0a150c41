// Capture: constraints (3A on, 48 kHz mono microphone; 720p camera by
// default, 1080p on request; screen up to 1080p at 15 fps) and per-media
// results for Stream.initialize(); the encodings a camera is sent with
// (simulcast at 720p and above).
import { captureError } from './errors.js';

/**
 * Camera profiles (createStream's `resolution`): the send bitrate cap of a
 * single encoding, the top layer's under simulcast, and whether simulcast
 * is on by default.  The 720p top layer stays at 1.5 Mbit/s so that it,
 * audio and packet overhead fit a 2 Mbit/s downlink with the margin the
 * server's congestion control keeps.
 */
export const VIDEO_PROFILES = Object.freeze({
  '360p': { width: 640, height: 360, frameRate: 30, maxBitrate: 800000, topBitrate: 700000, simulcast: false },
  '480p': { width: 848, height: 480, frameRate: 30, maxBitrate: 1200000, topBitrate: 1000000, simulcast: false },
  '720p': { width: 1280, height: 720, frameRate: 30, maxBitrate: 2000000, topBitrate: 1500000, simulcast: true },
  '1080p': { width: 1920, height: 1080, frameRate: 30, maxBitrate: 3500000, topBitrate: 3000000, simulcast: true },
});
/**
 * Simulcast layers below the top one (which is the camera's own size): 180p
 * and 360p, each where it is at most half the top layer's height.  Listed
 * lowest first, as the protocol wants them.
 */
export const SIMULCAST_LOWER = Object.freeze([
  Object.freeze({ height: 180, maxBitrate: 150000 }),
  Object.freeze({ height: 360, maxBitrate: 500000 }),
]);
const RIDS = ['q', 'h', 'f'];
export const DEFAULT_PROFILE = '720p';
export const SCREEN_PROFILE = Object.freeze({ width: 1920, height: 1080, frameRate: 15, maxBitrate: 2500000 });
export const AUDIO_MAX_BITRATE = 64000;

/**
 * The sendEncodings of a camera track: one encoding capped at the profile's
 * bitrate, or under simulcast the layers of SIMULCAST_LOWER that fit below
 * the track's height plus the full size (rids q, h, f; q, f with two).
 * height: the track's actual height (a camera may give less than asked).
 */
export function cameraEncodings(profileName, simulcast, height) {
  const p = VIDEO_PROFILES[profileName] || VIDEO_PROFILES[DEFAULT_PROFILE];
  const top = height || p.height;
  const lower = simulcast ? SIMULCAST_LOWER.filter(l => l.height * 2 <= top) : [];
  if (!lower.length) return [{ maxBitrate: p.maxBitrate }];
  const rids = lower.length === 1 ? ['q', 'f'] : RIDS;
  const encs = lower.map((l, i) => ({ rid: rids[i], scaleResolutionDownBy: top / l.height, maxBitrate: l.maxBitrate }));
  encs.push({ rid: rids[rids.length - 1], scaleResolutionDownBy: 1, maxBitrate: p.topBitrate });
  return encs;
}

export function audioConstraints(microphoneId) {
  const c = { echoCancellation: true, noiseSuppression: true, autoGainControl: true, sampleRate: 48000, channelCount: 1 };
  if (microphoneId) c.deviceId = { exact: microphoneId };
  return c;
}

export function videoConstraints(cameraId, profile) {
  const p = VIDEO_PROFILES[profile] || VIDEO_PROFILES[DEFAULT_PROFILE];
  const c = { width: { ideal: p.width }, height: { ideal: p.height }, frameRate: { ideal: p.frameRate } };
  if (cameraId) c.deviceId = { exact: cameraId };
  return c;
}

function md() {
  if (!globalThis.navigator || !navigator.mediaDevices) {
    const e = new Error('navigator.mediaDevices is not available (a secure context, https:// or localhost, is needed)');
    e.name = 'NotAllowedError';
    throw e;
  }
  return navigator.mediaDevices;
}

/** One getUserMedia for a single kind: {type, track} or {type, error}. */
async function captureOne(kind, constraints) {
  try {
    const ms = await md().getUserMedia({ [kind]: constraints });
    const track = kind === 'audio' ? ms.getAudioTracks()[0] : ms.getVideoTracks()[0];
    return { type: kind, track };
  } catch (e) {
    return { type: kind, error: captureError(kind, e) };
  }
}

/**
 * Captures what config asks for; returns the MediaCaptureResult list (guide
 * 7.3.4.4): every requested kind with its track or its RtcError.
 */
export async function capture(config) {
  if (config.screen) {
    try {
      const p = SCREEN_PROFILE;
      const ms = await md().getDisplayMedia({
        video: { width: { ideal: p.width }, height: { ideal: p.height }, frameRate: { ideal: p.frameRate } },
        audio: false,
      });
      const track = ms.getVideoTracks()[0];
      try { track.contentHint = 'detail'; } catch (e) { /* older browsers */ }
      return [{ type: 'video', track }];
    } catch (e) {
      return [{ type: 'video', error: captureError('screen', e) }];
    }
  }
  const ac = config.audio ? audioConstraints(config.microphoneId) : null;
  const vc = config.video ? videoConstraints(config.cameraId, config.resolution) : null;
  if (ac && vc) {
    // One permission prompt for both; on failure, one kind at a time tells which failed.
    try {
      const ms = await md().getUserMedia({ audio: ac, video: vc });
      return [{ type: 'audio', track: ms.getAudioTracks()[0] }, { type: 'video', track: ms.getVideoTracks()[0] }];
    } catch (e) { /* below */ }
  }
  const results = [];
  if (ac) results.push(await captureOne('audio', ac));
  if (vc) results.push(await captureOne('video', vc));
  return results;
}

/** A new track of kind from deviceId (Stream.switchDevice). */
export async function captureDevice(kind, deviceId, profile) {
  const r = await captureOne(kind, kind === 'audio' ? audioConstraints(deviceId) : videoConstraints(deviceId, profile));
  if (r.error) throw r.error;
  return r.track;
}
