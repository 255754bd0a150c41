// test_sdk.js — issue #5: the Web SDK (web/sdk/isdprtc.js, global ISDPRTC)
// in Debian's headless Chromium against a real irtcd, used the way the
// access guide's sample code uses it (sdk-harness.js): two then four pages
// in one room see and play each other at 720p; mute, unpublish, leave,
// REST releaseUser, screen share, 1080p, 3A and Opus/48 kHz, several rooms
// in one page, network-quality and audio-volume, signature renewal, the
// signaling socket lost and resumed (and lost beyond the window: joined
// again), initialize() without a camera, the ES module build, and the demo
// page with two participants (screenshot in tests/e2e/out/demo.png).
// At most four pages at once (the machine has 2 cores).  Prints TAP.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
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
const OUT = path.join(__dirname, 'out');
// After a cut that also refuses new connections for 2 s, the SDK retries at
// 0, 0.5, 1.5 and 3.5 s (its back-off), so a resume lands ~4 s in on an
// idle machine; 6 s left a busy one (four 720p pages on two cores) no time
// for the TLS handshake and the request, and carol left (test 21, then 38).
// At a load of 15 the first upgrade after the cut reached irtcd 9.5 s in
// (Chromium delays WebSocket connections to an endpoint that just refused
// some).  So the test uses production's default window, 15 s.
const RESUME_WINDOW_S = 15;

const { openPage, start, events, waitEvent, allPlaying, outbound, fmt } = require('./sdk-page.js');

// The guide's token algorithm (§7.4), for a token dated in the past; it names
// the room's media endpoint ep ({host, port}, as irtcd's own token: the server checks it).
function forgeToken(app, channelId, userId, timeStamp, ep) {
  const p = { userId, channelId, host: ep.host, port: String(ep.port), role: '1', tenantId: app.tenantId || '', appId: app.appId, timeStamp };
  const msg = Object.keys(p).sort().map(k => `${k}=${p[k]}`).join('&');
  const sig = crypto.createHmac('sha256', app.accessKey + String(timeStamp)).update(msg, 'utf8').digest('base64');
  const body = `{"timeStamp":${timeStamp},"role":"${p.role}","port":"${p.port}","appId":"${p.appId}","host":"${p.host}",` +
    `"tenantId":"${p.tenantId}","userId":"${userId}","channelId":"${channelId}"}`;
  return Buffer.from(body + '@#@' + sig).toString('base64');
}

// A TCP proxy in front of irtcd's HTTPS port: the test cuts a page's
// signaling connection (both ends see the TCP connection end, no close frame)
// and refuses new ones for a while, as a network blip would.
function tcpProxy(targetPort) {
  const socks = new Set();
  let blockedUntil = 0;
  const server = net.createServer(c => {
    if (Date.now() < blockedUntil) { c.destroy(); return; }
    const u = net.connect(targetPort, '127.0.0.1');
    socks.add(c); socks.add(u);
    c.pipe(u); u.pipe(c);
    const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
    c.on('error', end); u.on('error', end); c.on('close', end); u.on('close', end);
  });
  return new Promise(res => server.listen(0, '127.0.0.1', () => res({
    port: server.address().port,
    cut(blockMs) { blockedUntil = Date.now() + blockMs; for (const s of socks) s.destroy(); socks.clear(); },
    close() { for (const s of socks) s.destroy(); server.close(); },
  })));
}

async function restToken(d, app) {
  const r = await L.request(d.base, 'POST', '/oauth2/oauth/rest_token', { client_id: 'isdp-saas-openapi',
    client_secret: 'isdp-saas-openapi', grant_type: 'password', username: app.appId, password: app.appToken });
  return (r.json || {}).access_token;
}

