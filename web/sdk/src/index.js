// ISDPRTC — the irtc Web SDK, compatible with the ISDP+ iRTC Web SDK
// (access guide §7.3): checkSystemRequirements, VERSION, getDevices,
// createClient, createStream; plus RtcError and ErrorCode.  docs/SDK.md.
import { ErrorCode, RtcError } from './errors.js';
import { createClient } from './client.js';
import { createStream } from './stream.js';
import { VERSION } from './version.js';

const MIN_CHROME = 73;

/**
 * Resolves true when this browser can use the SDK (WebRTC with
 * transceivers, getUserMedia, WebSocket; Chrome 73 or later); rejects with
 * an RtcError (200002) naming what is missing otherwise.
 */
export async function checkSystemRequirements() {
  const g = globalThis;
  const missing = [];
  if (typeof g.RTCPeerConnection !== 'function') missing.push('RTCPeerConnection');
  else if (!('addTransceiver' in g.RTCPeerConnection.prototype)) missing.push('RTCPeerConnection.addTransceiver');
  if (!g.navigator || !g.navigator.mediaDevices || typeof g.navigator.mediaDevices.getUserMedia !== 'function') {
    missing.push('navigator.mediaDevices.getUserMedia (a secure context, https:// or localhost, is needed)');
  }
  if (typeof g.WebSocket !== 'function') missing.push('WebSocket');
  const m = g.navigator && /Chrom(?:e|ium)\/(\d+)/.exec(g.navigator.userAgent || '');
  if (m && Number(m[1]) < MIN_CHROME) missing.push(`Chrome ${MIN_CHROME} or later (this is ${m[1]})`);
  if (missing.length === 0 && g.RTCRtpSender && typeof g.RTCRtpSender.getCapabilities === 'function') {
    const v = g.RTCRtpSender.getCapabilities('video');
    const a = g.RTCRtpSender.getCapabilities('audio');
    if (v && !v.codecs.some(c => /\/(VP8|H264|VP9)$/i.test(c.mimeType))) missing.push('a VP8, H.264 or VP9 encoder');
    if (a && !a.codecs.some(c => /\/opus$/i.test(c.mimeType))) missing.push('an Opus encoder');
  }
  if (missing.length) throw new RtcError(ErrorCode.NOT_SUPPORTED, `browser not supported: needs ${missing.join(', ')}`);
  return true;
}

/** The media input and output devices (labels and ids may be empty before the user grants access). */
export async function getDevices() {
  if (!globalThis.navigator || !navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) {
    throw new RtcError(ErrorCode.NOT_SUPPORTED, 'getDevices: navigator.mediaDevices is not available');
  }
  return navigator.mediaDevices.enumerateDevices();
}

export { VERSION, createClient, createStream, RtcError, ErrorCode };
