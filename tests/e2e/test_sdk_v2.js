// test_sdk_v2.js — issue 11: the Web SDK on signaling protocol v2 against a
// real irtcd, in Debian's headless Chromium, the guide's flow in every page
// (sdk-harness.js): each client has exactly one sending and one receiving
// RTCPeerConnection (counted by wrapping the constructor in the page);
// subscribe / unsubscribe / subscribe again are renegotiations during which
// the other videos keep decoding; a 720p camera leaves Chromium as three
// simulcast layers (outbound-rtp per rid q/h/f); a subscription capped with
// maxLayer 'low' receives 320x180 and setRemoteVideoLayer() switches it; an
// ICE restart keeps the call; guide 7.3.4.3: unsubscribe() emits
// stream-removed ("取消选看"), a publisher's camera changing size gives its
// subscribers stream-updated ("视频轨规格变化").  Figures: first frame, renegotiation and ICE
// restart times.  Three pages at most (the machine has 2 cores).  Prints TAP.
'use strict';
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

// Before any script of the page: every RTCPeerConnection the page makes is kept in window.PCS.
function countPcs() {
  if (window.PCS) return; // once per window
  const Native = window.RTCPeerConnection;
  window.PCS = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...a) { super(...a); window.PCS.push(this); }
  };
}

// Page-side helpers, after the harness.
function helpers() {
  window.T = {
    // The open connections of the page: what their live transceivers do.
    pcs() {
      const open = PCS.filter(pc => pc.signalingState !== 'closed');
      const kinds = open.map(pc => Array.from(new Set(pc.getTransceivers()
        .filter(t => !t.stopped && t.currentDirection !== 'stopped').map(t => t.direction))).sort().join('+'));
      return { open: open.length, made: PCS.length, kinds,
        send: kinds.filter(k => k === 'sendonly').length, recv: kinds.filter(k => k === 'recvonly').length };
    },
    // The inbound video of a remote user's main stream: size and frames decoded (by track id).
    async inbound(key, userId) {
      const st = H.remote[`${key}:${userId}:main`];
      const track = st && st.getVideoTrack();
      if (!track) return null;
      let r = null;
      for (const pc of PCS.filter(p => p.signalingState !== 'closed')) {
        (await pc.getStats()).forEach(s => {
          if (s.type === 'inbound-rtp' && s.kind === 'video' && s.trackIdentifier === track.id) {
            r = { w: s.frameWidth || 0, h: s.frameHeight || 0, frames: s.framesDecoded || 0 };
          }
        });
      }
      return r;
    },
    // framesDecoded of a remote video every 100 ms while fn runs: the longest time without a new frame.
    async decodingDuring(key, userId, fn) {
      const samples = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const i = await T.inbound(key, userId);
          samples.push([performance.now(), i ? i.frames : -1]);
          await new Promise(r => setTimeout(r, 100));
        }
      })();
      const t0 = performance.now();
      const result = await fn();
      const ms = Math.round(performance.now() - t0);
      await new Promise(r => setTimeout(r, 1000));
      stop = true;
      await loop;
      let longest = 0, since = samples.length ? samples[0][0] : 0;
      for (let i = 1; i < samples.length; i++) {
        if (samples[i][1] > samples[i - 1][1]) since = samples[i][0];
        longest = Math.max(longest, samples[i][0] - since);
      }
      return { result, ms, longest: Math.round(longest), frames: samples.length ? samples[samples.length - 1][1] - samples[0][1] : 0 };
    },
    // Times from join() to the first remote frame of each user.
    firstFrames(key) {
      const out = {};
      for (const v of document.querySelectorAll(`.remote[data-key="${key}"] video`)) {
        if (v.dataset.firstFrame) out[v.parentNode.dataset.userId] = Number(v.dataset.firstFrame);
      }
      return out;
    },
    watchFirstFrames(key) {
      T.joinAt = performance.now();
      const seen = new WeakSet();
      const timer = setInterval(() => {
        for (const v of document.querySelectorAll(`.remote[data-key="${key}"] video`)) {
          if (seen.has(v) || !v.videoWidth) continue;
          seen.add(v);
          v.dataset.firstFrame = String(Math.round(performance.now() - T.joinAt));
        }
      }, 20);
      setTimeout(() => clearInterval(timer), 60000);
    },
  };
}

