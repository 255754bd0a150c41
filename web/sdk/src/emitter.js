// A small event emitter: a handler that throws is reported on the console
// and does not stop the others (nor the SDK).
export class Emitter {
  constructor() { this._handlers = new Map(); }
  on(event, handler) {
    if (typeof handler !== 'function') return;
    if (!this._handlers.has(event)) this._handlers.set(event, []);
    this._handlers.get(event).push(handler);
  }
  off(event, handler) {
    const list = this._handlers.get(event);
    if (!list) return;
    if (handler === undefined) { this._handlers.delete(event); return; }
    const i = list.indexOf(handler);
    if (i >= 0) list.splice(i, 1);
  }
  listenerCount(event) { const l = this._handlers.get(event); return l ? l.length : 0; }
  emit(event, payload) {
    const list = this._handlers.get(event);
    if (!list) return;
    for (const h of list.slice()) {
      try { h(payload); } catch (e) { console.error(`[ISDPRTC] a "${event}" handler threw`, e); }
    }
  }
}
