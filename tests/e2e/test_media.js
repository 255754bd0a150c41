// test_media.js — issue #4 end to end: two headless Chromium pages join one
// room through the signaling protocol with plain RTCPeerConnection, publish
// 720p camera + microphone and subscribe to each other through irtcd; plus
// the refusals (duplicate userId, 9th publisher), a killed tab and a REST
// releaseUser.  Figures (join → first frame, send bitrate at 15 s, irtcd CPU
// per forwarded packet) are printed as TAP diagnostics for BENCHMARKS.md.
'use strict';
const fs = require('fs');
const path = require('path');
let L;
try {
  L = require('./lib.js');
  require('playwright-core');
} catch (e) {
  console.log('1..0 # SKIP playwright-core not installed (npm ci in tests/e2e)');
  process.exit(0);
}
const { ok, diag, sleep, waitFor } = L;

async function openClient(ctx, d) {
  const page = await ctx.newPage();
  await page.goto(d.base + '/');
  await page.addScriptTag({ path: path.join(__dirname, 'rtc-client.js') });
  await page.evaluate(() => { window.c = new SignalClient(); return window.c.connect(); });
  return page;
}

function join(page, t) {
  return page.evaluate(t => window.c.request('join', { appId: t.appId, channelId: t.channelId, userId: t.userId,
    signature: t.signature, ctime: t.ctime, role: t.role }), t);
}

function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks
}

async function metric(d, name) {
  const r = await L.request(d.base, 'GET', '/metrics');
  let sum = 0;
  for (const line of r.body.split('\n'))
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
  return sum;
}