async function openPage(ctx, d, title) {
  const page = await ctx.newPage();
  page.on('pageerror', e => diag(`${title}: page error: ${e.message}`));
  await page.addInitScript(countPcs);
  await page.goto(d.base + '/sdk/isdprtc.dev.js'); // any document of the origin (a secure context)
  await page.setContent(`<!doctype html><html><head><title>${title}</title></head><body></body></html>`);
  await page.evaluate(countPcs); // (setContent is no navigation: the wrapper is normally there already)
  await page.addScriptTag({ url: '/sdk/isdprtc.js' });
  await page.addScriptTag({ path: path.join(__dirname, 'sdk-harness.js') });
  await page.evaluate(helpers);
  return page;
}

const { events, fmt } = require('./sdk-page.js');
const P = require('./sdk-page.js');
const start = (page, key, opts) => page.evaluate(k => T.watchFirstFrames(k), key).then(() => P.start(page, key, opts));
const allPlaying = (page, key, users, minWidth, ms) => P.allPlaying(page, key, users, minWidth, ms, { type: 'main' });
const pcsFmt = p => `${p.open} open (${p.kinds.join(', ') || 'none'}), ${p.made} made`;

async function main() {
  const t0 = Date.now();
  const d = await L.startDaemon({ workers: 1 });
  const browser = await L.launchBrowser({});
  try {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const A = await openPage(ctx, d, 'alice');
    const B = await openPage(ctx, d, 'bob');

    // ---- two pages: one sending and one receiving connection each ----
    const [sa, sb] = await Promise.all([start(A, 'c', { channel: 'v2', userId: 'alice' }), start(B, 'c', { channel: 'v2', userId: 'bob' })]);
    ok(sa === 'ok' && sb === 'ok', `alice and bob join and publish (${sa}, ${sb})`);
    const pa = await allPlaying(A, 'c', ['bob'], 1), pb = await allPlaying(B, 'c', ['alice'], 1);
    ok(pa.good && pb.good, `each plays the other (alice sees ${fmt(pa.last)}; bob sees ${fmt(pb.last)})`);
    const ff = [await A.evaluate(() => T.firstFrames('c')), await B.evaluate(() => T.firstFrames('c'))];
    diag(`first frame after join(): alice sees bob at ${ff[0].bob} ms, bob sees alice at ${ff[1].alice} ms (both joining at once)`);
    let pcs = [await A.evaluate(() => T.pcs()), await B.evaluate(() => T.pcs())];
    ok(pcs.every(p => p.open === 2 && p.send === 1 && p.recv === 1 && p.made === 2),
      `exactly one sending and one receiving RTCPeerConnection per page (alice: ${pcsFmt(pcs[0])}; bob: ${pcsFmt(pcs[1])})`);

    // ---- simulcast: three layers leave Chromium, all flowing ----
    let out = {}, prev = {};
    const sim = await waitFor(async () => {
      prev = out;
      out = await P.outbound(A, 'c');
      const grew = r => out[r] && prev[r] && out[r].bytes > prev[r].bytes && out[r].frames > prev[r].frames;
      return out.q && out.h && out.f && out.q.w === 320 && out.h.w === 640 && out.f.w === 1280 && ['q', 'h', 'f'].every(grew);
    }, 40000, 1000);
    ok(sim, `alice's camera leaves as three simulcast layers, all flowing: ${Object.entries(out).map(([r, o]) => `${r} ${o.w}x${o.h} ${o.frames} frames (${o.limit})`).join(', ')}`);
    const desc = await B.evaluate(() => H.remote['c:alice:main'].getStreamInfo());
    ok(desc.simulcast === 3, `bob's view of alice's stream: getStreamInfo().simulcast ${desc.simulcast}, layer ${JSON.stringify(desc.layer)}`);
    const hi = await allPlaying(B, 'c', ['alice'], 1280, 40000);
    ok(hi.good, `subscribe() without options: bob receives alice's highest layer, 1280 wide (${fmt(hi.last)})`);

    // ---- a third page: subscriptions added by renegotiation ----
    const C = await openPage(ctx, d, 'carol');
    const sc = await start(C, 'c', { channel: 'v2', userId: 'carol' });
    const p3 = await Promise.all([allPlaying(A, 'c', ['bob', 'carol'], 1), allPlaying(B, 'c', ['alice', 'carol'], 1), allPlaying(C, 'c', ['alice', 'bob'], 1)]);
    pcs = await Promise.all([A, B, C].map(p => p.evaluate(() => T.pcs())));
    ok(sc === 'ok' && p3.every(p => p.good), `carol joins: all three play the two others (${p3.map(p => fmt(p.last)).join(' | ')})`);
    ok(pcs.every(p => p.open === 2 && p.send === 1 && p.recv === 1),
      `still one sending and one receiving connection per page (${pcs.map(pcsFmt).join('; ')})`);
    const ffc = await C.evaluate(() => T.firstFrames('c'));
    diag(`carol, joining a room of two: first frame of alice at ${ffc.alice} ms, of bob at ${ffc.bob} ms after join()`);

    // ---- unsubscribe / subscribe again by renegotiation, alice's video decoding throughout ----
    const renego = await B.evaluate(() => T.decodingDuring('c', 'alice', async () => {
      const client = H.clients.c, st = H.remote['c:carol:main'];
      const times = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        await client.unsubscribe(st);
        const t1 = performance.now();
        await client.subscribe(st);
        const t2 = performance.now();
        // Carol's picture back: frames decoded again.
        let f = null;
        for (let k = 0; k < 100; k++) {
          f = await T.inbound('c', 'carol');
          if (f && f.frames > 0) break;
          await new Promise(r => setTimeout(r, 50));
        }
        times.push({ unsub: Math.round(t1 - t), sub: Math.round(t2 - t1), frame: Math.round(performance.now() - t2), frames: f && f.frames });
      }
      return { times, pcs: T.pcs(), mlines: client._tx.recv.pc.localDescription.sdp.match(/\r\nm=(audio|video) /g).length };
    }));
    ok(renego.result.times.every(x => x.frames > 0), `bob unsubscribes and subscribes carol again three times: her video decodes again each time (${JSON.stringify(renego.result.times)})`);
    ok(renego.longest < 1000 && renego.frames > 20,
      `alice's video keeps decoding at bob's throughout (${renego.frames} frames in ${renego.ms + 1000} ms, longest gap ${renego.longest} ms)`);
    ok(renego.result.pcs.open === 2 && renego.result.pcs.recv === 1 && renego.result.mlines <= 4,
      `by renegotiation of the same receiving connection (${pcsFmt(renego.result.pcs)}; ${renego.result.mlines} m-lines: stopped ones recycled)`);
    diag(`renegotiation: unsubscribe ${renego.result.times.map(x => x.unsub).join('/')} ms, subscribe ${renego.result.times.map(x => x.sub).join('/')} ms, ` +
      `first frame after subscribe ${renego.result.times.map(x => x.frame).join('/')} ms`);
    const partial = await B.evaluate(async () => {
      const client = H.clients.c, st = H.remote['c:carol:main'];
      await client.unsubscribe(st, { video: true });
      const audioOnly = !!st.getAudioTrack() && !st.getVideoTrack();
      await client.subscribe(st);
      return { audioOnly, both: !!st.getAudioTrack() && !!st.getVideoTrack() };
    });
    const carolBack = await allPlaying(B, 'c', ['carol'], 1, 15000);
    ok(partial.audioOnly && partial.both && carolBack.good, `unsubscribe({video: true}) keeps carol's audio; subscribe() brings her video back (${fmt(carolBack.last)})`);

    // ---- guide 7.3.4.3: "stream-removed … 当取消选看远端用户" — also when the app unsubscribes ----
    const removed = (await events(B, 'c', 'stream-removed')).filter(e => e.userId === 'carol');
    ok(removed.length === 3, `bob's three unsubscribe(carol) calls each emit stream-removed for her stream, the partial one none (${removed.length})`);

    // ---- guide 7.3.4.3: "stream-updated … 视频轨规格变化" — carol's camera goes to 640x360 ----
    const tSpec = await C.evaluate(() => Date.now());
    const spec = await C.evaluate(() => H.locals.c.getVideoTrack().applyConstraints({ width: { exact: 640 }, height: { exact: 360 } })
      .then(() => H.locals.c.getVideoTrack().getSettings().width, e => `${e.name}: ${e.message}`));
    const updated = await P.waitEvent(B, 'c', 'stream-updated', e => e.userId === 'carol' && e.t >= tSpec, 20000);
    const small = await P.allPlaying(B, 'c', [['carol', 1]], 1, 5000);
    const carolNow = small.last.find(v => v.userId === 'carol');
    ok(spec === 640 && updated && carolNow && carolNow.width <= 640,
      `carol's camera changes to 640x360 (${spec}): bob gets stream-updated for her stream (${updated ? 'yes' : 'no'}), her video now ${carolNow ? carolNow.width + 'x' + carolNow.height : 'none'}`);

    // ---- layer preference: maxLayer 'low' receives 320x180 ----
    const low = await C.evaluate(async () => {
      const client = H.clients.c, st = H.remote['c:alice:main'];
      await client.unsubscribe(st);
      await client.subscribe(st, { maxLayer: 'low' });
      return st.getStreamInfo().layer;
    });
    let inC = null;
    const got180 = await waitFor(async () => {
      inC = await C.evaluate(() => T.inbound('c', 'alice'));
      return inC && inC.w === 320 && inC.h === 180;
    }, 20000, 500);
    const lc = await waitFor(async () => (await events(C, 'c', 'stream-layer-changed')).find(e => e.userId === 'alice' && e.layer === 0), 5000);
    ok(got180, `carol subscribes to alice with {maxLayer: 'low'}: she receives ${inC ? `${inC.w}x${inC.h}` : 'nothing'} (layer ${JSON.stringify(low)})`);
    ok(lc && lc.layers === 3, `stream-layer-changed {layer: 0, layers: 3} (${JSON.stringify(lc)})`);
    const tSwitch = Date.now();
    await C.evaluate(() => H.clients.c.setRemoteVideoLayer(H.remote['c:alice:main'], 'high'));
    const got720 = await waitFor(async () => {
      inC = await C.evaluate(() => T.inbound('c', 'alice'));
      return inC && inC.w === 1280;
    }, 20000, 200);
    const upMs = Date.now() - tSwitch;
    ok(got720, `setRemoteVideoLayer(stream, 'high'): ${inC ? `${inC.w}x${inC.h}` : 'nothing'} after ${upMs} ms`);
    const tDown = Date.now();
    await C.evaluate(() => H.clients.c.setRemoteVideoLayer(H.remote['c:alice:main'], 'medium'));
    const got360 = await waitFor(async () => {
      inC = await C.evaluate(() => T.inbound('c', 'alice'));
      return inC && inC.w === 640;
    }, 20000, 200);
    ok(got360, `setRemoteVideoLayer(stream, 'medium'): ${inC ? `${inC.w}x${inC.h}` : 'nothing'} after ${Date.now() - tDown} ms`);
    diag(`layer switch as seen by the subscriber (getStats frameWidth): low → high ${upMs} ms, high → medium ${Date.now() - tDown} ms`);
    const stillB = await B.evaluate(() => T.inbound('c', 'alice'));
    ok(stillB && stillB.w === 1280, `meanwhile bob still receives alice at ${stillB && stillB.w} wide (layers are per subscriber)`);

    // ---- ICE restart keeps the call ----
    const addedBefore = (await events(B, 'c', 'stream-added')).filter(e => e.userId === 'alice').length;
    const ice = await A.evaluate(async () => {
      const t = H.clients.c._tx.send, pc = t.pc; // white box: the browser reports the connection failed
      const ufrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1], n = t.iceRestarts;
      const t0 = performance.now();
      Object.defineProperty(pc, 'connectionState', { get: () => 'failed', configurable: true });
      pc.dispatchEvent(new Event('connectionstatechange'));
      for (let i = 0; i < 200 && t.iceRestarts === n; i++) await new Promise(r => setTimeout(r, 25));
      const answered = Math.round(performance.now() - t0);
      delete pc.connectionState;
      for (let i = 0; i < 200 && t.recovering; i++) await new Promise(r => setTimeout(r, 50));
      return { answered, same: t.pc === pc, state: pc.connectionState, restarts: t.iceRestarts - n,
        newUfrag: /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1] !== ufrag, pcs: T.pcs() };
    });
    ok(ice.same && ice.restarts === 1 && ice.newUfrag && ice.state === 'connected' && ice.pcs.open === 2,
      `alice's send connection "fails": ICE restart with new credentials on the same connection, answered in ${ice.answered} ms (${JSON.stringify(ice)})`);
    const dec = await B.evaluate(() => T.decodingDuring('c', 'alice', () => new Promise(r => setTimeout(r, 2000))));
    const addedAfter = (await events(B, 'c', 'stream-added')).filter(e => e.userId === 'alice').length;
    ok(dec.frames > 10 && addedAfter === addedBefore, `bob keeps decoding alice's same stream after the restart (${dec.frames} frames in 3 s, no new stream-added)`);
    const iceRecv = await C.evaluate(async () => {
      const t = H.clients.c._tx.recv, pc = t.pc, n = t.iceRestarts;
      Object.defineProperty(pc, 'connectionState', { get: () => 'failed', configurable: true });
      pc.dispatchEvent(new Event('connectionstatechange'));
      for (let i = 0; i < 200 && t.iceRestarts === n; i++) await new Promise(r => setTimeout(r, 25));
      delete pc.connectionState;
      for (let i = 0; i < 200 && t.recovering; i++) await new Promise(r => setTimeout(r, 50));
      return { same: t.pc === pc, restarts: t.iceRestarts - n, state: pc.connectionState };
    });
    const cPlays = await allPlaying(C, 'c', ['alice', 'bob'], 1, 15000);
    ok(iceRecv.same && iceRecv.restarts === 1 && cPlays.good, `carol's receive connection restarts ICE the same way and she keeps playing both (${fmt(cPlays.last)})`);

    // ---- the additions' events ----
    const nq = await waitFor(() => B.evaluate(() => H.last && H.last['c:network-quality']), 8000);
    ok(nq && nq.downlinkNetworkQuality >= 1 && typeof nq.downlink.available === 'number',
      `network-quality uses the server's transport-stats too (downlink ${JSON.stringify(nq && nq.downlink)})`);
    const spk = await waitFor(async () => (await events(B, 'c', 'active-speaker')).length > 0, 10000);
    ok(spk, `active-speaker arrives (${JSON.stringify((await events(B, 'c', 'active-speaker')).slice(-1))})`);

    // ---- leave closes both connections ----
    const left = await Promise.all([A, B, C].map(p => p.evaluate(async () => { await H.clients.c.leave(); return T.pcs().open; })));
    ok(left.every(n => n === 0), `leave(): no connection left open (${left.join(', ')})`);
    // Guide 7.2.4.3: 200012 ERR_USER_ALREADY_LEAVED "该用户已离开房间" — after leave(), not before join().
    const after = await A.evaluate(async () => {
      const code = p => p.then(() => 'resolved', e => e.getCode());
      const fresh = ISDPRTC.createClient({ appId: 'x', domain: location.host });
      return { publish: await code(H.clients.c.publish(H.locals.c)), renew: await code(H.clients.c.renewSignature('x')),
        before: await code(fresh.renewSignature('x')) };
    });
    ok(after.publish === 200012 && after.renew === 200012 && after.before === 200002,
      `after leave(), publish() and renewSignature() are 200012 ERR_USER_ALREADY_LEAVED; before any join() 200002 (${JSON.stringify(after)})`);
    await ctx.close();
  } finally {
    await browser.close().catch(() => {});
  }
  const rc = await d.stop();
  ok(rc === 0, `irtcd stops cleanly (exit ${rc})`);
  diag(`test_sdk_v2.js took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

L.runMain(main);
