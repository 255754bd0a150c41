// test_android_interop.js — issue 13: a Chromium page (Web SDK, the guide's
// §7.3 sample through sdk-harness.js) and a Java engine of the Android SDK's
// desktop build (tests/android/java/.../InteropMain.java over
// libirtc-jni.so) in one room on a real irtcd.  Java → page: the page gets
// peer-join and stream-added for the Java user, subscribes, and Chromium
// decodes its media: the engine's VP8 test pattern (framesDecoded grows,
// frameWidth x frameHeight = resetResolution's 320x180) and its Opus tone
// (totalAudioEnergy > 0); the Java engine's muteLocalAudioStream reaches the
// page as mute-audio.  Page → Java: the engine gets onMainUserJoined,
// decodes the page's camera (onMainFirstRemoteVideoFrame with the decoded
// size, decoded pictures in its sink at that size) and its audio.  Needs
// `make android`.  A second Java engine publishes H.264 (setTransCoding): the
// page decodes that too, at its size.
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
const { start, waitEvent } = require('./sdk-page.js');
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
  let java, javaH;
  try {
    const app = d.app();
    const channel = 'interop' + Date.now() % 100000;
    // With stats-recorder.js (before the SDK): the page's PeerConnections for getStats.
    const page = await L.openSdkPage(browser, d.base, 'web');
    const r = await start(page, 'web', { channel, userId: 'web' });
    ok(r === 'ok', `the page joins and publishes its camera (${r})`);

    const seconds = 24;
    const runJava = (user, codec) => {
      const p = spawn(path.join(JAVA_HOME, 'bin', 'java'), ['-Djava.library.path=' + B, '-cp', `${tmp}:${cp}`,
        'com.isdp.irtc.test.InteropMain', app.appId, `127.0.0.1:${d.httpsPort}`, channel, user,
        d.token(app.appId, channel, user).signature, 'web', String(seconds), codec], { stdio: ['ignore', 'pipe', 'inherit'] });
      const r = { p, out: '', exited: new Promise(res => p.on('exit', code => res(code))) };
      p.stdout.on('data', b => { r.out += b; });
      return r;
    };
    const jv = runJava('droid', 'VP8'), jh = runJava('droidh', 'H264');
    java = jv.p, javaH = jh.p;
    const exited = jv.exited;

    ok(await waitEvent(page, 'web', 'peer-join', e => e.userId === 'droid', 15000), 'the page sees the Java user join');
    ok(await waitEvent(page, 'web', 'stream-subscribed', e => e.userId === 'droid', 20000),
      'the page subscribes to the Java engine\'s stream');
    ok(await waitEvent(page, 'web', 'stream-subscribed', e => e.userId === 'droidh', 20000),
      'and to the H.264 one\'s');
    // What Chromium decoded of it: the video's growing framesDecoded and size, the tone's energy.
    // The video of the VP8 engine, r.h264 the H.264 one's (by the inbound stream's codec).
    const inbound = () => page.evaluate(async () => {
      const r = { fd: 0, w: 0, h: 0, energy: 0, level: 0, h264: { fd: 0, w: 0, h: 0 } };
      for (const pc of R.pcs) {
        if (pc.connectionState === 'closed') continue;
        const rep = await pc.getStats();
        rep.forEach(s => {
          if (s.type !== 'inbound-rtp') return;
          const c = rep.get(s.codecId), v = c && c.mimeType === 'video/H264' ? r.h264 : r;
          if (s.kind === 'video' && (s.framesDecoded || 0) > v.fd)
            Object.assign(v, { fd: s.framesDecoded, w: s.frameWidth || 0, h: s.frameHeight || 0 });
          if (s.kind === 'audio')
            r.energy = Math.max(r.energy, s.totalAudioEnergy || 0), r.level = Math.max(r.level, s.audioLevel || 0);
        });
      }
      return r;
    });
    // The harness plays remote streams muted, and Chromium measures received
    // audio only where it is played out: play every received audio track.
    await page.evaluate(() => {
      for (const pc of R.pcs)
        for (const t of pc.getTransceivers())
          if (t.currentDirection === 'recvonly' && t.receiver.track.kind === 'audio') {
            const a = new Audio();
            a.srcObject = new MediaStream([t.receiver.track]);
            a.play().catch(() => {});
          }
    });
    const v1 = await waitFor(async () => { const r = await inbound(); return r.fd > 0 && r.h264.fd > 0 && r.energy > 0 ? r : null; }, 15000, 500);
    ok(v1, `Chromium decodes the Java engine's video and audio (${JSON.stringify(v1)})`);
    if (!v1) diag(await page.evaluate(async () => {
      const out = [`${R.pcs.length} PeerConnections`];
      for (const pc of R.pcs)
        (await pc.getStats()).forEach(s => { if (s.type === 'inbound-rtp' || s.type === 'transport') out.push(JSON.stringify(s)); });
      for (const pc of R.pcs) out.push(`${pc.connectionState} ${pc.iceConnectionState} ${pc.signalingState} ${pc.getReceivers().map(r => r.track.kind + ':' + r.track.readyState + ':' + r.track.muted).join(',')}`);
      out.push(JSON.stringify(H.events.map(e => [e.ev, e.userId || '', e.t || ''])));
      return out.join('\n');
    }));
    await L.sleep(2000);
    const v2 = await inbound();
    ok(v1 && v2.fd - v1.fd >= 15, `its framesDecoded grows (${v1 && v1.fd} → ${v2.fd} in 2 s at 15 fps)`);
    ok(v2.w === 320 && v2.h === 180, `at resetResolution's size (${v2.w}x${v2.h}, want 320x180)`);
    ok(v1 && v2.h264.fd - v1.h264.fd >= 15 && v2.h264.w === 320 && v2.h264.h === 180,
      `Chromium decodes the H.264 engine's video too (${v1 && v1.h264.fd} → ${v2.h264.fd}, ${v2.h264.w}x${v2.h264.h})`);
    ok(v2.energy > 0.001, `the tone has energy (totalAudioEnergy ${v2.energy}, audioLevel ${v2.level})`);
    const got = await waitFor(() => page.evaluate(() => {
      const q = H.last && H.last['web:network-quality'];
      return q && q.downlink && q.downlink.bitrate > 100000 ? q.downlink.bitrate : 0;
    }), 15000, 500);
    ok(got > 100000, `the page receives the Java engine's media (downlink ${got} bit/s)`);
    ok(await waitEvent(page, 'web', 'mute-audio', e => e.userId === 'droid', 30000),
      'muteLocalAudioStream(true) reaches the page as mute-audio');

    const code = await Promise.race([exited, new Promise(res => setTimeout(() => res('timeout'), (seconds + 40) * 1000))]);
    ok(code === 0, `the Java engine ran and left (exit ${code})`);
    const codeH = await Promise.race([jh.exited, new Promise(res => setTimeout(() => res('timeout'), 20000))]);
    const fh = (jh.out.split('\n').find(l => l.startsWith('FRAMES ')) || 'FRAMES 0 0 0 0 0 0').split(' ').slice(1).map(Number);
    ok(codeH === 0 && fh[4] >= 50, `the H.264 engine ran, decoded the page (${fh[4]} pictures) and left (exit ${codeH})`);
    const out = jv.out;
    const lines = out.split('\n');
    const has = p => lines.some(l => l.startsWith('EVENT ' + p));
    ok(has('onJoinMainChannelSuccess ' + channel + ' droid'), 'Java: onJoinMainChannelSuccess');
    ok(has('onMainUserJoined ' + channel + ' web'), 'Java: onMainUserJoined for the page');
    const first = lines.find(l => l.startsWith('EVENT onMainFirstRemoteVideoFrame web '));
    ok(first && /\d+x\d+$/.test(first) && !/ 0x0$/.test(first), `Java: first decoded picture of the page's camera (${first})`);
    const f = (lines.find(l => l.startsWith('FRAMES ')) || 'FRAMES 0 0 0 0 0 0').split(' ').slice(1).map(Number);
    ok(f[0] >= 50 && f[1] >= 1, `Java: whole frames of the page's VP8 in the sink (${f[0]} frames, ${f[1]} key)`);
    ok(f[4] >= 50 && f[4] <= f[0], `Java: its engine decoded them (${f[4]} pictures, ${f[5]} decode errors)`);
    // Chromium scales its 1280x720 camera down under load (1/2, 1/4): any of those, decoded.
    const sizes = ['1280x720', '640x360', '320x180'];
    ok(sizes.includes(`${f[2]}x${f[3]}`) && first && sizes.some(z => first.endsWith(' ' + z)),
      `Java: at the size the page encoded (last ${f[2]}x${f[3]}, ${first})`);
    ok(has('onFirstRemoteAudioFrame web'), 'Java: the page\'s audio arrives');
    const vol = lines.find(l => l.startsWith('EVENT onAudioVolumeIndication '));
    ok(vol && /web:\d+/.test(vol), `Java: onAudioVolumeIndication from the page's decoded audio (${vol})`);
    if (!(f[0] >= 50)) diag(out);
    ok(await waitEvent(page, 'web', 'peer-leave', e => e.userId === 'droid', 10000), 'the page sees the Java user leave');
  } catch (e) {
    ok(false, 'unexpected: ' + e.stack);
  } finally {
    for (const p of [java, javaH])
      if (p && p.exitCode === null) p.kill('SIGKILL');
    await browser.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    ok((await d.stop()) === 0, 'irtcd stops cleanly');
  }
  process.exit(L.done() ? 0 : 1);
})();