async function main() {
  const d = await L.startDaemon({ workers: 2 });
  const browser = await L.launchBrowser({ realisticMedia: true });
  let victim = null;
  try {
    const app = d.app();
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const A = await openClient(ctx, d), B = await openClient(ctx, d);

    // ---- join ----
    const joinStart = Date.now();
    const rA = await join(A, d.token(app.appId, 'r1', 'alice'));
    ok(rA.ok && rA.data.peers.length === 0, 'alice joins an empty room');
    const rB = await join(B, d.token(app.appId, 'r1', 'bob'));
    ok(rB.ok && rB.data.peers.some(p => p.userId === 'alice'), 'bob joins and sees alice in the join response');
    ok(await A.evaluate(() => window.c.waitEvent('peer-join', d => d.userId === 'bob').then(() => true, () => false)),
      'alice gets peer-join for bob');
    const C = await openClient(ctx, d);
    const dup = await join(C, d.token(app.appId, 'r1', 'alice'));
    ok(!dup.ok && dup.errorCode === 200011, `a second "alice" is refused with 200011 (got ${dup.errorCode})`);
    await C.close();

    // ---- publish both, subscribe crosswise ----
    const pA = await A.evaluate(() => window.c.publish());
    ok(pA.ok && /a=setup:passive/.test(pA.data.sdp) && /a=ice-lite/.test(pA.data.sdp), 'alice publishes: ICE-lite, DTLS passive answer');
    const pB = await B.evaluate(() => window.c.publish());
    ok(pB.ok, 'bob publishes');
    const sA = pA.data.streamId, sB = pB.data.streamId;
    ok(await B.evaluate(id => window.c.waitEvent('stream-added', d => d.stream.streamId === id).then(() => true, () => false), sA),
      'bob gets stream-added for alice');
    const subB = await B.evaluate(id => window.c.subscribe(id), sA);
    const subA = await A.evaluate(id => window.c.subscribe(id), sB);
    ok(subA.ok && subB.ok, 'both subscribe to each other');

    const inbound = async (page, id) => page.evaluate(id => window.c.stats('sub-' + id), id);
    const good = await waitFor(async () => {
      const s = await inbound(B, sA);
      return s['in-video'] && s['in-video'].frames > 30 && s['in-video'].width >= 1280 ? s : null;
    }, 20000, 500);
    ok(good, `bob decodes alice's video at ${good ? good['in-video'].width + 'x' + good['in-video'].height : 'no frames'}`);
    const firstFrame = await B.evaluate(id => window.c.remoteVideo[id].firstFrameMs, sA);
    diag(`join → first remote frame: ${Date.now() - joinStart} ms for the whole sequence; subscribe → first frame ${Math.round(firstFrame)} ms`);
    const goodA = await waitFor(async () => {
      const s = await inbound(A, sB);
      return s['in-video'] && s['in-video'].frames > 30 && s['in-video'].width >= 1280 ? s : null;
    }, 20000, 500);
    ok(goodA, 'alice decodes bob\'s video at 1280x720 too');
    ok(goodA && goodA['in-audio'] && goodA['in-audio'].packets > 50, `audio arrives (${goodA && goodA['in-audio'] ? goodA['in-audio'].packets : 0} packets)`);
    const playing = await B.evaluate(id => {
      const v = window.c.remoteVideo[id].video;
      return new Promise(r => { const t = v.currentTime; setTimeout(() => r(v.currentTime > t && v.videoWidth >= 1280), 1000); });
    }, sA);
    ok(playing, 'the <video> element plays (currentTime advances, videoWidth ≥ 1280)');

    // ---- the send rate Chrome reaches within 15 s of publishing ----
    const outBytes = async () => (await A.evaluate(id => window.c.stats('pub-' + id), sA))['out-video'].bytes;
    const sincePublish = await A.evaluate(() => performance.now() - window.c.pubStart);
    await sleep(Math.max(0, 13000 - sincePublish));
    const b0 = await outBytes(), t0 = Date.now();
    const pid = d.child.pid, c0 = cpuTicks(pid), f0 = await metric(d, 'irtc_media_tx_packets_total');
    await sleep(2000);
    const pubStats = await A.evaluate(id => window.c.stats('pub-' + id), sA);
    const b1 = pubStats['out-video'].bytes, t1 = Date.now();
    const limitation = pubStats['out-video'].limitation, estimate = pubStats.availableOutgoingBitrate || 0;
    const c1 = cpuTicks(pid), f1 = await metric(d, 'irtc_media_tx_packets_total');
    const bps = (b1 - b0) * 8 / ((t1 - t0) / 1000);
    diag(`alice's 720p send rate 13-15 s after publishing: ${(bps / 1e6).toFixed(2)} Mbps ` +
      `(Chrome's estimate ${(estimate / 1e6).toFixed(2)} Mbps, quality limited by: ${limitation})`);
    // The 1.5 Mbps is a benchmark figure (make bench, BENCHMARKS.md:
    // 2.4-2.5 Mbps on an idle machine).  What the suite asserts is that
    // congestion control works: without usable feedback Chrome's estimate
    // falls from its 300 kbps start to ~84 kbps and stays there.  On a busy
    // machine Chrome's capture and encoder get too little CPU to fill even a
    // good estimate (0.27 and 0.16 Mbps sent, with an estimate of 0.49 Mbps and
    // no quality limitation reported, at a load of 20 on two cores): the send
    // rate then measures the machine.  So: a send rate of 0.8 Mbps, or an
    // estimate that climbed above its start (which broken feedback never
    // gives).  The send rate alone needs a machine whose two cores the test
    // has to itself.
    ok(bps >= 0.8e6 || estimate > 0.3e6,
      `congestion control works: Chrome sends ≥ 0.8 Mbps, or its estimate climbed above its 300 kbps start ` +
      `(${(bps / 1e6).toFixed(2)} Mbps sent, estimate ${(estimate / 1e6).toFixed(2)} Mbps)`);
    const ticks = c1 - c0, pkts = f1 - f0;
    diag(`irtcd CPU: ${(ticks * 10 / 2).toFixed(0)} ms per s over ${pkts} packets sent → ${(ticks * 10000 / Math.max(1, pkts)).toFixed(1)} µs per sent packet (all work included)`);

    // ---- mute relays ----
    await A.evaluate(() => window.c.request('mute', { kind: 'video' }));
    ok(await B.evaluate(() => window.c.waitEvent('mute-video', d => d.userId === 'alice').then(() => true, () => false)),
      'mute-video reaches the other side');

    // ---- closing a PeerConnection (DTLS close_notify) is not a lost network ----
    await A.evaluate(id => window.c.pcs['sub-' + id].close(), sB);
    await sleep(2000);
    const aliceGone = await B.evaluate(() => window.c.events.some(e => e.event === 'peer-leave' && e.data.userId === 'alice'));
    ok(!aliceGone, 'alice closing one PeerConnection does not remove her from the room');

    // ---- the publisher limit: a 9th publisher is refused ----
    const P = await openClient(ctx, d);
    const limit = await P.evaluate(async tokens => {
      const res = [];
      for (const t of tokens) {
        const c = new SignalClient();
        await c.connect();
        const r = await c.request('join', { appId: t.appId, channelId: t.channelId, userId: t.userId, signature: t.signature, role: t.role });
        res.push(r.ok ? 'ok' : r.errorCode);
      }
      return res;
    }, Array.from({ length: 9 }, (_, i) => d.token(app.appId, 'r-limit', 'p' + i, 0)));
    ok(limit.slice(0, 8).every(r => r === 'ok') && limit[8] === 200019, `8 publishers join, the 9th gets 200019 (${limit.join(',')})`);
    await P.close();

    // ---- a killed tab: the others see peer-leave (reason 7) within 35 s ----
    victim = await L.launchKillableBrowser({});
    const vctx = await victim.browser.newContext({ ignoreHTTPSErrors: true });
    const V = await openClient(vctx, d);
    const rV = await join(V, d.token(app.appId, 'r1', 'carol'));
    ok(rV.ok, 'carol joins from another browser');
    await V.evaluate(() => window.c.publish());
    await A.evaluate(() => window.c.waitEvent('peer-join', d => d.userId === 'carol'));
    const killedAt = Date.now();
    victim.kill();
    const leave = await A.evaluate(() => window.c.waitEvent('peer-leave', d => d.userId === 'carol', 35000).then(d => d, () => null));
    ok(leave && leave.reason.code === 7, `a killed tab: peer-leave reason ${leave ? leave.reason.code : 'none'} after ${Date.now() - killedAt} ms`);
    await victim.close();
    victim = null;

    // ---- REST releaseUser kicks bob ----
    const tok = await L.request(d.base, 'POST', '/oauth2/oauth/rest_token', { client_id: 'isdp-saas-openapi',
      client_secret: 'isdp-saas-openapi', grant_type: 'password', username: app.appId, password: app.appToken });
    const rel = await L.request(d.base, 'POST', '/openapi/v1/rtcLive/releaseUser',
      { appId: app.appId, channelId: 'r1', userId: 'bob' }, { authorization: 'bearer ' + (tok.json || {}).access_token });
    ok(rel.json && String(rel.json.errorCode) === '0', `releaseUser answers errorCode 0 (${rel.body.slice(0, 120)})`);
    ok(await B.evaluate(() => window.c.waitEvent('client-banned', () => true, 5000).then(() => true, () => false)), 'bob gets client-banned');
    const kicked = await A.evaluate(() => window.c.waitEvent('peer-leave', d => d.userId === 'bob', 5000).then(d => d, () => null));
    ok(kicked && kicked.reason.code === 5, 'alice sees bob leave with reason 5');

    // ---- leave ----
    const left = await A.evaluate(() => window.c.request('leave'));
    ok(left.ok, 'alice leaves');
    const h = await L.request(d.base, 'GET', '/healthz');
    ok(h.status === 200, 'the daemon is healthy after all of it');
  } finally {
    if (victim) await victim.close();
    await browser.close().catch(() => {});
    const rc = await d.stop();
    ok(rc === 0, `irtcd stops cleanly (exit ${rc})`);
  }
}

L.runMain(main);
