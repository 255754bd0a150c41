// test_sdk_bundle.js — the committed Web SDK build (web/sdk/isdprtc.js,
// isdprtc.dev.js, isdprtc.esm.js and their maps) is what tools/sdk/build.mjs
// makes from web/sdk/src today; VERSION is the release's; the builds load
// (CommonJS, ES module) with every entry of the guide; the TypeScript
// declarations compile the guide's sample with --strict.  Needs
// tools/sdk/node_modules (npm ci there; tools/install-test-deps.sh does it):
// without it the build comparisons are skipped.  Prints TAP.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const top = process.env.top_srcdir || path.resolve(__dirname, '../..');
const sdk = path.join(top, 'web/sdk');
const tools = path.join(top, 'tools/sdk');
let n = 0, failed = 0;
function ok(cond, desc) { n++; if (!cond) failed++; console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`); return cond; }
function skip(desc, why) { n++; console.log(`ok ${n} - ${desc} # SKIP ${why}`); }

const FILES = ['isdprtc.js', 'isdprtc.js.map', 'isdprtc.dev.js', 'isdprtc.esm.js', 'isdprtc.esm.js.map'];
const ENTRIES = ['checkSystemRequirements', 'VERSION', 'getDevices', 'createClient', 'createStream'];

async function main() {
  for (const f of FILES.concat(['isdprtc.d.ts'])) ok(fs.existsSync(path.join(sdk, f)), `web/sdk/${f} is committed`);

  const haveTools = fs.existsSync(path.join(tools, 'node_modules/esbuild')) && fs.existsSync(path.join(tools, 'node_modules/typescript'));
  if (haveTools) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'irtc-sdk-'));
    try {
      execFileSync('node', [path.join(tools, 'build.mjs'), '--out', out], { stdio: 'pipe' });
      const stale = FILES.filter(f => !fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(sdk, f))));
      ok(stale.length === 0, `the committed build matches web/sdk/src (${stale.length ? 'stale: ' + stale.join(', ') + ' — run make sdk' : 'all ' + FILES.length + ' files'})`);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
    try {
      execFileSync(path.join(tools, 'node_modules/.bin/tsc'), ['--noEmit', '--strict', '--target', 'es2018', '--lib', 'es2018,dom',
        '--module', 'commonjs', path.join(__dirname, 'guide-sample.ts')], { stdio: 'pipe' });
      ok(true, 'isdprtc.d.ts: the guide\'s sample compiles with tsc --strict');
    } catch (e) {
      ok(false, 'isdprtc.d.ts: tsc --strict fails:\n# ' + String(e.stdout || e.message).split('\n').join('\n# '));
    }
  } else {
    skip('the committed build matches web/sdk/src', 'tools/sdk/node_modules missing (npm ci in tools/sdk)');
    skip('isdprtc.d.ts compiles the guide\'s sample', 'tools/sdk/node_modules missing');
  }

  const ac = /AC_INIT\(\[irtc\],\s*\[([^\]]+)\]/.exec(fs.readFileSync(path.join(top, 'configure.ac'), 'utf8'));
  const cjs = require(path.join(sdk, 'isdprtc.js'));
  ok(ac && cjs.VERSION === ac[1], `ISDPRTC.VERSION ${cjs.VERSION} is the release's (configure.ac ${ac && ac[1]})`);
  ok(ENTRIES.every(k => k in cjs), `isdprtc.js loaded as CommonJS has ${ENTRIES.join(', ')}`);
  ok(cjs.default && cjs.default.createClient === cjs.createClient, 'and a default export (import ISDPRTC from ...)');
  const dev = require(path.join(sdk, 'isdprtc.dev.js'));
  ok(ENTRIES.every(k => k in dev) && dev.VERSION === cjs.VERSION, 'isdprtc.dev.js: the same API, readable');
  const esm = await import(path.join(sdk, 'isdprtc.esm.js'));
  ok(ENTRIES.every(k => k in esm && k in esm.default), 'isdprtc.esm.js: named exports and the default export');
  ok(/^\/\/# sourceMappingURL=isdprtc\.js\.map$/m.test(fs.readFileSync(path.join(sdk, 'isdprtc.js'), 'utf8')),
    'isdprtc.js names its source map');
  const map = JSON.parse(fs.readFileSync(path.join(sdk, 'isdprtc.js.map'), 'utf8'));
  ok(map.sources.includes('src/client.js') && map.sourcesContent && map.sourcesContent.length === map.sources.length,
    'the source map points at web/sdk/src with the sources inlined');
  const min = fs.statSync(path.join(sdk, 'isdprtc.js')).size, readable = fs.statSync(path.join(sdk, 'isdprtc.dev.js')).size;
  ok(min < readable * 0.7, `isdprtc.js is minified (${min} bytes; readable ${readable})`);

  // Argument checks that need no browser.
  let e1 = null;
  try { cjs.createClient({ domain: 'x' }); } catch (e) { e1 = e; }
  ok(e1 && e1.getCode() === 200006 && e1 instanceof cjs.RtcError, `createClient without appId: RtcError 200006 (${e1 && e1.getMsg()})`);
  const c = cjs.createClient({ appId: 'app', domain: 'irtc.example:8443' });
  ok(typeof c.join === 'function' && c.getConnectionState() === 'DISCONNECTED', 'createClient returns a Client, DISCONNECTED');
  const bad = await c.join('room', { userId: 'bad user', signature: 't' }).then(() => null, e => e);
  ok(bad && bad.getCode() === 200006, `join with a userId outside [A-Za-z0-9_-]: 200006 (${bad && bad.getMsg()})`);
  const s = cjs.createStream({ audio: true, video: true, userId: 'u1' });
  ok(s.getType() === 'local' && s.getUserId() === 'u1' && !s.hasVideo() && s.muteAudio() === false && /^local-/.test(s.getId()),
    'createStream: a local stream; before initialize it has no tracks and muteAudio() is false');
  let e2 = null;
  try { cjs.createStream({ video: true, resolution: '4k' }); } catch (e) { e2 = e; }
  ok(e2 && e2.getCode() === 200006, 'createStream refuses an unknown resolution');
  const sub = await c.subscribe(s).then(() => null, e => e);
  ok(sub && sub.getCode() === 200006, 'subscribe(a local stream): 200006');

  // The simulcast ladder (media.js, a pure function): lowest first, rids q/h/f.
  // (Copied as .mjs: web/sdk/src has no package.json saying "type": "module", which older Node needs.)
  const modDir = fs.mkdtempSync(path.join(os.tmpdir(), 'irtc-sdk-src-'));
  for (const m of ['media', 'errors']) {
    fs.writeFileSync(path.join(modDir, m + '.mjs'), fs.readFileSync(path.join(sdk, 'src', m + '.js'), 'utf8').replace(/from '\.\/(\w+)\.js'/g, "from './$1.mjs'"));
  }
  const media = await import(path.join(modDir, 'media.mjs'));
  fs.rmSync(modDir, { recursive: true, force: true });
  const lad = (p, sim, h) => media.cameraEncodings(p, sim, h).map(e => `${e.rid || '-'}/${e.scaleResolutionDownBy || 1}/${e.maxBitrate / 1000}`).join(' ');
  const ladders = { '720p': lad('720p', true, 720), '1080p': lad('1080p', true, 1080), '720p off': lad('720p', false, 720),
    '480p on': lad('480p', true, 480), '360p on': lad('360p', true, 360), '720p camera giving 480': lad('720p', true, 480) };
  ok(ladders['720p'] === 'q/4/150 h/2/500 f/1/1500' && ladders['1080p'] === 'q/6/150 h/3/500 f/1/3000' &&
    ladders['720p off'] === '-/1/2000' && ladders['480p on'] === 'q/2.6666666666666665/150 f/1/1000' &&
    ladders['360p on'] === 'q/2/150 f/1/700' && ladders['720p camera giving 480'] === 'q/2.6666666666666665/150 f/1/1500',
  `simulcast layers: 320x180 ~150 kbps, 640x360 ~500 kbps, full size (${JSON.stringify(ladders)})`);

  const dts = fs.readFileSync(path.join(sdk, 'isdprtc.d.ts'), 'utf8');
  const names = ['join', 'leave', 'publish', 'unpublish', 'subscribe', 'unsubscribe', 'switchRole', 'initialize', 'play', 'stop',
    'resume', 'close', 'muteAudio', 'muteVideo', 'unmuteAudio', 'unmuteVideo', 'getId', 'getUserId', 'hasAudio', 'hasVideo',
    'getAudioTrack', 'getVideoTrack', 'getType', 'getStreamInfo', 'setAudioVolume', 'getAudioLevel', 'getCode', 'getMsg',
    "'peer-join'", "'peer-leave'", "'stream-added'", "'stream-removed'", "'stream-updated'", "'stream-subscribed'",
    "'stream-published'", "'client-banned'", "'error'", "'mute-audio'", "'unmute-audio'", "'mute-video'", "'unmute-video'",
    "'signature-expired'", "'camera-changed'", 'setRemoteVideoLayer', 'maxLayer', 'simulcast', "'stream-video-paused'",
    "'stream-video-resumed'", "'stream-layer-changed'", "'active-speaker'"].concat(ENTRIES);
  const missing = names.filter(x => !dts.includes(x));
  ok(missing.length === 0, `isdprtc.d.ts declares every API and event of the guide${missing.length ? ' (missing ' + missing.join(', ') + ')' : ''}`);

  // The demo page uses the public API only (no SDK internals: members starting with "_").
  const demoJs = fs.readFileSync(path.join(top, 'web/demo/demo.js'), 'utf8');
  const internals = demoJs.match(/\.\_[A-Za-z]\w*/g) || [];
  ok(internals.length === 0 && /ISDPRTC\.createClient/.test(demoJs) && /\/demo\/token/.test(demoJs),
    `web/demo/demo.js uses only ISDPRTC's public API and /demo/token${internals.length ? ' (uses ' + internals.join(', ') + ')' : ''}`);

  console.log(`1..${n}`);
  return failed === 0;
}

main().then(good => process.exit(good ? 0 : 1), e => { console.log(`not ok ${n + 1} - crashed: ${e.stack}`); console.log(`1..${n + 1}`); process.exit(1); });
