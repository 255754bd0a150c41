// test_datachannel.js — room messages over data channels (issue 14) through
// the Web SDK's sendMessage() / 'message' event, in Debian's headless
// Chromium against a real irtcd: page A runs alice, page B runs bob and
// carol (audio only, to spare the machine's two cores).  alice sends 1,000
// reliable strings to the room (bob and carol get all of them, in order),
// unreliable ones, binary messages to bob only (carol gets none of them), a
// 64 KiB binary message (compared by checksum) and one over the server's
// a=max-message-size (refused by the browser).  Figures: the 1,000
// messages' delivery time.  Then an aiortc user (aiortc_peer.py, its own
// SCTP stack) joins the room: its broadcast reaches the pages and it answers
// what alice sends it.  Prints TAP.
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
const { ok, diag, waitFor } = L;
const { spawn, spawnSync } = require('child_process');
const PYTHON = '/usr/bin/python3'; // Debian's, with python3-aiortc
const P = require('./sdk-page.js');
const N = 1000;

// Page side: every message each client gets, binary ones as {len, sum}.
function helpers() {
  window.M = {
    got: {},
    listen(key) {
      this.got[key] = [];
      H.clients[key].on('message', e => {
        let d = e.data;
        if (typeof d !== 'string') {
          const b = new Uint8Array(d);
          let sum = 0;
          for (const x of b) sum = (sum * 31 + x) >>> 0;
          d = { len: b.length, sum };
        }
        this.got[key].push([e.userId, d]);
      });
    },
    // Until the channels are open: a probe to a user not in the room (dropped by the server).
    async ready(key, ms) {
      const end = performance.now() + ms;
      while (performance.now() < end) {
        try {
          H.clients[key].sendMessage('probe', { userId: 'nobody' });
          H.clients[key].sendMessage('probe', { userId: 'nobody', reliable: false });
          return true;
        } catch (e) { await new Promise(r => setTimeout(r, 100)); }
      }
      return false;
    },
    bytes(n, seed) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 255;
      let sum = 0;
      for (const x of b) sum = (sum * 31 + x) >>> 0;
      return { buf: b.buffer, sum };
    },
  };
}

async function openPage(ctx, d, title) {
  const page = await ctx.newPage();
  page.on('pageerror', e => diag(`${title}: page error: ${e.message}`));
  await page.goto(d.base + '/sdk/isdprtc.dev.js'); // any document of the origin (a secure context)
  await page.setContent(`<!doctype html><html><head><title>${title}</title></head><body></body></html>`);
  await page.addScriptTag({ url: '/sdk/isdprtc.js' });
  await page.addScriptTag({ path: path.join(__dirname, 'sdk-harness.js') });
  await page.evaluate(helpers);
  return page;
}

const got = (page, key) => page.evaluate(k => M.got[k], key);

