// test_sdk_negotiation.js — the Web SDK's signaling protocol v2 client side
// (one send and one receive RTCPeerConnection per Client, every change a
// client offer, serialised per connection; simulcast; layer preference;
// ICE restart; the rebuild fallback) in Debian's headless Chromium, against
// mock-signal.js: an in-page v2 server whose answers come from real
// RTCPeerConnections and which relays real media.  No irtcd needed: this
// checks the SDK's negotiation logic with a real browser answerer;
// test_sdk.js and test_sdk_v2.js check it against irtcd.  Three clients in
// one page, the guide's flow (sdk-harness.js).  Prints TAP.
'use strict';
const fs = require('fs');
const http = require('http');
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
const SDK = path.join(L.topSrc, 'web/sdk');

// localhost is a secure context: getUserMedia works without TLS.
function serve() {
  const server = http.createServer((req, res) => {
    const u = req.url.split('?')[0];
    if (u === '/demo/token') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ appId: 'app', signature: 'sig', ctime: Math.floor(Date.now() / 1000), host: '127.0.0.1', port: 1 }));
    } else if (u.startsWith('/sdk/') && /^[\w.]+$/.test(u.slice(5)) && fs.existsSync(path.join(SDK, u.slice(5)))) {
      res.setHeader('content-type', 'text/javascript');
      res.end(fs.readFileSync(path.join(SDK, u.slice(5))));
    } else {
      res.setHeader('content-type', 'text/html');
      res.end('<!doctype html><html><head><title>negotiation</title></head><body></body></html>');
    }
  });
  return new Promise(r => server.listen(0, '127.0.0.1', () => r(server)));
}

// Page-side helpers (after the harness).
function pageHelpers() {
  window.T = {
    // The SDK-made connections that are open, and whose they are.
    pcs() {
      const live = MOCK.livePcs();
      const own = {};
      for (const [k, c] of Object.entries(H.clients)) {
        own[k] = { send: live.indexOf(c._tx.send.pc), recv: live.indexOf(c._tx.recv.pc) };
      }
      return {
        live: live.length,
        made: MOCK.clientPcs.length,
        own,
        kinds: live.map(pc => {
          const dirs = new Set(pc.getTransceivers().filter(t => !t.stopped && t.currentDirection !== 'stopped').map(t => t.direction));
          return Array.from(dirs).join('+');
        }),
        mlines: live.map(pc => pc.localDescription ? (pc.localDescription.sdp.match(/\r\nm=(audio|video) /g) || []).length : 0),
      };
    },
    // Records a remote video's currentTime every 100 ms: the longest stall tells a freeze.
    watch(key, userId) {
      const samples = [];
      const timer = setInterval(() => {
        const v = Array.from(document.querySelectorAll(`.remote[data-key="${key}"][data-user-id="${userId}"] video`))[0];
        samples.push([performance.now(), v ? v.currentTime : -1]);
      }, 100);
      return { stop() {
        clearInterval(timer);
        let longest = 0, since = samples.length ? samples[0][0] : 0;
        for (let i = 1; i < samples.length; i++) {
          if (samples[i][1] > samples[i - 1][1]) since = samples[i][0];
          longest = Math.max(longest, samples[i][0] - since);
        }
        return { longest: Math.round(longest), n: samples.length };
      } };
    },
    fail(pc) {
      // White box: the browser reports the connection failed (until the SDK has restarted ICE).
      Object.defineProperty(pc, 'connectionState', { get: () => 'failed', configurable: true });
      pc.dispatchEvent(new Event('connectionstatechange'));
      return () => { delete pc.connectionState; };
    },
    requests(user, type) { return MOCK.log.filter(r => r.user === user && r.type === type); },
  };
}

const { start, events, waitEvent, allPlaying, outbound, fmt } = require('./sdk-page.js');
// Every listed user's main stream plays (carol sends audio only: her element plays without a picture).
const playing = (page, key, users, ms) => allPlaying(page, key, users.map(u => [u, u === 'carol' ? 0 : 1]), 1, ms, { type: 'main' });

