// test_reach.js — issue 14's reachability tests: browsers that cannot send
// UDP to irtcd still call at 720p.  Real Chromium inside a network namespace
// (netlab.js) against irtcd on the veth's host-side address:
//   (a) ICE-TCP: the namespace drops all its outgoing UDP (nftables); two
//       pages publish 720p and subscribe to each other through the Web SDK;
//       each decodes the other's 720p and getStats' selected candidate pair
//       is TCP (local tcptype active, remote our passive host candidate).
//   (b) TURN: UDP and TCP to the media ports are both dropped; a Debian
//       coturn started here (plain process, temporary configuration,
//       use-auth-secret) on the host side; irtcd hands out the ephemeral
//       credentials (media.turn) and the SDK passes them as iceServers: the
//       same call works, over a relay candidate reached by TURN over TCP.
// Needs root (namespaces, nftables); (b) needs coturn's turnserver
// (tools/install-test-deps.sh).  REACH_ONLY=tcp|turn runs one part.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
let L, netlab;
try {
  L = require('./lib.js');
  netlab = require('./netlab.js');
  require('playwright-core');
} catch (e) {
  console.log('1..0 # SKIP playwright-core not installed (npm ci in tests/e2e)');
  process.exit(0);
}
const { ok, diag, sleep, waitFor } = L;
const why = netlab.unavailable();
if (why) {
  console.log(`1..0 # SKIP ${why}`);
  process.exit(0);
}
const TURNSERVER = '/usr/bin/turnserver';
const FULL_H = 720;

const openPage = L.openSdkPage, start = L.sdkStart;

// What a page's PeerConnections use and show: per connected PeerConnection
// the selected pair's candidates, and the tallest inbound video decoded.
const pageState = page => page.evaluate(async () => {
  const pairs = [];
  let h = 0, fd = 0;
  for (const pc of R.pcs) {
    if (pc.connectionState === 'closed') continue;
    const rep = await pc.getStats();
    rep.forEach(r => {
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        const p = rep.get(r.selectedCandidatePairId), l = p && rep.get(p.localCandidateId), m = p && rep.get(p.remoteCandidateId);
        if (p && l && m)
          pairs.push({ state: p.state, nominated: p.nominated, local: { protocol: l.protocol, type: l.candidateType,
            tcpType: l.tcpType, relayProtocol: l.relayProtocol }, remote: { protocol: m.protocol, type: m.candidateType,
            address: m.address, port: m.port }, sent: p.bytesSent, received: p.bytesReceived });
      }
      if (r.type === 'inbound-rtp' && r.kind === 'video' && (r.framesDecoded || 0) > 0 && (r.frameHeight || 0) >= h) {
        h = r.frameHeight; fd = r.framesDecoded;
      }
    });
  }
  return { pairs, h, fd, pcs: R.pcs.length };
});
const fmtPair = p => `${p.local.type}/${p.local.protocol}${p.local.tcpType ? ' ' + p.local.tcpType : ''}` +
  `${p.local.relayProtocol ? ' relay over ' + p.local.relayProtocol : ''} → ${p.remote.type}/${p.remote.protocol} ` +
  `${p.remote.address}:${p.remote.port} (${p.state}${p.nominated ? ', nominated' : ''})`;

// Two pages of one browser inside lab publish and subscribe to each other;
// true when both decode the other at 720p.  Asserts what the pairs are with isPair.
async function call(lab, d, label, isPair, pairWhat) {
  const browser = await L.launchBrowser({ executablePath: await lab.wrapper('/usr/bin/chromium'), realisticMedia: true });
  try {
    const base = `https://${lab.hostIp}:${d.httpsPort}`;
    const pages = [await openPage(browser, base, label + ' 1'), await openPage(browser, base, label + ' 2')];
    const room = label + Date.now().toString(36);
    const j = [];
    for (let i = 0; i < 2; i++) j.push(await start(pages[i], 'c', { channel: room, userId: `${label}${i + 1}` }));
    if (!ok(j.every(x => x === 'ok'), `${label}: both pages join and publish through the SDK (${j.join(', ')})`)) return;
    let st = [];
    const full = await waitFor(async () => {
      st = [await pageState(pages[0]), await pageState(pages[1])];
      return st.every(s => s.h === FULL_H);
    }, 60000, 1000);
    ok(full, `${label}: each page decodes the other's ${FULL_H}p (${st.map(s => s.h ? s.h + 'p' : 'nothing').join(', ')})`);
    const pairs = st.flatMap(s => s.pairs);
    for (const p of pairs) diag(`${label}: selected pair ${fmtPair(p)}, ${p.sent} bytes sent, ${p.received} received`);
    // Every PeerConnection (2 pages × publish + subscribe) is up on the expected kind of pair.
    // A selected pair shows "in-progress" while a consent check on it is outstanding.
    ok(pairs.length >= 4 && pairs.every(p => (p.state === 'succeeded' || (p.state === 'in-progress' && p.nominated)) && isPair(p)),
      `${label}: every selected candidate pair is ${pairWhat} (${pairs.length} pairs)`);
    return { pages, pairs };
  } finally {
    await browser.close().catch(() => {});
  }
}