async function main() {
  const d = await L.startDaemon({ workers: 1 });
  const browser = await L.launchBrowser({});
  try {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const A = await openPage(ctx, d, 'alice');
    const B = await openPage(ctx, d, 'bob+carol');
    const audio = { stream: { audio: true, video: false } };
    const s = await Promise.all([
      P.start(A, 'alice', Object.assign({ channel: 'dc', userId: 'alice' }, audio)),
      P.start(B, 'bob', Object.assign({ channel: 'dc', userId: 'bob' }, audio)),
      P.start(B, 'carol', Object.assign({ channel: 'dc', userId: 'carol' }, audio)),
    ]);
    ok(s.every(x => x === 'ok'), `alice, bob and carol join and publish audio (${s.join(', ')})`);
    await A.evaluate(() => M.listen('alice'));
    await B.evaluate(() => { M.listen('bob'); M.listen('carol'); });
    const ready = [await A.evaluate(() => M.ready('alice', 20000)), await B.evaluate(() => M.ready('bob', 20000)),
      await B.evaluate(() => M.ready('carol', 20000))];
    ok(ready.every(Boolean), `every client's data channels open (${ready.join(', ')})`);

    // 1,000 reliable strings to the room
    const t0 = Date.now();
    await A.evaluate(n => { for (let i = 0; i < n; i++) H.clients.alice.sendMessage(`m${i}`); }, N);
    const all = await waitFor(async () => (await B.evaluate(() => M.got.bob.length + M.got.carol.length)) >= 2 * N, 30000, 100);
    const ms = Date.now() - t0;
    const want = Array.from({ length: N }, (_, i) => ['alice', `m${i}`]);
    const [gb, gc] = [await got(B, 'bob'), await got(B, 'carol')];
    ok(all && JSON.stringify(gb) === JSON.stringify(want), `bob gets all ${N} reliable messages, in order, from alice (${gb.length})`);
    ok(all && JSON.stringify(gc) === JSON.stringify(want), `carol likewise (${gc.length})`);
    diag(`${N} reliable messages to two receivers in ${ms} ms`);
    ok((await got(A, 'alice')).length === 0, 'alice gets none of her own messages back');

    // unreliable
    await B.evaluate(() => { M.got.bob = []; M.got.carol = []; });
    await A.evaluate(() => { for (let i = 0; i < 200; i++) H.clients.alice.sendMessage(`u${i}`, { reliable: false }); });
    await waitFor(async () => (await got(B, 'bob')).length >= 200, 5000, 100);
    const ub = await got(B, 'bob');
    ok(ub.length >= 150 && ub.every(([f, m]) => f === 'alice' && /^u\d+$/.test(m)),
      `unreliable messages arrive (${ub.length} of 200 on loopback)`);

    // to bob only, then a reliable broadcast: carol's ordered channel would deliver the private ones first
    await B.evaluate(() => { M.got.bob = []; M.got.carol = []; });
    await A.evaluate(() => {
      for (let i = 0; i < 5; i++) H.clients.alice.sendMessage(new Uint8Array([i, 1, 2, 3]).buffer, { userId: 'bob' });
      H.clients.alice.sendMessage('end');
    });
    await waitFor(async () => (await got(B, 'bob')).length >= 6 && (await got(B, 'carol')).length >= 1, 10000, 100);
    const pb = await got(B, 'bob'), pc = await got(B, 'carol');
    ok(pb.filter(([, m]) => typeof m === 'object').length === 5, `bob gets the 5 binary messages addressed to him (${JSON.stringify(pb.slice(0, 2))}…)`);
    ok(pc.length === 1 && pc[0][1] === 'end', `carol gets only the broadcast after them (${JSON.stringify(pc)})`);

    // 64 KiB binary, and one over a=max-message-size (262144: the browser refuses to send it)
    await B.evaluate(() => { M.got.bob = []; });
    const big = await A.evaluate(() => {
      const b = M.bytes(65536, 5);
      H.clients.alice.sendMessage(b.buf, { userId: 'bob' });
      let refused = false;
      try { H.clients.alice.sendMessage(new ArrayBuffer(300000), { userId: 'bob' }); } catch (e) { refused = true; }
      return { sum: b.sum, refused };
    });
    await waitFor(async () => (await got(B, 'bob')).length >= 1, 10000, 100);
    const bb = await got(B, 'bob');
    ok(bb.length === 1 && bb[0][1].len === 65536 && bb[0][1].sum === big.sum, `a 64 KiB binary message arrives whole (${JSON.stringify(bb)})`);
    ok(big.refused, 'a 300,000-byte message is refused at sendMessage (over the answer\'s a=max-message-size)');

    // bob answers alice
    await B.evaluate(() => H.clients.bob.sendMessage('pong', { userId: 'alice' }));
    ok(await waitFor(async () => (await got(A, 'alice')).some(([f, m]) => f === 'bob' && m === 'pong'), 10000, 100),
      'bob\'s reply reaches alice');

    // an aiortc user in the same room: its SCTP stack and Chromium's, through irtcd
    if (spawnSync(PYTHON, ['-c', 'import aiortc']).status !== 0) {
      ok(true, '# SKIP aiortc interop: python3-aiortc is not installed');
    } else {
      const t = (await L.request(d.base, 'POST', '/demo/token', { channelId: 'dc', userId: 'bot', role: 1 })).json;
      const bot = spawn(PYTHON, [path.join(__dirname, 'aiortc_peer.py'), '127.0.0.1', String(d.httpsPort), t.appId, 'dc',
        'bot', t.signature, '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const lines = [];
      bot.stdout.on('data', b => lines.push(...String(b).split('\n').filter(Boolean)));
      try {
        await B.evaluate(() => { M.got.bob = []; M.got.carol = []; });
        await A.evaluate(() => { M.got.alice = []; });
        const up = await waitFor(() => lines.includes('ready'), 30000, 100);
        ok(up, `an aiortc user joins, publishes audio and opens its two channels (${lines.slice(0, 3).join('; ')})`);
        const hello = await waitFor(async () => (await got(A, 'alice')).some(([f, m]) => f === 'bot' && m === 'hello from aiortc') &&
          (await got(B, 'carol')).some(([f, m]) => f === 'bot' && m === 'hello from aiortc'), 10000, 100);
        ok(hello, 'its broadcast reaches the Chromium users');
        const b = await A.evaluate(() => {
          H.clients.alice.sendMessage('ping', { userId: 'bot' });
          const x = M.bytes(1000, 9);
          H.clients.alice.sendMessage(x.buf, { userId: 'bot' });
          return x.sum;
        });
        const echoed = await waitFor(async () => {
          const g = await got(A, 'alice');
          return g.some(([f, m]) => f === 'bot' && m === 'echo:ping') && g.some(([f, m]) => f === 'bot' && m.len === 1000 && m.sum === b);
        }, 10000, 100);
        ok(echoed, `aiortc answers a string and a binary message from Chromium, to alice only (${JSON.stringify((await got(A, 'alice')).slice(0, 3))})`);
        ok((await got(B, 'bob')).every(([f, m]) => f !== 'bot' || m === 'hello from aiortc'), 'bob gets none of the answers meant for alice');
      } finally {
        bot.kill();
      }
    }

    const st = await L.request(d.base, 'GET', '/metrics');
    const total = name => (String(st.body).match(new RegExp(`^${name}\\{[^}]*\\} (\\d+)`, 'gm')) || [])
      .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
    ok(total('irtc_media_data_messages_sent_total') >= 2 * N, `/metrics: ${total('irtc_media_data_messages_sent_total')} messages sent`);
    await ctx.close();
  } finally {
    await browser.close().catch(() => {});
  }
  const rc = await d.stop();
  ok(rc === 0, `irtcd stops cleanly (exit ${rc})`);
}

L.runMain(main);
