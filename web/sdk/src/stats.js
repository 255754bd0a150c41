// Network quality (the network-quality event) and audio levels from
// RTCPeerConnection.getStats(): per connection, the figures since the
// previous sample; audio levels per track.
const last = new WeakMap();

/** The raw counters of one connection. */
async function counters(pc) {
  const out = { at: performance.now(), rtt: null, rrRtt: null, sent: 0, bytesSent: 0, nacks: 0, remoteLost: 0,
    hasRR: false, received: 0, lost: 0, bytesReceived: 0, levels: new Map(), available: null };
  const report = await pc.getStats();
  report.forEach(s => {
    if (s.type === 'candidate-pair' && s.state === 'succeeded' && (s.nominated || s.selected)) {
      if (typeof s.currentRoundTripTime === 'number') out.rtt = s.currentRoundTripTime * 1000;
      if (typeof s.availableOutgoingBitrate === 'number') out.available = s.availableOutgoingBitrate;
    } else if (s.type === 'outbound-rtp') {
      out.sent += s.packetsSent || 0;
      out.bytesSent += s.bytesSent || 0;
      out.nacks += s.nackCount || 0;
    } else if (s.type === 'remote-inbound-rtp') {
      out.hasRR = true;
      out.remoteLost += Math.max(0, s.packetsLost || 0);
      if (typeof s.roundTripTime === 'number') out.rrRtt = Math.max(out.rrRtt || 0, s.roundTripTime * 1000);
    } else if (s.type === 'inbound-rtp') {
      out.received += s.packetsReceived || 0;
      out.lost += Math.max(0, s.packetsLost || 0);
      out.bytesReceived += s.bytesReceived || 0;
      if (s.kind === 'audio' && typeof s.audioLevel === 'number' && s.trackIdentifier) out.levels.set(s.trackIdentifier, s.audioLevel);
    } else if (s.type === 'media-source' && s.kind === 'audio' && typeof s.audioLevel === 'number' && s.trackIdentifier) {
      out.levels.set(s.trackIdentifier, s.audioLevel);
    }
  });
  return out;
}

/**
 * One sample of a connection: {rtt ms, loss 0..1, bitrate bps, available
 * bps (the browser's send estimate) or null, levels: Map track id → audio
 * level, state}; loss and bitrate over the time since the previous sample.
 */
export async function sample(pc, direction) {
  const c = await counters(pc);
  const p = last.get(pc);
  last.set(pc, c);
  const res = { rtt: c.rrRtt !== null ? c.rrRtt : c.rtt, loss: 0, bitrate: 0, available: c.available, levels: c.levels,
    state: pc.connectionState };
  if (!p) return res;
  const secs = Math.max(0.001, (c.at - p.at) / 1000);
  if (direction === 'up') {
    const sent = c.sent - p.sent;
    // Receiver reports tell the loss; without them, NACKed packets are the estimate.
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

/**
 * Quality from RTT and loss, on the 0..6 scale common to WebRTC SDKs:
 * 0 unknown, 1 excellent, 2 good, 3 poor, 4 bad, 5 very bad, 6 down.
 */
export function quality(rtt, loss, down) {
  if (down) return 6;
  if (rtt === null || rtt === undefined) return 0;
  const l = loss * 100;
  if (l <= 1 && rtt <= 100) return 1;
  if (l <= 3 && rtt <= 200) return 2;
  if (l <= 8 && rtt <= 400) return 3;
  if (l <= 15 && rtt <= 800) return 4;
  if (l <= 30) return 5;
  return 6;
}
