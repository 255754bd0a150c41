// sdk-page.js — node-side helpers of the Web SDK tests (test_sdk.js,
// test_sdk_v2.js, test_sdk_negotiation.js, test_cluster.js,
// test_android_interop.js) for pages running sdk-harness.js.
'use strict';
const path = require('path');
const { diag, waitFor } = require('./lib.js');

// A page on irtcd's origin (a secure context) with the SDK and the harness.
async function openPage(ctx, d, title) {
  const page = await ctx.newPage();
  page.on('pageerror', e => diag(`${title}: page error: ${e.message}`));
  await page.goto(d.base + '/sdk/isdprtc.dev.js'); // any document of the origin
  await page.setContent(`<!doctype html><html><head><title>${title}</title></head><body></body></html>`);
  await page.addScriptTag({ url: '/sdk/isdprtc.js' });
  await page.addScriptTag({ path: path.join(__dirname, 'sdk-harness.js') });
  return page;
}

// H.start in the page: 'ok' or the error's name, code and message.
const start = (page, key, opts) => page.evaluate(([k, o]) => H.start(k, o).then(() => 'ok',
  e => `${e.name}: ${e.getMsg ? e.getCode() + ' ' + e.getMsg() : e.message}`), [key, opts]);

// The events of one client recorded by the harness.
const events = (page, key, ev) => page.evaluate(([k, e]) => H.events.filter(x => x.key === k && x.ev === e), [key, ev]);

async function waitEvent(page, key, ev, pred = () => true, ms = 15000) {
  return waitFor(async () => (await events(page, key, ev)).find(pred), ms, 200);
}

// Every listed user has a remote video playing (time advancing) at least
// minWidth wide; a user may be [userId, minWidth] (0: audio only).  opts.type:
// only streams of that type ('main' or 'auxiliary').
async function allPlaying(page, key, users, minWidth, ms = 30000, opts = {}) {
  let last = [];
  const good = await waitFor(async () => {
    last = await page.evaluate(k => H.videos(k, 700), key);
    return users.every(u => {
      const [name, w] = Array.isArray(u) ? u : [u, minWidth];
      return last.some(v => v.userId === name && (!opts.type || v.type === opts.type) && v.width >= w && v.advancing);
    });
  }, ms, 300);
  return { good, last };
}

// The video leaving one client's sending connection, by rid ('-' without
// simulcast): size, bytes and frames sent, Chromium's quality limitation
// and codec ({} before it publishes).
const outbound = (page, key) => page.evaluate(async k => {
  const pc = H.clients[k]._tx.send.pc, out = {}, codecs = {};
  if (!pc) return out;
  const stats = await pc.getStats();
  stats.forEach(s => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
  stats.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') {
      out[s.rid || '-'] = { w: s.frameWidth || 0, h: s.frameHeight || 0, bytes: s.bytesSent || 0,
        frames: s.framesEncoded || 0, limit: s.qualityLimitationReason, codec: codecs[s.codecId] };
    }
  });
  return out;
}, key);

const fmt = vs => vs.map(v => `${v.userId}:${v.width}x${v.height}${v.advancing ? '' : ' (still)'}`).join(', ') || 'none';

module.exports = { openPage, start, events, waitEvent, allPlaying, outbound, fmt };
