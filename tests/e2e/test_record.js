// test_record.js — issue #6 end to end: two headless Chromium pages publish
// 720p camera + microphone through the signaling protocol (rtc-client.js),
// one in H.264, one in VP8, and a back end records them with the REST API
// exactly as an integrator would: captureVideo mode 0 (alice's H.264 copied)
// and mode 1 (both composed, bob large), captureImage to the NAS, stopCapture
// by id and by channel, a recording of bob (VP8, transcoded) that ends when
// the room empties, and auto-record (addRule + startAutoRecord records a room
// from its first publish; stopAutoRecord records no new room).  Every file is
// checked with ffprobe / ffmpeg, every row in SQLite and queryRecordingList,
// and the signed callbacks arrive at a local endpoint.
'use strict';
const fs = require('fs');
const http = require('http');
const crypto = require('crypto');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
let L;
try {
  L = require('./lib.js');
  require('playwright-core');
  execFileSync('ffprobe', ['-version'], { stdio: 'ignore' });
  execFileSync('sqlite3', ['-version'], { stdio: 'ignore' });
} catch (e) {
  console.log('1..0 # SKIP playwright-core, ffprobe or sqlite3 missing (npm ci in tests/e2e; apt install ffmpeg sqlite3)');
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

async function joinAndPublish(page, d, app, channel, user, codec) {
  const t = d.token(app.appId, channel, user);
  const j = await page.evaluate(t => window.c.request('join', { appId: t.appId, channelId: t.channelId,
    userId: t.userId, signature: t.signature, ctime: t.ctime, role: t.role }), t);
  const p = j.ok ? await page.evaluate(codec => window.c.publish({ codec }), codec) : j;
  const up = p.ok && await page.evaluate(id => window.c.waitEvent('stream-published', e => e.stream.streamId === id)
    .then(() => true, () => false), p.data.streamId);
  ok(up && p.data.stream.videoCodec === codec, `${user} joins ${channel} and publishes 720p ${codec} (connected)`);
  return p.ok ? p.data.streamId : null;
}

// Waits until the page's encoder sends 1280x720 (the file's size is what it sends).
async function sending720p(page, streamId) {
  return waitFor(async () => {
    const s = await page.evaluate(id => window.c.stats('pub-' + id), streamId);
    return s['out-video'] && s['out-video'].width === 1280 && s['out-video'].frames > 30 ? s['out-video'] : null;
  }, 15000, 300);
}

async function leave(page) {
  return page.evaluate(async () => {
    const r = await window.c.request('leave');
    for (const pc of Object.values(window.c.pcs)) pc.close();
    window.c.pcs = {};
    return r.ok;
  });
}

// `ffmpeg -v error -i FILE -f null -` gives the null muxer frame times in
// 1/r_frame_rate, a rate it guesses from the first frames.  WebRTC video has a
// variable frame rate (encoders adapt between 15 and 30 fps), so two frames can
// round to one tick there, which ffmpeg reports as "non monotonically increasing
// dts to muxer": a property of that check, not of the file (its timestamps are
// strictly increasing at 90 kHz).  So: no other message from the exact command,
// and nothing at all when the frames keep the file's own time base.
const NULL_MUXER_VFR = /Application provided invalid, non monotonically increasing dts to muxer/;

function probe(file) {
  const p = spawnSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' });
  let info = {};
  try { info = JSON.parse(p.stdout); } catch (e) { /* reported below */ }
  const out = { duration: Number((info.format || {}).duration || 0), errors: (p.stderr || '').trim(), video: {}, audio: {} };
  for (const s of info.streams || []) if (!out[s.codec_type].codec_name) out[s.codec_type] = s;
  const dec = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  // ("Last message repeated N times" belongs to the line before it.)
  let notice = false;
  const other = [];
  out.vfrNotices = 0;
  for (const l of (dec.stderr || '').split('\n').filter(l => l.trim())) {
    if (!/Last message repeated/.test(l)) notice = NULL_MUXER_VFR.test(l);
    if (notice) out.vfrNotices++;
    else other.push(l);
  }
  out.errors = [out.errors].concat(other).join('\n').trim();
  const exact = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-enc_time_base:v', '-1', '-f', 'null', '-'], { encoding: 'utf8' });
  out.errors += (exact.stderr || '').trim();
  return out;
}

function rows(d, where) {
  const db = path.join(d.dir, 'var', 'irtc.db');
  // rule ids exceed 2^53: read them as text
  const out = execFileSync('sqlite3', ['-json', db,
    `SELECT *, CAST(rule_id AS TEXT) AS rule_id FROM recordings WHERE ${where} ORDER BY started_at_ms`],
    { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

async function finished(d, id) {
  return waitFor(() => { const r = rows(d, `recording_id = '${id}'`)[0]; return r && r.status !== 0 ? r : null; }, 15000, 250);
}

// The MP4 of a row: complete, H.264 1280x720, AAC, duration within 1 s of wall, decodes cleanly.
function checkVideo(row, wallS, what) {
  if (!ok(row && row.status === 1 && fs.existsSync(row.path), `${what}: row complete, file ${row ? row.path : '?'}`)) {
    diag(JSON.stringify(row));
    return;
  }
  const p = probe(row.path);
  ok(p.video.codec_name === 'h264' && p.video.width === 1280 && p.video.height === 720,
    `${what}: h264 1280x720 (ffprobe: ${p.video.codec_name} ${p.video.width}x${p.video.height}, ${p.video.avg_frame_rate} fps)`);
  ok(p.audio.codec_name === 'aac' && p.audio.sample_rate === '48000',
    `${what}: aac 48 kHz (ffprobe: ${p.audio.codec_name} ${p.audio.sample_rate} ${p.audio.channels} ch)`);
  ok(Math.abs(p.duration - wallS) <= 1.0, `${what}: duration ${p.duration.toFixed(2)} s for ${wallS.toFixed(2)} s of wall time (±1 s)`);
  ok(p.errors === '', `${what}: ffmpeg decodes every frame without an error${p.errors ? ': ' + p.errors.slice(0, 300) : ''}` +
    (p.vfrNotices ? ` (${p.vfrNotices} null-muxer VFR notices, r_frame_rate ${p.video.r_frame_rate})` : ''));
  ok(row.bytes === fs.statSync(row.path).size && row.bytes > 100000 && Math.abs(row.duration_ms / 1000 - p.duration) <= 0.5 &&
    row.ended_at_ms > row.started_at_ms, `${what}: SQLite has its bytes (${row.bytes}), duration (${row.duration_ms} ms) and end time`);
  diag(`${what}: ${row.path.split('/').slice(-3).join('/')} ${(row.bytes / 1e6).toFixed(2)} MB, ${p.duration.toFixed(2)} s, ` +
    `video ${p.video.codec_name} ${p.video.width}x${p.video.height} ${p.video.avg_frame_rate} fps, audio ${p.audio.codec_name} ` +
    `${p.audio.sample_rate} Hz, ${row.dropped_packets} dropped packets`);
}

// The integrator's callback endpoint: keeps every POST, answers 200.
async function callbackEndpoint() {
  const posts = [];
  const srv = http.createServer((req, res) => {
    let b = '';
    req.on('data', c => (b += c));
    req.on('end', () => {
      try { posts.push({ path: req.url, sign: req.headers['x-hw-sign'], body: JSON.parse(b) }); } catch (e) { posts.push({ path: req.url, bad: b }); }
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    });
  });
  await new Promise(r => srv.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${srv.address().port}/cb`, posts, close: () => srv.close() };
}

// X-HW-SIGN = Base64(HMAC-SHA256(accessKey, appId + accessKey + channelId + userId + extraData + authTimestamp)).
function signedOk(app, p) {
  const b = p.body || {};
  const msg = app.appId + app.accessKey + b.channelId + b.userId + b.extraData + b.authTimestamp;
  return p.sign === crypto.createHmac('sha256', app.accessKey).update(msg).digest('base64');
}

async function main() {
  const d = await L.startDaemon({ workers: 2 }); // waits for any other e2e test on the machine first
  const t0 = Date.now();
  fs.mkdirSync(path.join(d.dir, 'nas')); // the NAS mount point (irtcd never creates it)
  const browser = await L.launchBrowser({ realisticMedia: true });
  const cb = await callbackEndpoint();
  try {
    const app = d.app();
    const tok = await L.request(d.base, 'POST', '/oauth2/oauth/rest_token', { client_id: 'isdp-saas-openapi',
      client_secret: 'isdp-saas-openapi', grant_type: 'password', username: app.appId, password: app.appToken });
    const auth = { authorization: 'bearer ' + (tok.json || {}).access_token };
    const api = async (name, body) => (await L.request(d.base, 'POST', '/openapi/v1/rtcLive/' + name,
      Object.assign({ appId: app.appId }, body), auth)).json || {};
    // Rule ids exceed 2^53: keep their digits as text (API.md, addRule).
    const addRule = async body => {
      const r = await L.request(d.base, 'POST', '/openapi/v1/rtcLive/addRule', Object.assign({ appId: app.appId,
        storageType: 'NAS', recordPath: '/e2e/{channel_id}/', recordingType: 0, recordingModel: 0,
        callbackUrl: cb.url, status: true }, body), auth);
      const m = /"recordRuleId":(\d+)/.exec(r.body);
      return m ? m[1] : null;
    };
    const single = await addRule({ fileName: 'single' });
    const mixed = await addRule({ fileName: 'mixed', recordingModel: 1 });
    const snaps = await addRule({ fileName: 'snap', recordingType: 1, captureInterval: 1, captureNums: 3 });
    const auto = await addRule({ fileName: 'auto_{channel_id}' });
    ok(single && mixed && snaps && auto, 'four NAS rules: single, mixed, snapshots, auto');

    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    const A = await openClient(ctx, d), B = await openClient(ctx, d);
    const sA = await joinAndPublish(A, d, app, 'e1', 'alice', 'H264');
    const sB = await joinAndPublish(B, d, app, 'e1', 'bob', 'VP8');
    const [oa, ob] = await Promise.all([sending720p(A, sA), sending720p(B, sB)]);
    ok(oa && ob, `both encoders send 1280x720 (alice ${oa ? oa.width + 'x' + oa.height : '-'}, bob ${ob ? ob.width + 'x' + ob.height : '-'})`);

    // ---- captureVideo mode 0 + mode 1, captureImage; stop by id and by channel ----
    const start = Date.now();
    const v0 = await api('captureVideo', { channelId: 'e1', userId: 'alice', recordRuleId: single, extraData: 'e2e' });
    const v1 = await api('captureVideo', { channelId: 'e1', userId: 'bob', recordRuleId: mixed });
    const im = await api('captureImage', { channelId: 'e1', userId: 'alice', recordRuleId: snaps });
    const id0 = (v0.data || {}).recordingId, id1 = (v1.data || {}).recordingId, idI = (im.data || {}).recordingId;
    ok(/^\d{18}$/.test(id0 || '') && /^\d{18}$/.test(id1 || '') && /^\d{18}$/.test(idI || ''),
      `captureVideo (mode 0, mode 1) and captureImage answer recordingIds (${id0}, ${id1}, ${idI})`);
    const live = rows(d, `channel_id = 'e1' AND status = 0`).length;
    ok(live === 3, `three rows with status recording at once (${live})`);
    await sleep(8000);
    const st0 = await api('stopCapture', { recordingId: id0, channelId: '' });
    const wall0 = (Date.now() - start) / 1000;
    const st1 = await api('stopCapture', { channelId: 'e1' });
    const wall1 = (Date.now() - start) / 1000;
    ok(st0.errorCode === '0' && st1.errorCode === '0', 'stopCapture by recordingId, then by channelId');
    const r0 = await finished(d, id0), r1 = await finished(d, id1), rI = await finished(d, idI);
    checkVideo(r0, wall0, 'mode 0 (alice, H.264 copied)');
    ok(r0 && r0.user_id === 'alice' && r0.mode === 0 && r0.extra_data === 'e2e' && r0.path.endsWith('/nas/e2e/e1/single.mp4'),
      'mode 0: the row names alice, mode 0, extraData, and NAS base + recordPath + fileName.mp4');
    checkVideo(r1, wall1, 'mode 1 (bob large, alice as thumbnail)');
    const jpgs = ['snap.jpg', 'snap-1.jpg', 'snap-2.jpg'].map(f => path.join(d.dir, 'nas', 'e2e', 'e1', f));
    const pics = jpgs.map(f => fs.existsSync(f) ? probe(f) : null);
    ok(pics.every(p => p && p.video.codec_name === 'mjpeg' && p.video.width === 1280 && p.video.height === 720 && !p.errors),
      `captureImage: 3 JPEGs, each mjpeg 1280x720 (${pics.map(p => p ? p.video.codec_name + ' ' + p.video.width + 'x' + p.video.height : 'missing').join(', ')})`);
    ok(rI && rI.status === 1 && rI.kind === 1 && rI.bytes === jpgs.reduce((n, f) => n + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0),
      `captureImage: SQLite row complete, bytes = the pictures' (${rI && rI.bytes})`);
    const cbOf = id => cb.posts.filter(p => p.body && p.body.recordingId === id);
    await waitFor(() => cbOf(id0).length && cbOf(id1).length && cbOf(idI).length === 3, 10000);
    const c0 = cbOf(id0)[0] || {}, b0 = c0.body || {};
    ok(cbOf(id0).length === 1 && b0.filePath === r0.path && b0.fileName === 'single.mp4' && b0.userId === 'alice' &&
      b0.extraData === 'e2e' && b0.channelId === 'e1' && b0.fileId === '' && signedOk(app, c0),
      `the mode 0 callback: filePath, fileName, userId, extraData, a valid X-HW-SIGN (${JSON.stringify(b0).slice(0, 160)})`);
    ok(cbOf(id1).length === 1 && cbOf(id1)[0].body.filePath === r1.path && signedOk(app, cbOf(id1)[0]),
      'the mode 1 callback, signed');
    ok(cbOf(idI).map(p => p.body.filePath).sort().join() === jpgs.slice().sort().join() && cbOf(idI).every(p => p.body.imageData === '' && signedOk(app, p)),
      'three snapshot callbacks, one per picture with its filePath (NAS: no imageData), signed');
    const list = await api('queryRecordingList', { channelId: 'e1' });
    const byId = Object.fromEntries(((list.data || {}).list || []).map(x => [x.recordingId, x]));
    ok(list.errorCode === '0' && list.data.totalCount === 3 && [id0, id1, idI].every(id => byId[id] && byId[id].status === 'complete'),
      'queryRecordingList lists the three as complete');

    // ---- a recording of bob (VP8, transcoded) ends when the room empties ----
    const start2 = Date.now();
    const v2 = await api('captureVideo', { channelId: 'e1', userId: 'bob', recordRuleId: single, fileName: 'empties' });
    const id2 = (v2.data || {}).recordingId;
    ok(id2, 'captureVideo mode 0 of bob (VP8)');
    await sleep(5000);
    ok(await leave(A) && await leave(B), 'alice and bob leave: the room empties');
    const wall2 = (Date.now() - start2) / 1000;
    const r2 = await finished(d, id2);
    checkVideo(r2, wall2, 'mode 0 (bob, VP8 transcoded), ended by the room emptying');

    // ---- auto-record ----
    const sa = await api('startAutoRecord', { recordRuleId: auto });
    ok(sa.errorCode === '0', 'startAutoRecord');
    const sE2 = await joinAndPublish(A, d, app, 'e2', 'alice', 'H264');
    const pubAt = Date.now();
    ok(sE2 && rows(d, `channel_id = 'e2'`).length === 1, 'the first publish in e2 starts a recording');
    await sendingOrWait(A, sE2);
    await sleep(5000);
    ok((await api('stopAutoRecord', { recordRuleId: auto })).errorCode === '0', 'stopAutoRecord');
    const sE3 = await joinAndPublish(B, d, app, 'e3', 'bob', 'VP8');
    await sleep(1000);
    ok(sE3 && rows(d, `channel_id = 'e3'`).length === 0, 'after stopAutoRecord, a new room (e3) is not recorded');
    ok(rows(d, `channel_id = 'e2'`)[0].status === 0, 'the e2 recording goes on after stopAutoRecord');
    await leave(A);
    const wall3 = (Date.now() - pubAt) / 1000;
    const auto0 = rows(d, `channel_id = 'e2'`)[0];
    const r3 = await finished(d, auto0.recording_id);
    ok(r3 && r3.user_id === 'alice' && r3.rule_id === auto && r3.path.endsWith('/auto_e2.mp4'),
      'auto-record: the rule, the first publisher alice, auto_{channel_id}.mp4');
    checkVideo(r3, wall3, 'auto-record (from the first publish until the room emptied)');
    await leave(B);

    const h = await api('checkRtcHeath', { version: 'V1' });
    ok(h.data === 'OK', 'checkRtcHeath: OK after all of it');
    diag(`test time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await browser.close().catch(() => {});
    cb.close();
    if (L.failures() || d.child.exitCode !== null) diag('irtcd log (end):\n' + d.log().split('\n').slice(-60).join('\n'));
    const rc = await d.stop();
    ok(rc === 0, `irtcd stops cleanly (exit ${rc})`);
  }
}

// The auto-recorded file is measured from the publish; make sure 720p flows first.
async function sendingOrWait(page, id) {
  if (id) await sending720p(page, id);
}

L.runMain(main);