async function main() {
  const t0 = Date.now();
  fs.mkdirSync(OUT, { recursive: true });
  const d = await L.startDaemon({ workers: 2, extraLimits: [`signal_resume_window: ${RESUME_WINDOW_S}s`] });
  const browser = await L.launchBrowser({});
  let proxy = null, browser2 = null;
  try {
    const app = d.app();
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });

    // ---- the entry points ----
    const A = await openPage(ctx, d, 'alice');
    const api = await A.evaluate(async () => ({
      keys: Object.keys(ISDPRTC).sort(), version: ISDPRTC.VERSION, sys: await ISDPRTC.checkSystemRequirements(),
      devices: (await ISDPRTC.getDevices()).map(x => x.kind),
      esm: await import('/sdk/isdprtc.esm.js').then(m => m.default.VERSION === ISDPRTC.VERSION && typeof m.createClient === 'function'),
    }));
    ok(['checkSystemRequirements', 'createClient', 'createStream', 'getDevices', 'VERSION'].every(k => api.keys.includes(k)),
      `ISDPRTC has the guide's five entries (${api.keys.join(', ')})`);
    ok(/^\d+\.\d+\.\d+$/.test(api.version) && api.sys === true, `VERSION ${api.version}; checkSystemRequirements() resolves true`);
    ok(api.devices.includes('videoinput') && api.devices.includes('audioinput'), 'getDevices() lists the (fake) camera and microphone');
    ok(api.esm, 'the ES module build imports (default export and named exports)');
    const badJoin = await A.evaluate(() => ISDPRTC.createClient({ appId: 'a', domain: location.host })
      .join('bad room!', { userId: 'u', signature: 's' }).then(() => 'joined', e => e.getCode() + ' ' + e.getMsg()));
    ok(/^200006 /.test(badJoin), `join() refuses a channelId outside [A-Za-z0-9_-] (${badJoin})`);

    // ---- two pages, the guide's flow ----
    const B = await openPage(ctx, d, 'bob');
    const sa = await start(A, 'c', { channel: 'room1', userId: 'alice' });
    const sb = await start(B, 'c', { channel: 'room1', userId: 'bob' });
    ok(sa === 'ok' && sb === 'ok', `alice and bob join, initialize and publish (${sa}, ${sb})`);
    // Bob's downlink as the server sees it, every 3 s: printed if a check of what bob plays fails.
    const bobDown = [];
    const bobTimer = setInterval(() => B.evaluate(() => H.clients.c && H.clients.c._serverStats.recv).then(r => {
      if (r) bobDown.push(`${Math.round((Date.now() - t0) / 1000)}s:${r.availableKbps}k/${r.rttMs}ms/${r.lossPct}%`);
    }, () => {}), 3000);
    bobTimer.unref(); // ends with the test
    // Printed when bob's receiving connection is not connected (the known problem above).
    const bobDiagIfStuck = async () => {
      const st = await B.evaluate(() => H.clients.c._tx.recv.pc && H.clients.c._tx.recv.pc.connectionState).catch(() => null);
      diag(`bob's receiving connection after the renegotiations: ${st}`);
      if (st && st !== 'connected') await bobDiag();
    };
    const bobDiag = async () => {
      diag(`bob's downlink (server's estimate/rtt/loss, every 3 s): ${bobDown.slice(-40).join(' ')}`);
      diag(`bob's connections: ${JSON.stringify(await B.evaluate(() => Object.fromEntries(Object.entries(H.clients.c._tx)
        .map(([k, t]) => [k, t.pc ? t.pc.connectionState + '/' + t.pc.iceConnectionState : 'none']))).catch(e => String(e)))}`);
      const m = await L.request(d.base, 'GET', '/metrics').catch(() => ({ body: '' }));
      diag('metrics: ' + (m.body || '').split('\n').filter(x => /^irtc_media_(drop|transports|keyframe|nack)/.test(x)).join('; '));
      diag('irtcd log (end):\n' + d.log().split('\n').slice(-40).join('\n'));
    };
    let pa = await allPlaying(A, 'c', ['bob'], 1280);
    let pb = await allPlaying(B, 'c', ['alice'], 1280);
    ok(pa.good && pb.good, `each plays the other's 720p video in a <video> in its div (alice sees ${fmt(pa.last)}; bob sees ${fmt(pb.last)})`);
    ok(await waitEvent(A, 'c', 'peer-join', e => e.userId === 'bob'), 'alice gets peer-join for bob');
    ok(await waitEvent(B, 'c', 'peer-join', e => e.userId === 'alice'), 'bob, joining later, gets peer-join for alice too');
    ok(await waitEvent(A, 'c', 'stream-published'), 'stream-published for the local stream');
    const media = await A.evaluate(async () => {
      const s = H.locals.c, a = s.getAudioTrack().getSettings(), v = s.getVideoTrack().getSettings();
      const pc = H.clients.c._pubs.get(s).pc; // white box: the codec actually negotiated
      const codecs = [];
      (await pc.getStats()).forEach(x => { if (x.type === 'codec') codecs.push(`${x.mimeType}/${x.clockRate}`); });
      return { a, v, codecs, info: s.getStreamInfo(), type: s.getType(), id: s.getId(), user: s.getUserId() };
    });
    ok(media.a.echoCancellation === true && media.a.noiseSuppression === true && media.a.autoGainControl === true,
      `3A on by default (echoCancellation ${media.a.echoCancellation}, noiseSuppression ${media.a.noiseSuppression}, autoGainControl ${media.a.autoGainControl})`);
    ok(media.codecs.includes('audio/opus/48000'), `Opus at 48 kHz is sent (${media.codecs.join(', ')})`);
    ok(media.v.width === 1280 && media.v.height === 720, `the camera captures 1280x720 by default (${media.v.width}x${media.v.height})`);
    ok(media.type === 'local' && media.user === 'alice' && media.info.hasVideo && media.info.streamId, `local stream: getType() 'local', getUserId(), getStreamInfo() ${JSON.stringify(media.info).slice(0, 120)}`);

    // ---- four pages ----
    const C = await openPage(ctx, d, 'carol');
    const D = await openPage(ctx, d, 'dave');
    proxy = await tcpProxy(d.httpsPort);
    const sc = await start(C, 'c', { channel: 'room1', userId: 'carol', domain: `127.0.0.1:${proxy.port}` });
    const sd = await start(D, 'c', { channel: 'room1', userId: 'dave' });
    ok(sc === 'ok' && sd === 'ok', `carol (through a TCP proxy) and dave join (${sc}, ${sd})`);
    const who = { A: 'alice', B: 'bob', C: 'carol', D: 'dave' };
    const pages = { A, B, C, D };
    const everyone = Object.values(who);
    // Any layer: four pages encoding three simulcast layers and decoding three
    // streams each are more than two cores carry at 720p, and the top layer
    // is the first thing a CPU-limited encoder drops (test_sdk_v2.js checks
    // the top layer with two publishers).
    const res = await Promise.all(Object.entries(pages).map(([k, p]) => allPlaying(p, 'c', everyone.filter(u => u !== who[k]), 320, 40000)));
    ok(res.every(r => r.good), `four pages: each plays the other three (${Object.keys(pages).map((k, i) => `${who[k]} sees ${fmt(res[i].last)}`).join('; ')})`);
    diag(`four pages playing ${((Date.now() - t0) / 1000).toFixed(1)} s into the test`);

    // ---- additions: network-quality, audio-volume ----
    await A.evaluate(() => { H.clients.c.on('audio-volume', () => {}); });
    const nq = await waitFor(() => A.evaluate(() => H.last && H.last['c:network-quality']), 8000);
    ok(nq && nq.uplinkNetworkQuality >= 1 && nq.uplinkNetworkQuality <= 6 && nq.downlinkNetworkQuality >= 1 && nq.uplink.rtt !== null,
      `network-quality: uplink ${nq && nq.uplinkNetworkQuality}, downlink ${nq && nq.downlinkNetworkQuality} (${JSON.stringify(nq && { up: nq.uplink, down: nq.downlink })})`);
    const av = await waitFor(() => A.evaluate(() => H.last && H.last['c:audio-volume']), 5000);
    // (The fake microphone beeps briefly once a second: 2 Hz sampling may miss it; stop() below samples faster.)
    await sleep(3000);
    const heard = await A.evaluate(() => H.maxVolume);
    ok(av && av.result.length === 4 && av.result.every(r => r.audioVolume >= 0 && r.audioVolume <= 100 && r.level >= 0 && r.level <= 1),
      `audio-volume lists the local and three remote streams, audioVolume 0..100 (loudest in 3 s: ${JSON.stringify(heard)})`);

    // ---- the signaling socket lost and resumed within the window ----
    const cutAt = Date.now();
    proxy.cut(2000);
    const recon = await waitEvent(C, 'c', 'connection-state-changed', e => e.curState === 'CONNECTED' && e.reason === 'RECONNECTED', 15000);
    ok(recon, `carol's socket is cut and refused for 2 s: the SDK reconnects and resumes (after ${recon ? recon.t - cutAt : '-'} ms)`);
    ok(await waitEvent(C, 'c', 'connection-state-changed', e => e.curState === 'RECONNECTING', 100), 'with connection-state-changed RECONNECTING then CONNECTED');
    await sleep(RESUME_WINDOW_S * 1000 + 1000);
    const sawLeave = await A.evaluate(() => H.events.filter(e => e.ev === 'peer-leave' && e.userId === 'carol').length);
    ok(sawLeave === 0, 'the others never see carol leave');
    const cmute = await C.evaluate(() => H.locals.c.muteAudio());
    ok(cmute === true && await waitEvent(A, 'c', 'mute-audio', e => e.userId === 'carol'), 'carol\'s muteAudio() after resuming reaches alice');
    const still = await allPlaying(A, 'c', ['carol'], 320, 5000);
    ok(still.good, `carol's video never stopped for alice (${fmt(still.last)})`);

    // ---- mute-video reaches the other side ----
    const muted = await A.evaluate(() => H.locals.c.muteVideo());
    const mv = await waitEvent(B, 'c', 'mute-video', e => e.userId === 'alice');
    const upd = await waitEvent(B, 'c', 'stream-updated', e => e.userId === 'alice');
    const info = await B.evaluate(() => { const st = Array.from(H.clients.c._remote.values()).find(s => s.getUserId() === 'alice'); return st && st.getStreamInfo(); });
    ok(muted === true && mv && mv.roomId === 'room1' && upd && info && info.videoMuted === true,
      `muteVideo() → true; bob gets mute-video {roomId, userId} and stream-updated (videoMuted ${info && info.videoMuted})`);
    await A.evaluate(() => H.locals.c.unmuteVideo());
    ok(await waitEvent(B, 'c', 'unmute-video', e => e.userId === 'alice'), 'unmuteVideo() → unmute-video');

    // ---- playback controls on a remote stream; partial unsubscribe; argument checks ----
    const ctl = await B.evaluate(async () => {
      const st = H.remote['c:alice:main'], div = `c-remote-${st.getId()}`, el = () => document.querySelector(`#${div} video`);
      const r = {};
      st.stop({ video: true });
      r.hidden = el().style.visibility === 'hidden';
      await st.resume({ video: true });
      r.shown = el().style.visibility === '';
      st.setAudioVolume(30);
      r.volume = el().volume;
      let max = 0, bad = 0;
      for (let i = 0; i < 15; i++) { const l = st.getAudioLevel(); if (!(l >= 0 && l <= 1)) bad++; max = Math.max(max, l); await new Promise(x => setTimeout(x, 100)); }
      r.levelOk = bad === 0;
      r.maxLevel = max;
      st.stop();
      r.removed = !el();
      await st.play(div, { objectFit: 'cover', muted: true });
      r.replayed = !!el() && el().style.objectFit === 'cover';
      const client = H.clients.c;
      r.both = await client.subscribe(st, { audio: false, video: false }).then(() => 'ok', e => e.getCode());
      await client.unsubscribe(st, { video: true });
      r.audioOnly = !!st.getAudioTrack() && !st.getVideoTrack();
      await client.subscribe(st);
      r.again = !!st.getAudioTrack() && !!st.getVideoTrack();
      const bad2 = ISDPRTC.createStream({ video: true, cameraId: 'no-such-camera' });
      r.over = await bad2.initialize().then(() => 'resolved', e => e.getMediaCaptureResultByType('video').error.getMsg());
      return r;
    });
    ok(ctl.hidden && ctl.shown && ctl.removed && ctl.replayed, 'stop({video}) hides and resume({video}) shows the video; stop() removes the <video>, play() again makes a new one');
    ok(Math.abs(ctl.volume - 0.3) < 0.01 && ctl.levelOk, `setAudioVolume(30) → volume 0.3; getAudioLevel() stays in 0..1 (max ${ctl.maxLevel.toFixed(3)})`);
    ok(ctl.both === 200006, `subscribe with video and audio both false: 200006 (${ctl.both})`);
    ok(ctl.audioOnly && ctl.again, 'unsubscribe({video: true}) keeps the audio; subscribe() again brings both');
    ok(ctl.over === 'OverConstrainedError', `a cameraId that does not exist: initialize() rejects with OverConstrainedError (${ctl.over})`);

    // ---- switchRole: a publisher (0) receives nothing ----
    await D.evaluate(() => H.clients.c.switchRole(0));
    const gone0 = await waitFor(async () => (await events(D, 'c', 'stream-removed')).length >= 3, 5000);
    ok(gone0, 'dave switches to role 0: stream-removed for the streams he received');
    await D.evaluate(() => H.clients.c.switchRole(1));
    const back1 = await allPlaying(D, 'c', ['alice', 'bob', 'carol'], 320, 30000);
    ok(back1.good, `and back to 1: stream-added again, and he plays the others again (${fmt(back1.last)})`);

    // ---- a failed media connection: ICE restart on the same connection ----
    const before = (await events(A, 'c', 'stream-added')).filter(e => e.userId === 'bob').length;
    const restart = await B.evaluate(async () => {
      const t = H.clients.c._tx.send, pc = t.pc; // white box: make the browser report the connection failed
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1], n = t.iceRestarts;
      Object.defineProperty(pc, 'connectionState', { get: () => 'failed', configurable: true });
      pc.dispatchEvent(new Event('connectionstatechange'));
      for (let i = 0; i < 100 && t.iceRestarts === n; i++) await new Promise(r => setTimeout(r, 100));
      delete pc.connectionState;
      for (let i = 0; i < 100 && t.recovering; i++) await new Promise(r => setTimeout(r, 100));
      return { same: t.pc === pc, state: pc.connectionState, newUfrag: /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1] !== ufrag };
    });
    const replays = await allPlaying(A, 'c', ['bob'], 320, 20000);
    const readded = (await events(A, 'c', 'stream-added')).filter(e => e.userId === 'bob').length > before;
    diag(`bob's ICE restart done ${((Date.now() - t0) / 1000).toFixed(0)} s into the test`);
    ok(restart.same && restart.newUfrag && restart.state === 'connected' && !readded && replays.good,
      `bob's send connection reports "failed": the SDK restarts ICE on it (${JSON.stringify(restart)}) and alice keeps receiving the same stream (${fmt(replays.last)})`);

    // ---- unpublish, leave, releaseUser ----
    await D.evaluate(() => H.clients.c.unpublish(H.locals.c));
    ok(await waitEvent(A, 'c', 'stream-removed', e => e.userId === 'dave'), 'dave unpublishes: alice gets stream-removed');
    await D.evaluate(() => H.clients.c.leave());
    const dl = await waitEvent(A, 'c', 'peer-leave', e => e.userId === 'dave');
    ok(dl && dl.reason && dl.reason.code === 0, `dave leaves: peer-leave with reason ${dl && JSON.stringify(dl.reason)}`);
    const tok = await restToken(d, app);
    const relAt = Date.now();
    const rel = await L.request(d.base, 'POST', '/openapi/v1/rtcLive/releaseUser', { appId: app.appId, channelId: 'room1', userId: 'carol' },
      { authorization: 'bearer ' + tok });
    ok(rel.json && String(rel.json.errorCode) === '0', 'REST releaseUser carol');
    const banned = await waitEvent(C, 'c', 'client-banned');
    ok(banned && banned.reason && banned.reason.code === 5, `carol gets client-banned (${JSON.stringify(banned)})`);
    // Only the leave this call caused (an earlier one, if any, is test 21's to report).
    const cl = await waitEvent(A, 'c', 'peer-leave', e => e.userId === 'carol' && e.t >= relAt);
    ok(cl && cl.reason.code === 5, `the others get peer-leave reason 5 (${cl && JSON.stringify(cl.reason)})`);
    await D.close();
    await C.close();
    proxy.close();
    proxy = null;

    // ---- screen share beside the camera ----
    // A new subscriber, hank, watches from here on, so that these checks do not depend
    // on what the renegotiations above left of bob's receiving connection; if that is
    // not connected, bob's downlink, connection states and the daemon log are printed
    // (it was once left in DTLS "connecting": docs/TESTING.md, "Known problems").
    const Hk = await openPage(ctx, d, 'hank');
    const sh = await start(Hk, 'c', { channel: 'room1', userId: 'hank', publish: false });
    if (sh !== 'ok') diag(`hank's join: ${sh}`);
    if (B.isClosed() === false) await bobDiagIfStuck();
    const ss = await A.evaluate(async () => {
      const screen = ISDPRTC.createStream({ screen: true, userId: 'alice' });
      await screen.initialize();
      await H.clients.c.publish(screen);
      H.locals.screen = screen;
      return screen.getVideoTrack().getSettings().width;
    });
    const aux = await waitEvent(Hk, 'c', 'stream-subscribed', e => e.userId === 'alice' && e.type === 'auxiliary');
    const auxPlay = await allPlaying(Hk, 'c', ['alice'], 1, 15000, { type: 'auxiliary' }); // the camera plays already
    ok(aux && auxPlay.last.filter(v => v.userId === 'alice').length === 2 && auxPlay.last.some(v => v.type === 'auxiliary' && v.width > 0 && v.advancing),
      `alice shares her screen (${ss} px wide) beside her camera: hank subscribes to it as getType() 'auxiliary' and plays it (${auxPlay.last.map(v => v.type + ' ' + v.width).join(', ')})`);
    await A.evaluate(() => H.clients.c.unpublish(H.locals.screen).then(() => H.locals.screen.close()));
    ok(await waitEvent(Hk, 'c', 'stream-removed', e => e.type === 'auxiliary'), 'stopping the share: stream-removed for the auxiliary stream');

    // ---- 1080p on request; several rooms in one page; signature renewal ----
    // Another browser: Chromium opens the shared fake camera once, at the first page's size.
    browser2 = await L.launchBrowser({});
    const ctx2 = await browser2.newContext({ ignoreHTTPSErrors: true });
    const E = await openPage(ctx2, d, 'erin');
    const se = await start(E, 'c', { channel: 'room1', userId: 'erin', stream: { resolution: '1080p' } });
    const ew = await E.evaluate(() => H.locals.c.getVideoTrack().getSettings());
    // The widest layer erin's encoder is sending now: on a loaded two-core machine Chromium's
    // CPU adaptation may stop the 1080p layer, and then the server cannot forward it.
    const erinTop = async () => {
      const a = await outbound(E, 'c');
      await sleep(1000);
      const b = await outbound(E, 'c');
      const live = Object.keys(b).filter(r => a[r] && b[r].frames > a[r].frames);
      return { w: Math.max(0, ...live.map(r => b[r].w)), limit: Object.values(b).map(x => x.limit).join(',') };
    };
    // Hank already plays several videos: erin's top layer comes once his downlink estimate
    // has room for it, which on a loaded machine (five pages encoding) can take a while —
    // a layer that stepped down waits up to 16 s before it steps up again (media/alloc.h).
    let top = { w: 1920, limit: '' };
    let pe = await allPlaying(Hk, 'c', ['erin'], 1920, 30000);
    if (!pe.good) {
      top = await erinTop();
      pe = await allPlaying(Hk, 'c', ['erin'], Math.min(1920, top.w || 1920), 20000);
    }
    if (top.w < 1920) diag(`erin's encoder sends at most ${top.w} px wide now (quality limitation: ${top.limit})`);
    if (!pe.good)
      diag(`hank's downlink as the SDK reports it: ${JSON.stringify(await Hk.evaluate(() => ((H.last || {})['c:network-quality'] || {}).downlink || null))}`);
    ok(se === 'ok' && ew.width === 1920 && pe.good,
      `resolution '1080p': captured ${ew.width}x${ew.height}, hank plays ${fmt(pe.last.filter(v => v.userId === 'erin'))} (erin's widest layer sending: ${top.w})`);

    const multi = await E.evaluate(async () => {
      await H.start('x', { channel: 'side1', userId: 'erin', stream: { video: false } });
      await H.start('y', { channel: 'side2', userId: 'erin', stream: { video: false } });
      return Object.keys(H.clients).map(k => `${k}:${H.clients[k].getConnectionState()}`).join(' ');
    });
    const sm = await Promise.all([start(B, 'x', { channel: 'side1', userId: 'bob', stream: { video: false } }),
      start(A, 'y', { channel: 'side2', userId: 'alice', stream: { video: false } })]);
    const xs = await waitEvent(E, 'x', 'stream-subscribed', e => e.userId === 'bob');
    const ys = await waitEvent(E, 'y', 'stream-subscribed', e => e.userId === 'alice');
    const cross = await E.evaluate(() => H.events.filter(e => (e.key === 'x' && e.userId === 'alice') || (e.key === 'y' && e.userId === 'bob')).length);
    ok(sm.every(s => s === 'ok') && xs && ys && cross === 0,
      `one page, three clients in three rooms (${multi}): each sees only its own room's audio-only streams`);

    // The token must outlive frank's join, which on a busy machine took
    // longer than the 8 s it was once given (test 43): the page is set up
    // first, a join on it is timed, and the token lives three times that
    // (at least 8 s) from when it is made.
    const F = await openPage(ctx2, d, 'frank');
    const jt0 = Date.now();
    const probe = await start(F, 'probe', { channel: 'probe-room', userId: 'frank', publish: false });
    const joinMs = Date.now() - jt0;
    await F.evaluate(() => H.clients.probe.leave());
    const lifeMs = Math.max(8000, 3 * joinMs + 2000);
    diag(`a join on frank's page took ${joinMs} ms (${probe}): his token lives ${lifeMs} ms`);
    const soon = Date.now() - 24 * 3600 * 1000 + lifeMs;
    const ep = d.token(app.appId, 'room1', 'frank');
    const sig = forgeToken(app, 'room1', 'frank', soon, ep);
    const sf = await start(F, 'c', { channel: 'room1', userId: 'frank', publish: false,
      token: { appId: app.appId, signature: sig, ctime: Math.floor(soon / 1000), host: ep.host, port: Number(ep.port) } });
    const exp = await waitEvent(F, 'c', 'signature-expired', () => true, 5000);
    const renewed = await waitEvent(F, 'c', 'renewed', () => true, 5000);
    await sleep(Math.max(0, soon + 24 * 3600 * 1000 - Date.now()) + 1500);
    const fstate = await F.evaluate(() => H.clients.c.getConnectionState());
    ok(sf === 'ok' && exp && exp.expiresAt && renewed && fstate === 'CONNECTED',
      `signature-expired arrives before expiry, renewSignature() keeps frank in the room (${fstate})`);
    await browser2.close();
    browser2 = null;

    // ---- the socket lost beyond the window: the SDK joins again ----
    proxy = await tcpProxy(d.httpsPort);
    const G = await openPage(ctx, d, 'gina');
    const sg = await start(G, 'c', { channel: 'room1', userId: 'gina', domain: `127.0.0.1:${proxy.port}`, stream: { video: false } });
    ok(sg === 'ok' && await waitEvent(A, 'c', 'stream-subscribed', e => e.userId === 'gina'), `gina joins through the proxy (${sg})`);
    proxy.cut((RESUME_WINDOW_S + 3) * 1000);
    const gl = await waitEvent(A, 'c', 'peer-leave', e => e.userId === 'gina', (RESUME_WINDOW_S + 4) * 1000);
    ok(gl && gl.reason.code === 7, `cut for ${RESUME_WINDOW_S + 3} s, longer than the window: the others see peer-leave reason ${gl && gl.reason.code}`);
    const back = await waitEvent(G, 'c', 'connection-state-changed', e => e.curState === 'CONNECTED' && e.reason === 'RECONNECTED', 20000);
    const rej = await waitEvent(A, 'c', 'stream-subscribed', e => e.userId === 'gina' && e.t > gl.t, 15000);
    ok(back && rej, 'then gina\'s SDK joins again by itself, publishes again, and alice receives her again');
    await G.close();
    proxy.close();
    proxy = null;

    // ---- leave ----
    await B.evaluate(() => H.clients.c.leave());
    const bl = await waitEvent(A, 'c', 'peer-leave', e => e.userId === 'bob');
    ok(bl && bl.reason.code === 0, 'bob leaves: peer-leave reason 0');
    await A.close();
    await B.close();
    await ctx.close();
  } finally {
    if (proxy) proxy.close();
    if (browser2) await browser2.close().catch(() => {});
    await browser.close().catch(() => {});
  }

  // ---- the demo page at /: two participants (a realistic camera for the screenshot) ----
  const demo = await L.launchBrowser({ realisticMedia: true });
  try {
    const ctx = await demo.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 720 } });
    const P = {};
    for (const name of ['alice', 'bob']) {
      P[name] = await ctx.newPage();
      P[name].on('pageerror', e => diag(`demo ${name}: page error: ${e.message}`));
      await P[name].goto(d.base + '/?room=weekly-sync');
      await P[name].fill('#name', name);
      await P[name].waitForFunction(() => document.querySelector('#preview video') && document.querySelector('#preview video').videoWidth > 0, null, { timeout: 10000 });
    }
    await P.alice.screenshot({ path: path.join(OUT, 'demo-lobby.png') });
    for (const name of ['alice', 'bob']) await P[name].click('#join');
    const tilesPlaying = page => page.evaluate(() => Array.from(document.querySelectorAll('#grid .tile')).map(t => {
      const v = t.querySelector('video');
      return { key: t.dataset.key, width: v ? v.videoWidth : 0, time: v ? v.currentTime : 0 };
    }));
    const playing = await waitFor(async () => {
      const a = await tilesPlaying(P.alice), b = await tilesPlaying(P.bob);
      await sleep(500);
      const a2 = await tilesPlaying(P.alice), b2 = await tilesPlaying(P.bob);
      // A tile about 600 px wide asks for the 640x360 layer (setRemoteVideoLayer by tile size).
      const good = (x, y, other) => x.length === 2 && x.some(t => t.key === other && t.width >= 640 && y.find(u => u.key === other).time > t.time);
      return good(a, a2, 'bob') && good(b, b2, 'alice') ? a2 : null;
    }, 30000, 300);
    ok(playing, `the demo: alice and bob join room "weekly-sync" from / and each sees two tiles, the other's video playing (${playing && playing.map(t => t.key + ' ' + t.width).join(', ')})`);
    const q = await waitFor(() => P.alice.evaluate(() => { const t = document.getElementById('quality-text').textContent; return /ms/.test(t) ? t : null; }), 8000);
    ok(q, `the demo shows live network quality ("${q}")`);
    await P.bob.click('#btn-mic');
    const micShown = await waitFor(() => P.alice.evaluate(() => document.querySelector('.tile[data-key="bob"]').classList.contains('muted')), 5000);
    ok(micShown, 'bob mutes his microphone in the demo: alice\'s tile for him shows it');
    await P.bob.click('#btn-mic');
    await waitFor(() => P.alice.evaluate(() => !document.querySelector('.tile[data-key="bob"]').classList.contains('muted')), 5000);
    await sleep(1500);
    await P.alice.screenshot({ path: path.join(OUT, 'demo.png') });
    ok(fs.statSync(path.join(OUT, 'demo.png')).size > 10000, 'screenshot of the demo with two participants: tests/e2e/out/demo.png');
    await P.bob.click('#btn-screen');
    const shared = await waitFor(() => P.alice.evaluate(() => { const v = document.querySelector('.tile[data-key="bob--screen"] video'); return v && v.videoWidth > 0; }), 15000);
    ok(shared, 'bob shares his screen from the demo: alice gets a "bob\'s screen" tile');
    await P.bob.click('#btn-leave');
    const gone = await waitFor(() => P.alice.evaluate(() => !document.querySelector('.tile[data-key="bob"]') && document.getElementById('count').textContent === '1'), 8000);
    const leftView = await P.bob.evaluate(() => !document.getElementById('left').hidden);
    ok(gone && leftView, 'bob leaves: his tiles go from alice\'s grid, and he sees the "You left" page');
  } finally {
    await demo.close().catch(() => {});
  }

  // ---- no camera: initialize() rejects per media with NotFoundError ----
  const nocam = await L.launchBrowser({ noCamera: true });
  try {
    const ctx = await nocam.newContext({ ignoreHTTPSErrors: true });
    const P = await openPage(ctx, d, 'nocam');
    const r = await P.evaluate(async () => {
      const s = ISDPRTC.createStream({ audio: true, video: true });
      try { await s.initialize(); return 'resolved'; } catch (e) {
        return { code: e.getCode(), msg: e.getMsg(), all: e.getMediaCaptureResult().map(x => `${x.type}:${x.error ? x.error.getMsg() : 'ok'}`),
          video: e.getMediaCaptureResultByType('video').error.getMsg(), vname: e.getMediaCaptureResultByType('video').error.name };
      }
    });
    ok(r !== 'resolved' && r.video === 'NotFoundError' && r.vname === 'NotFoundError' && r.all.includes('audio:NotFoundError'),
      `without a camera, initialize() rejects with NotFoundError per media (${JSON.stringify(r)})`);
  } finally {
    await nocam.close().catch(() => {});
  }

  const h = await L.request(d.base, 'GET', '/healthz');
  ok(h.status === 200, 'the daemon is healthy after all of it');
  const rc = await d.stop();
  ok(rc === 0, `irtcd stops cleanly (exit ${rc})`);
  diag(`test_sdk.js took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

L.runMain(main);
