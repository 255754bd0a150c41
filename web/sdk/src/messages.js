// Room messages over data channels (our addition, docs/SDK.md "Messages"):
// two channels on whichever media connection the client creates first, one
// reliable and ordered ("irtc-r"), one unreliable (maxRetransmits 0,
// "irtc-u").  Every message carries an envelope (docs/API.md "Data
// channels"): one byte n, n bytes of a userId (to whom, when sending; from
// whom, when receiving; none: everyone), then the data.
import { ErrorCode, RtcError } from './errors.js';

const enc = new TextEncoder();

/** [n][userId][data] for a string or an ArrayBuffer / view. */
export function wrap(userId, data) {
  if (typeof data === 'string') return String.fromCharCode(userId.length) + userId + data;
  const body = data instanceof ArrayBuffer ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const id = enc.encode(userId);
  const out = new Uint8Array(1 + id.length + body.length);
  out[0] = id.length;
  out.set(id, 1);
  out.set(body, 1 + id.length);
  return out.buffer;
}

/** {userId, data} of a received envelope, or null when it does not parse. */
export function unwrap(msg) {
  if (typeof msg === 'string') {
    const n = msg.charCodeAt(0);
    if (!(n >= 0) || msg.length < 1 + n) return null;
    return { userId: msg.slice(1, 1 + n), data: msg.slice(1 + n) };
  }
  const b = new Uint8Array(msg);
  if (b.length < 1 || b.length < 1 + b[0]) return null;
  return { userId: String.fromCharCode(...b.subarray(1, 1 + b[0])), data: msg.slice(1 + b[0]) };
}

export class Messages {
  /** onMessage({userId, data}) for every message the room sends us. */
  constructor(onMessage) {
    this.onMessage = onMessage;
    this.pc = null;
    this.ch = null; // {r, u}
  }

  /** A new media connection: the channels go on it unless another carries them. */
  attach(pc) {
    if (this.pc && this.pc.signalingState !== 'closed') return;
    this.pc = pc;
    const r = pc.createDataChannel('irtc-r');
    const u = pc.createDataChannel('irtc-u', { ordered: false, maxRetransmits: 0 });
    this.ch = { r, u };
    for (const c of [r, u]) {
      c.binaryType = 'arraybuffer';
      c.onmessage = ev => {
        const m = unwrap(ev.data);
        if (m) this.onMessage(m);
      };
    }
  }

  /** Sends data (string, ArrayBuffer or a view) to userId ('' or absent: everyone else). */
  send(data, opts = {}) {
    const userId = opts.userId ? String(opts.userId) : '';
    const reliable = opts.reliable !== false;
    if (typeof data !== 'string' && !(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) {
      throw new RtcError(ErrorCode.INVALID_PARAMETER, 'sendMessage: data must be a string or an ArrayBuffer');
    }
    if (!/^[A-Za-z0-9_-]{0,64}$/.test(userId)) {
      throw new RtcError(ErrorCode.INVALID_PARAMETER, 'sendMessage: userId must be 1-64 of [A-Za-z0-9_-]');
    }
    const c = this.ch && (reliable ? this.ch.r : this.ch.u);
    if (!c || c.readyState !== 'open' || !this.pc || this.pc.signalingState === 'closed') {
      throw new RtcError(ErrorCode.ERR_NOT_INITIALIZED, 'sendMessage: no data channel yet (publish or subscribe first)');
    }
    c.send(wrap(userId, data));
  }
}