const metric = (text, name) => text.split('\n').filter(l => l.startsWith(name + '{') || l.startsWith(name + ' '))
  .reduce((a, l) => a + Number(l.split(' ').pop()), 0);

async function partTcp() {
  const lab = await netlab.create('reach-tcp');
  let d = null;
  try {
    d = await L.startDaemon({ ips: [lab.hostIp], workers: 1 });
    await lab.block('udp');
    diag(`ICE-TCP: ${lab.ns} ${lab.nsIp} drops all outgoing UDP; irtcd on ${lab.hostIp}, media port ${d.mediaPort} (UDP and TCP)`);
    await call(lab, d, 'tcp', p => p.local.protocol === 'tcp' && p.remote.protocol === 'tcp' && p.remote.type === 'host' &&
      p.remote.port === d.mediaPort, 'TCP to the media port (ICE-TCP)');
    const s = await lab.stats();
    ok((s.up.blocked || 0) > 0, `the namespace really dropped UDP (${s.up.blocked || 0} packets)`);
    const m = (await L.request(d.base, 'GET', '/metrics')).body;
    const acc = metric(m, 'irtc_media_tcp_accepted_total'), rx = metric(m, 'irtc_media_tcp_rx_frames_total');
    ok(acc >= 4 && rx > 500, // four connections' media for the seconds the call lasted (808 to thousands)
      `irtcd counts the ICE-TCP connections and frames (${acc} accepted, ${rx} frames in, ` +
      `${metric(m, 'irtc_media_tcp_tx_dropped_total')} dropped for slow readers)`);
  } finally {
    if (d) await d.stop();
    await lab.destroy();
  }
}

async function partTurn() {
  if (!fs.existsSync(TURNSERVER)) {
    ok(true, `# SKIP TURN: ${TURNSERVER} not installed (apt-get install coturn; tools/install-test-deps.sh)`);
    return;
  }
  const lab = await netlab.create('reach-turn');
  let d = null, turn = null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irtc-turn-'));
  try {
    const turnPort = await L.freePort(1), secret = 'test-secret-' + Date.now().toString(36);
    // coturn on the host side of the veth: TCP and UDP listener, relays from
    // the host-side address (where irtcd's media ports are reachable).
    fs.writeFileSync(path.join(dir, 'turnserver.conf'), [
      `listening-ip=${lab.hostIp}`, `relay-ip=${lab.hostIp}`, `listening-port=${turnPort}`,
      'use-auth-secret', `static-auth-secret=${secret}`, 'realm=irtc.test', 'fingerprint',
      'no-tls', 'no-dtls', 'no-cli', 'no-multicast-peers', `allowed-peer-ip=${lab.hostIp}`,
      'min-port=49160', 'max-port=49200', `pidfile=${dir}/turnserver.pid`, `log-file=${dir}/turn.log`, 'simple-log',
      `userdb=${dir}/turndb`,
    ].join('\n') + '\n');
    turn = spawn(TURNSERVER, ['-c', path.join(dir, 'turnserver.conf')], { stdio: 'ignore' });
    d = await L.startDaemon({ ips: [lab.hostIp], workers: 1,
      mediaExtra: ['  turn:', `    urls: ["turn:${lab.hostIp}:${turnPort}?transport=tcp"]`, `    secret: "${secret}"`] });
    await lab.block('udp');
    await lab.block('tcp', [d.mediaPort]);
    diag(`TURN: ${lab.ns} drops outgoing UDP and TCP to port ${d.mediaPort}; coturn on ${lab.hostIp}:${turnPort} (TCP)`);
    await call(lab, d, 'turn', p => p.local.type === 'relay' && p.local.relayProtocol === 'tcp',
      'a relay candidate reached over TCP (TURN)');
    const s = await lab.stats();
    ok((s.up.blocked || 0) > 0, `the namespace really dropped UDP and TCP to the media port (${s.up.blocked || 0} packets)`);
  } finally {
    if (turn) turn.kill('SIGTERM');
    if (d) await d.stop();
    await lab.destroy();
    if (!process.env.KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const only = process.env.REACH_ONLY || '';
  if (only !== 'turn') await partTcp();
  if (only !== 'tcp') await partTurn();
}

L.runMain(main, netlab.closeAll);
