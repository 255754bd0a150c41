// One media connection of a Client under signaling protocol v2 (docs/API.md
// "Protocol v2"): the *send* RTCPeerConnection, carrying every published
// stream as sendonly transceivers, or the *recv* one, carrying every
// subscription as recvonly transceivers.  The client always offers and irtcd
// answers.  Negotiations of one connection run one at a time (run() queues
// them): an offer goes out in the request that changes the connection, and
// its answer is applied before the next offer is made.  A refused request
// rolls its offer back.  Stopped transceivers leave port-0 m-lines that the
// browser recycles for the next transceiver (under a new mid).
import { ErrorCode, RtcError } from './errors.js';
import { gatheringDone, log } from './util.js';

export const PC_CONFIG = { bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require', iceServers: [] };
const GATHER_WAIT_MS = 500;

/** True once a transceiver has been stopped (by us, or by an answer). */
export function isStopped(tr) {
  return !!(tr.stopped || tr.direction === 'stopped' || tr.currentDirection === 'stopped');
}

/** Stops the transceivers of a publication or subscription ({audio, video}). */
export function stopTransceivers(tx) {
  for (const kind of ['audio', 'video']) {
    const tr = tx && tx[kind];
    if (!tr || isStopped(tr)) continue;
    try { tr.stop(); } catch (e) {
      try { tr.direction = 'inactive'; } catch (e2) { /* closed */ }
    }
  }
}

/** The mids of a publication's or subscription's transceivers, as requests name them. */
export function midsOf(tx) {
  const mids = {};
  for (const kind of ['audio', 'video']) if (tx[kind] && tx[kind].mid !== null) mids[kind] = tx[kind].mid;
  return mids;
}

/**
 * Errors after which the server may or may not have applied the offer: the
 * two sides may disagree on what the connection carries.
 */
export function outcomeUnknown(e) {
  const c = e && e.getCode ? e.getCode() : 0;
  return !e.notSent && (c === ErrorCode.SOCKET_DISCONNECT || c === ErrorCode.SERVER_NO_RESPONSE);
}

export class Transport {
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
    this.negotiations = 0;  // answers applied (for tests and logs)
    this.iceRestarts = 0;
    this.recovering = false;
    this.desync = false;    // a request with an offer got no answer: the server's view may differ
    this.cleanupQueued = false;
    this.iceServers = [];   // TURN servers with credentials from the join answer (docs/API.md "iceServers")
  }

  /** New TURN credentials (join, resume, renew): used by the next connection and the current one's next gathering. */
  setIceServers(servers) {
    this.iceServers = Array.isArray(servers) ? servers : [];
    if (this.pc && this.pc.signalingState !== 'closed') {
      try { this.pc.setConfiguration(Object.assign(this.pc.getConfiguration(), { iceServers: this.iceServers })); } catch (e) {
        log.info('setConfiguration:', e && e.message);
      }
    }
  }

  /** Runs fn() after every negotiation queued before it; resolves or rejects with fn's result. */
  run(fn) {
    const p = this.queue.then(() => fn());
    this.queue = p.catch(() => {});
    return p;
  }

  /** The connection, created on first use (and after close()). */
  ensure() {
    if (this.pc && this.pc.signalingState !== 'closed') return this.pc;
    let pc;
    try {
      pc = new RTCPeerConnection(Object.assign({}, PC_CONFIG, { iceServers: this.iceServers }));
    } catch (e) { // e.g. the browser's limit of connections per page
      throw new RtcError(ErrorCode.ERR_CREATE_MEDIA_ENGINE, `RTCPeerConnection: ${e && e.message}`, { cause: e });
    }
    this.pc = pc;
    this.desync = false;
    pc.addEventListener('connectionstatechange', () => { if (this.pc === pc) this.onState(this, pc); });
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
      if (this.pc === pc && pc.signalingState === 'have-local-offer') {
        await pc.setLocalDescription({ type: 'rollback' }).catch(err => log.info('rollback:', err.message));
      }
      throw e;
    }
    if (this.pc !== pc || pc.signalingState !== 'have-local-offer') return data; // closed meanwhile
    await pc.setRemoteDescription({ type: 'answer', sdp: data.sdp });
    this.negotiations++;
    if (opts.iceRestart) this.iceRestarts++;
    return data;
  }

  /** Transceivers that still carry something (or are about to). */
  live() {
    if (!this.pc || this.pc.signalingState === 'closed') return [];
    return this.pc.getTransceivers().filter(tr => !isStopped(tr));
  }

  /** Some stopped transceiver still has its m-line: an offer would free it. */
  needsCleanup() {
    if (!this.pc || this.pc.signalingState === 'closed') return false;
    return this.pc.getTransceivers().some(tr => tr.mid !== null && (tr.stopped || tr.direction === 'stopped') &&
      tr.currentDirection !== 'stopped');
  }

  /** Closes the connection (the next negotiation makes a new one). */
  close() {
    const pc = this.pc;
    this.pc = null;
    this.desync = false;
    if (pc) try { pc.close(); } catch (e) { /* closed */ }
  }

  /** Closes the connection when nothing lives on it any more; true if it did. */
  closeIfEmpty() {
    if (!this.pc) return false;
    if (this.live().length > 0) return false;
    this.close();
    return true;
  }

  connected() { return !!this.pc && this.pc.connectionState === 'connected'; }
}

/** pc carries nothing and may need recovering: "connecting", "disconnected" or "failed". */
export function isStuck(pc) {
  const s = pc.connectionState;
  return s === 'connecting' || s === 'disconnected' || s === 'failed';
}

/** Resolves true once pc is connected (checked on every state change and every 250 ms), false after ms or when it closes. */
export function whenConnected(pc, ms) {
  if (pc.connectionState === 'connected') return Promise.resolve(true);
  return new Promise(resolve => {
    const t = setTimeout(() => done(false), ms);
    const poll = setInterval(check, 250);
    function done(v) {
      clearTimeout(t);
      clearInterval(poll);
      pc.removeEventListener('connectionstatechange', check);
      resolve(v);
    }
    function check() {
      if (pc.connectionState === 'connected') done(true);
      else if (pc.connectionState === 'closed' || pc.signalingState === 'closed') done(false);
    }
    pc.addEventListener('connectionstatechange', check);
  });
}
