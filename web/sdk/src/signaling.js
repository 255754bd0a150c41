// One signaling WebSocket (docs/API.md "Signaling protocol"): requests with
// ids and their responses, server events, a ping every 5 s, and the
// detection of a dead connection (nothing received for 12 s).
import { ErrorCode, RtcError, serverError } from './errors.js';
import { log } from './util.js';

export const PING_INTERVAL_MS = 5000;
export const DEAD_AFTER_MS = 12000;
export const REQUEST_TIMEOUT_MS = 15000;
/** The signaling protocol version this SDK speaks (docs/API.md: v2, one connection per direction). */
export const PROTOCOL_VERSION = 2;

export class SignalSocket {
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
    this.pending = new Map();
    this.closedByUs = false;
    this.ended = false;
    this.lastRx = 0;
    this.timer = null;
  }

  /** Opens the socket; rejects with 200013 (refused) or 200014 (timeout). */
  open(timeoutMs = 10000) {
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
        try { ws.close(); } catch (e) { /* not open */ }
        reject(new RtcError(ErrorCode.SOCKET_CONNECT_TIMEOUT, `signaling: no connection to ${this.url} within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(t);
        this.lastRx = Date.now();
        this.timer = setInterval(() => this._tick(), 1000);
        resolve();
      };
      ws.onerror = () => { /* onclose follows and says how */ };
      ws.onclose = ev => {
        clearTimeout(t);
        if (!settled) {
          settled = true;
          this.ended = true;
          reject(new RtcError(ErrorCode.SOCKET_CONNECT_FAIL, `signaling: cannot connect to ${this.url} (${ev.code})`));
          return;
        }
        this._ended(ev.code, ev.reason);
      };
      ws.onmessage = m => this._onMessage(m.data);
    });
  }

  get open_() { return this.ws && this.ws.readyState === 1 && !this.ended; }

  _onMessage(text) {
    this.lastRx = Date.now();
    let msg;
    try { msg = JSON.parse(text); } catch (e) { log.warn('signaling: not JSON', text); return; }
    if (msg.type === 'response') {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok) p.resolve(msg.data || {});
      else p.reject(serverError(msg));
    } else if (msg.type === 'event') {
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
      log.info('signaling: nothing received for', now - this.lastRx, 'ms: the connection is dead');
      try { this.ws.close(4000, 'dead'); } catch (e) { /* closing */ }
      this._ended(1006, 'no traffic');
      return;
    }
    if (!this.lastPing || now - this.lastPing >= PING_INTERVAL_MS) {
      this.lastPing = now;
      const t0 = performance.now();
      this.request('ping', {}, DEAD_AFTER_MS).then(() => { this.rtt = performance.now() - t0; }, () => {});
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
    if (this.ws) { this.ws.onmessage = null; this.ws.onclose = null; }
    if (!this.closedByUs) this.onLost({ code, reason });
  }

  /** Closes on purpose (after leave): onLost is not called. */
  close() {
    this.closedByUs = true;
    if (this.ws && this.ws.readyState <= 1) {
      try { this.ws.close(1000, 'bye'); } catch (e) { /* gone */ }
    }
    this._ended(1000, 'closed');
  }
}
