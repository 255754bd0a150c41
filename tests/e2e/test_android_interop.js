// test_android_interop.js — issue 13: a Chromium page (Web SDK, the guide's
// §7.3 sample through sdk-harness.js) and a Java engine of the Android SDK's
// desktop build (tests/android/java/.../InteropMain.java over
// libirtc-jni.so) in one room on a real irtcd.  Java → page: the page gets
// peer-join and stream-added for the Java user, subscribes, and receives its
// media (downlink bitrate in network-quality; the synthetic VP8 is not
// decodable, so no picture is expected); the Java engine's
// muteLocalAudioStream reaches the page as mute-audio.  Page → Java: the
// engine gets onMainUserJoined, onMainFirstRemoteVideoFrame with the
// camera's size, and whole frames in its sink.  Needs `make android`.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawn } = require('child_process');
let L;
try {
  L = require('./lib.js');
  require('playwright-core');
} catch (e) {
  console.log('1..0 # SKIP playwright-core not installed (npm ci in tests/e2e)');
  process.exit(0);
}
const { ok, diag, waitFor } = L;
const { openPage, start, waitEvent } = require('./sdk-page.js');
const B = L.topBuild, S = L.topSrc;
const JAVA_HOME = process.env.JAVA_HOME || path.dirname(path.dirname(fs.realpathSync(execFileSync('sh', ['-c', 'command -v javac'], { encoding: 'utf8' }).trim())));
const LAUNCHER = '/usr/share/java/junit-platform-console-standalone.jar';

(async () => {
  if (!fs.existsSync(path.join(B, 'libirtc-jni.so')) || !fs.existsSync(path.join(B, 'android', 'classes'))) {
    console.log('1..0 # SKIP make android has not run in ' + B);
    process.exit(0);
  }
  // The Java side, compiled against the SDK's classes and our stubs.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'irtc-android-'));
  const cp = [path.join(B, 'android', 'classes'), path.join(B, 'android', 'stubs-classes')].join(':');
  const jdir = path.join(S, 'tests', 'android', 'java', 'com', 'isdp', 'irtc', 'test');
  execFileSync(path.join(JAVA_HOME, 'bin', 'javac'), ['-nowarn', '-d', tmp, '-cp', cp + ':' + LAUNCHER,
    path.join(jdir, 'InteropMain.java'), path.join(jdir, 'Recorder.java')]);

  const d = await L.startDaemon();
  const browser = await L.launchBrowser();
  let java;
  try {
    const app = d.app();
    const channel = 'interop' + Date.now() % 100000;
    const page = await openPage(await browser.newContext({ ignoreHTTPSErrors: true }), d, 'web');
    const r = await start(page, 'web', { channel, userId: 'web' });
    ok(r === 'ok', `the page joins and publishes its camera (${r})`);

    const tok = d.token(app.appId, channel, 'droid');
    const seconds = 16;
    let out = '';
    java = spawn(path.join(JAVA_HOME, 'bin', 'java'), ['-Djava.library.path=' + B, '-cp', `${tmp}:${cp}`,
      'com.isdp.irtc.test.InteropMain', app.appId, `127.0.0.1:${d.httpsPort}`, channel, 'droid', tok.signature, 'web',
      String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    java.stdout.on('data', b => { out += b; });
    const exited = new Promise(res => java.on('exit', code => res(code)));

    ok(await waitEvent(page, 'web', 'peer-join', e => e.userId === 'droid', 15000), 'the page sees the Java user join');
    ok(await waitEvent(page, 'web', 'stream-subscribed', e => e.userId === 'droid', 20000),
      'the page subscribes to the Java engine\'s stream');
    const got = await waitFor(() => page.evaluate(() => {
      const q = H.last && H.last['web:network-quality'];
      return q && q.downlink && q.downlink.bitrate > 100000 ? q.downlink.bitrate : 0;
    }), 15000, 500);
    ok(got > 100000, `the page receives the Java engine's media (downlink ${got} bit/s)`);
    ok(await waitEvent(page, 'web', 'mute-audio', e => e.userId === 'droid', 30000),
      'muteLocalAudioStream(true) reaches the page as mute-audio');

    const code = await Promise.race([exited, new Promise(res => setTimeout(() => res('timeout'), (seconds + 40) * 1000))]);
    ok(code === 0, `the Java engine ran and left (exit ${code})`);
    const lines = out.split('\n');
    const has = p => lines.some(l => l.startsWith('EVENT ' + p));
    ok(has('onJoinMainChannelSuccess ' + channel + ' droid'), 'Java: onJoinMainChannelSuccess');
    ok(has('onMainUserJoined ' + channel + ' web'), 'Java: onMainUserJoined for the page');
    const first = lines.find(l => l.startsWith('EVENT onMainFirstRemoteVideoFrame web '));
    ok(first && /\d+x\d+$/.test(first) && !/ 0x0$/.test(first), `Java: first frame of the page's camera (${first})`);
    const f = (lines.find(l => l.startsWith('FRAMES ')) || 'FRAMES 0 0 0 0').split(' ').slice(1).map(Number);
    ok(f[0] >= 50 && f[1] >= 1 && f[2] > 0, `Java: whole frames of the page's VP8 in the sink (${f[0]} frames, ${f[1]} key, ${f[2]}x${f[3]})`);
    ok(has('onFirstRemoteAudioFrame web'), 'Java: the page\'s audio arrives');
    if (!(f[0] >= 50)) diag(out);
    ok(await waitEvent(page, 'web', 'peer-leave', e => e.userId === 'droid', 10000), 'the page sees the Java user leave');
  } catch (e) {
    ok(false, 'unexpected: ' + e.stack);
  } finally {
    if (java && java.exitCode === null) java.kill('SIGKILL');
    await browser.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    ok((await d.stop()) === 0, 'irtcd stops cleanly');
  }
  process.exit(L.done() ? 0 : 1);
})();