async function main() {
  const t0 = Date.now();
  await L.exclusive();
  const server = await serve();
  const base = `http://localhost:${server.address().port}`;
  const browser = await L.launchBrowser({});
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const P = await ctx.newPage();
    P.on('pageerror', e => diag(`page error: ${e.message}`));
    P.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') diag(`console ${m.type()}: ${m.text()}`); });
    await P.addInitScript({ path: path.join(__dirname, 'mock-signal.js') });
    await P.goto(base + '/');
    await P.addScriptTag({ url: '/sdk/isdprtc.js' });
    await P.addScriptTag({ path: path.join(__dirname, 'sdk-harness.js') });
    await P.evaluate(pageHelpers);

    // ---- two clients: one send and one receive connection each ----
    const tj = Date.now();
    const sa = await start(P, 'a', { channel: 'r', userId: 'alice' });
    const sb = await start(P, 'b', { channel: 'r', userId: 'bob', stream: { resolution: '360p', simulcast: false } });
    ok(sa === 'ok' && sb === 'ok', `alice and bob join and publish over the v2 mock (${sa}, ${sb})`);
    const p1 = await playing(P, 'a', ['bob']), p2 = await playing(P, 'b', ['alice']);
    ok(p1.good && p2.good, `each plays the other (alice sees ${fmt(p1.last)}; bob sees ${fmt(p2.last)})`);
    diag(`both playing ${Date.now() - tj} ms after the first join()`);
    let pcs = await P.evaluate(() => T.pcs());
    ok(pcs.live === 4 && Object.values(pcs.own).every(o => o.send >= 0 && o.recv >= 0 && o.send !== o.recv) &&
      pcs.kinds.filter(k => k === 'sendonly').length === 2 && pcs.kinds.filter(k => k === 'recvonly').length === 2,
      `one sendonly and one recvonly RTCPeerConnection per client (open: ${pcs.live}: ${pcs.kinds.join(', ')}; made ${pcs.made})`);
    const v2 = await P.evaluate(() => MOCK.log.every(r => r.v === 2));
    const pubReq = await P.evaluate(() => T.requests('alice', 'publish')[0]);
    ok(v2 && pubReq.mids && pubReq.mids.audio !== undefined && pubReq.mids.video !== undefined && pubReq.mids.audio !== pubReq.mids.video,
      `every request says "v": 2; publish names its mids (${JSON.stringify(pubReq.mids)})`);

    // ---- simulcast: three layers leave Chromium ----
    let out = {};
    const sim = await waitFor(async () => {
      out = await outbound(P, 'a');
      return out.q && out.h && out.f && out.q.w === 320 && out.h.w === 640 && out.f.w === 1280 && out.f.frames > 30;
    }, 30000, 500);
    ok(sim, `alice's camera leaves as three simulcast layers: ${Object.entries(out).map(([r, o]) => `${r} ${o.w}x${o.h} ${o.frames} frames`).join(', ')}`);
    const bobOut = await outbound(P, 'b');
    ok(Object.keys(bobOut).length === 1 && bobOut['-'], `createStream({resolution: '360p', simulcast: false}): one encoding (${JSON.stringify(bobOut)})`);
    const info = await P.evaluate(() => ({ a: H.locals.a.getStreamInfo().simulcast, b: H.locals.b.getStreamInfo().simulcast,
      remote: Object.entries(H.remote).map(([k, s]) => `${k}=${s.getStreamInfo().simulcast}`) }));
    ok(info.a === 3 && info.b === 1 && info.remote.includes('b:alice:main=3') && info.remote.includes('a:bob:main=1'),
      `getStreamInfo().simulcast: the encodings, locally and on the remote streams (${JSON.stringify(info)})`);

    // ---- a third client (audio only: the page holds every client and the mock server) ----
    const sc = await start(P, 'c', { channel: 'r', userId: 'carol', stream: { video: false } });
    const p3 = await Promise.all([playing(P, 'a', ['bob', 'carol']), playing(P, 'b', ['alice', 'carol']), playing(P, 'c', ['alice', 'bob'])]);
    pcs = await P.evaluate(() => T.pcs());
    ok(sc === 'ok' && p3.every(p => p.good) && pcs.live === 6,
      `carol joins: everyone receives the two others by renegotiation, still ${pcs.live} open connections for 3 clients (${p3.map(p => fmt(p.last)).join(' | ')})`);

    // ---- unsubscribe / re-subscribe: renegotiations, other video keeps decoding, m-lines recycled ----
    const partial = await P.evaluate(async () => {
      const client = H.clients.b, st = H.remote['b:alice:main'];
      await client.unsubscribe(st, { video: true });
      const audioOnly = !!st.getAudioTrack() && !st.getVideoTrack();
      await client.subscribe(st);
      return { audioOnly, both: !!st.getAudioTrack() && !!st.getVideoTrack() };
    });
    ok(partial.audioOnly && partial.both, 'bob: unsubscribe({video: true}) keeps alice\'s audio, subscribe() brings both back');
    const renego = await P.evaluate(async () => {
      const w = T.watch('b', 'alice');
      const client = H.clients.b, st = H.remote['b:carol:main'];
      const r = { times: [] };
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await client.unsubscribe(st);
        await client.subscribe(st);
        r.times.push(Math.round(performance.now() - t));
      }
      r.audio = !!st.getAudioTrack();
      await new Promise(x => setTimeout(x, 1500));
      r.stall = w.stop();
      r.mlines = client._tx.recv.pc.localDescription.sdp.match(/\r\nm=(audio|video) /g).length;
      r.subs = T.requests('bob', 'subscribe').length;
      return r;
    });
    ok(renego.audio && renego.stall.longest < 1000,
      `bob unsubscribes and subscribes carol again 3 times: alice's video keeps playing meanwhile (longest stall ${renego.stall.longest} ms over ${renego.stall.n} samples)`);
    ok(renego.mlines === 3, `stopped transceivers are recycled: bob's receive offer still has ${renego.mlines} m-lines (alice's 2, carol's 1)`);
    diag(`unsubscribe + subscribe again: ${renego.times.join(', ')} ms`);
    const again = await playing(P, 'b', ['alice', 'carol'], 15000);
    ok(again.good, `bob plays alice and carol after re-subscribing (${fmt(again.last)})`);

    // ---- layer preference ----
    const lay = await P.evaluate(async () => {
      const st = H.remote['b:alice:main'];
      const seen = [];
      H.clients.b.on('stream-layer-changed', e => seen.push([e.stream.getUserId(), e.layer, e.layers]));
      await H.clients.b.setRemoteVideoLayer(st, 'low');
      await new Promise(x => setTimeout(x, 300));
      const bad = await H.clients.b.setRemoteVideoLayer(st, 'tiny').then(() => 'ok', e => e.getCode());
      return { req: T.requests('bob', 'setLayer').pop(), seen, info: st.getStreamInfo().layer, bad };
    });
    ok(lay.req && lay.req.maxLayer === 0 && lay.seen.some(s => s[0] === 'alice' && s[1] === 0 && s[2] === 3) && lay.info.current === 0 && lay.info.max === 0,
      `setRemoteVideoLayer(stream, 'low') → setLayer maxLayer 0; stream-layer-changed and getStreamInfo().layer follow (${JSON.stringify(lay)})`);
    ok(lay.bad === 200006, 'setRemoteVideoLayer with an unknown layer: 200006');
    const capped = await P.evaluate(async () => {
      const st = H.remote['c:alice:main'];
      await H.clients.c.unsubscribe(st);
      await H.clients.c.subscribe(st, { maxLayer: 'medium' });
      return T.requests('carol', 'subscribe').pop().maxLayer;
    });
    ok(capped === 1, `subscribe(stream, {maxLayer: 'medium'}) sends maxLayer 1 (${capped})`);

    // ---- the server's v2 events become SDK events ----
    const evs = await P.evaluate(async () => {
      const wait = ms => new Promise(x => setTimeout(x, ms));
      const ids = MOCK.subOf('bob', 'alice');
      const st = H.remote['b:alice:main'];
      MOCK.push('bob', 'subscription-paused', Object.assign({ reason: 'bandwidth' }, ids));
      MOCK.push('bob', 'transport-stats', { pc: 'recv', rttMs: 250, lossPct: 5, availableKbps: 800 });
      await wait(300);
      const paused = { info: st.getStreamInfo().layer.paused, ev: H.events.filter(e => e.key === 'b' && e.ev === 'stream-video-paused').pop() };
      H.last['b:network-quality'] = null;
      for (let i = 0; i < 50 && !H.last['b:network-quality']; i++) await wait(100);
      const nq = H.last['b:network-quality'];
      MOCK.push('bob', 'subscription-resumed', ids);
      const aliceStream = MOCK.subOf('bob', 'alice').streamId;
      MOCK.push('bob', 'active-speaker', { userId: 'alice', streamId: aliceStream });
      MOCK.push('alice', 'active-speaker', { userId: 'alice', streamId: aliceStream });
      await wait(300);
      return { paused, nq, resumed: H.events.filter(e => e.key === 'b' && e.ev === 'stream-video-resumed').pop(), after: st.getStreamInfo().layer.paused,
        spkB: H.events.filter(e => e.key === 'b' && e.ev === 'active-speaker').pop(), spkA: H.events.filter(e => e.key === 'a' && e.ev === 'active-speaker').pop() };
    });
    ok(evs.paused.info === true && evs.paused.ev && evs.paused.ev.userId === 'alice' && evs.paused.ev.reason === 'bandwidth' &&
      evs.resumed && evs.resumed.userId === 'alice' && evs.after === false,
      `subscription-paused / -resumed → stream-video-paused {stream, reason} / stream-video-resumed, getStreamInfo().layer.paused (${JSON.stringify([evs.paused.ev, evs.resumed])})`);
    ok(evs.nq && evs.nq.downlink.available === 800000 && evs.nq.downlink.loss >= 0.05 && evs.nq.downlink.rtt >= 250 && evs.nq.downlinkNetworkQuality >= 4,
      `transport-stats counts in network-quality (the worse figures; downlink at least "bad" while a video is paused): ${JSON.stringify(evs.nq && { q: evs.nq.downlinkNetworkQuality, d: evs.nq.downlink })}`);
    ok(evs.spkB && evs.spkB.userId === 'alice' && evs.spkB.streamId && evs.spkB.type === 'main' && evs.spkA && evs.spkA.userId === 'alice' && evs.spkA.type === 'local',
      `active-speaker {userId, streamId, stream}: bob gets alice's remote Stream, alice her local one (${JSON.stringify([evs.spkB, evs.spkA])})`);

    // ---- a remote unpublish: stream-removed, the receive connections clean up with negotiate ----
    await P.evaluate(() => { MOCK.mark = MOCK.log.length; });
    const tUnpub = await P.evaluate(() => Date.now()); // bob's unsubscribe()s of carol above emitted stream-removed too
    await P.evaluate(() => H.clients.c.unpublish(H.locals.c));
    const gone = await Promise.all(['a', 'b'].map(k => waitEvent(P, k, 'stream-removed', e => e.userId === 'carol' && e.t >= tUnpub)));
    const cleaned = await waitFor(() => P.evaluate(() => ['alice', 'bob'].every(u => MOCK.log.slice(MOCK.mark)
      .some(r => r.user === u && r.type === 'negotiate' && r.pc === 'recv' && r.stopped >= 1))), 10000);
    pcs = await P.evaluate(() => T.pcs());
    ok(gone.every(Boolean) && cleaned, `carol unpublishes: alice and bob get stream-removed and send negotiate {pc: 'recv'} with her m-lines stopped`);
    ok(pcs.live === 5 && pcs.own.c.send === -1 && pcs.own.c.recv >= 0, `carol's send connection closed with her last stream (open: ${pcs.live}; carol ${JSON.stringify(pcs.own.c)})`);
    const rep = await P.evaluate(() => H.clients.c.publish(H.locals.c).then(() => 'ok', e => e.getCode()));
    const back = await Promise.all([playing(P, 'a', ['bob', 'carol']), playing(P, 'b', ['alice', 'carol'])]);
    pcs = await P.evaluate(() => T.pcs());
    ok(rep === 'ok' && back.every(b => b.good) && pcs.live === 6 && pcs.mlines.every(n => n <= 4),
      `she publishes again on a new send connection: played again, m-lines recycled (${pcs.mlines.join(', ')})`);

    // ---- ICE restart on a live connection ----
    const addedBefore = (await events(P, 'b', 'stream-added')).filter(e => e.userId === 'alice').length;
    const ice = await P.evaluate(async () => {
      const c = H.clients.a, pc = c._tx.send.pc;
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1];
      const n = T.requests('alice', 'negotiate').length;
      const restore = T.fail(pc);
      const t = performance.now();
      for (let i = 0; i < 100 && T.requests('alice', 'negotiate').length === n; i++) await new Promise(x => setTimeout(x, 50));
      restore();
      for (let i = 0; i < 100 && c._tx.send.recovering; i++) await new Promise(x => setTimeout(x, 50));
      const req = T.requests('alice', 'negotiate').pop();
      return { ms: Math.round(performance.now() - t), req: req && req.pc, oldUfrag: ufrag, newUfrag: /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1],
        same: c._tx.send.pc === pc, state: pc.connectionState, restarts: c._tx.send.iceRestarts };
    });
    ok(ice.req === 'send' && ice.newUfrag !== ice.oldUfrag && ice.same && ice.state === 'connected',
      `alice's send connection "fails": ICE restart by negotiate {pc: 'send'} with new credentials on the same connection, connected again in ${ice.ms} ms (${ice.oldUfrag} → ${ice.newUfrag})`);
    const stillB = await playing(P, 'b', ['alice'], 10000);
    const addedAfter = (await events(P, 'b', 'stream-added')).filter(e => e.userId === 'alice').length;
    ok(stillB.good && addedAfter === addedBefore, `bob keeps playing alice's same stream (no new stream-added) (${fmt(stillB.last)})`);

    // ---- a network change: the socket is lost and resumed, and the media connection restarts ICE ----
    const net = await P.evaluate(async () => {
      const c = H.clients.a, pc = c._tx.recv.pc;
      const joins = T.requests('alice', 'join').length, resumes = MOCK.resumes || 0;
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1];
      const sess = Array.from(MOCK.sessions).find(x => x.userId === 'alice');
      sess.ws.close(1006, 'network change'); // as if the socket died with the old network
      const restore = T.fail(pc);
      for (let i = 0; i < 200 && !(c.getConnectionState() === 'CONNECTED' && !c._tx.recv.recovering && T.requests('alice', 'negotiate').some(r => r.pc === 'recv' && r.ufrag !== ufrag)); i++) {
        await new Promise(x => setTimeout(x, 100));
        if (i === 5) restore();
      }
      restore();
      return { state: c.getConnectionState(), resumed: (MOCK.resumes || 0) > resumes, joinedAgain: T.requests('alice', 'join').length > joins,
        same: c._tx.recv.pc === pc, newUfrag: /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1] !== ufrag };
    });
    ok(net.state === 'CONNECTED' && net.resumed && !net.joinedAgain && net.same && net.newUfrag,
      `the socket lost with the receive connection: the SDK resumes the session, then restarts ICE on the same connection (${JSON.stringify(net)})`);
    const netPlay = await playing(P, 'a', ['bob', 'carol'], 15000);
    const leftA = (await events(P, 'b', 'peer-leave')).filter(e => e.userId === 'alice').length;
    ok(netPlay.good && leftA === 0, `alice plays bob and carol again; bob never saw her leave (${fmt(netPlay.last)})`);

    // ---- the fallback: the server refuses the ICE restart → the connection is rebuilt ----
    const fb = await P.evaluate(async () => {
      const c = H.clients.b, pc = c._tx.recv.pc;
      MOCK.refuse.negotiate = 200006;
      const restore = T.fail(pc);
      for (let i = 0; i < 200 && c._tx.recv.pc === pc; i++) await new Promise(x => setTimeout(x, 50));
      restore();
      return { replaced: c._tx.recv.pc !== pc && pc.signalingState === 'closed' };
    });
    const fbPlay = await playing(P, 'b', ['alice', 'carol'], 20000);
    pcs = await P.evaluate(() => T.pcs());
    ok(fb.replaced && fbPlay.good && pcs.live === 6, `ICE restart refused: bob's receive connection is rebuilt, he plays both again (${fmt(fbPlay.last)}; open ${pcs.live})`);

    // ---- a refused publish rolls back ----
    const refused = await P.evaluate(async () => {
      const s = ISDPRTC.createStream({ screen: true, userId: 'alice' });
      await s.initialize();
      MOCK.refuse.publish = 200026;
      const r = await H.clients.a.publish(s).then(() => 'ok', e => e.getCode());
      const pc = H.clients.a._tx.send.pc;
      const live = pc.getTransceivers().filter(t => !t.stopped && t.currentDirection !== 'stopped').length;
      s.close();
      return { r, live, state: pc.signalingState };
    });
    ok(refused.r === 200026 && refused.live === 2 && refused.state === 'stable',
      `a publish the server refuses rejects with its code and is rolled back (${JSON.stringify(refused)})`);
    const stillA = await playing(P, 'b', ['alice'], 10000);
    ok(stillA.good, 'alice\'s camera keeps flowing after the refused offer');

    // ---- simulcast with H.264 (the server's choice of codec) ----
    const h264 = await P.evaluate(async () => {
      const c = H.clients.b, old = H.locals.b;
      await c.unpublish(old);
      old.close();
      MOCK.videoCodec = 'H264';
      const s = ISDPRTC.createStream({ audio: true, video: true, userId: 'bob' });
      await s.initialize();
      await c.publish(s);
      MOCK.videoCodec = null;
      H.locals.b = s;
      return s.getStreamInfo().simulcast;
    });
    let hOut = {};
    const hFlows = await waitFor(async () => {
      hOut = await outbound(P, 'b');
      return ['q', 'h', 'f'].every(r => hOut[r] && hOut[r].codec === 'video/H264' && hOut[r].frames > 10) &&
        hOut.q.w === 320 && hOut.h.w === 640 && hOut.f.w === 1280;
    }, 30000, 500);
    ok(h264 === 3 && hFlows, `with H.264 chosen by the server, a 720p camera leaves as three H.264 layers too (${JSON.stringify(hOut)})`);

    // ---- leave closes everything ----
    await P.evaluate(() => Promise.all(Object.values(H.clients).map(c => c.leave())));
    pcs = await P.evaluate(() => T.pcs());
    ok(pcs.live === 0, `leave() on every client: no connection left open (made ${pcs.made} in all)`);
    await ctx.close();
  } finally {
    await browser.close().catch(() => {});
    server.close();
  }
  diag(`test_sdk_negotiation.js took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

L.runMain(main);
