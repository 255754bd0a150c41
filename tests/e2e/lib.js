// lib.js — shared by the end-to-end tests: a real irtcd from the build tree
// on 127.0.0.1 with free ports and a scratch data directory, Debian's
// Chromium driven by playwright-core (never a downloaded browser), TAP output.
// Every wait is bounded.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const dgram = require('dgram');
const os = require('os');
const path = require('path');
const https = require('https');

const topBuild = process.env.top_builddir || path.resolve(__dirname, '../..');
const topSrc = process.env.top_srcdir || path.resolve(__dirname, '../..');
const IRTCD = path.join(topBuild, 'irtcd');

let n = 0, failed = 0;
function ok(cond, desc) {
  n++;
  if (!cond) failed++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${desc}`);
  return cond;
}
function diag(msg) { console.log('# ' + String(msg).split('\n').join('\n# ')); }
function done() { console.log(`1..${n}`); return failed === 0; }
function failures() { return failed; }

// port..port+udpCount-1 free for UDP and TCP (media workers listen on both: ICE-TCP).
async function portFree(port, udpCount) {
  for (let i = 0; i < Math.max(1, udpCount); i++) {
    const tcp = await new Promise(res => {
      const s = net.createServer().once('error', () => res(false)).listen(port + i, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (!tcp) return false;
  }
  for (let i = 0; i < udpCount; i++) {
    const free = await new Promise(res => {
      const s = dgram.createSocket('udp4').once('error', () => res(false));
      s.bind(port + i, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (!free) return false;
  }
  return true;
}

// Below the kernel's ephemeral range, so that an outgoing connection cannot
// take a port between the check and irtcd's bind (its media workers listen on
// TCP too: ICE-TCP).
function portRange(span) {
  let top = 0;
  try { top = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]) - span; } catch (e) { /* not Linux */ }
  return top > 12000 ? [10000, top] : [20000, 60000 - span];
}

async function freePort(udpCount = 0) {
  for (let i = 0; i < 200; i++) {
    const [lo, hi] = portRange(Math.max(1, udpCount));
    const p = lo + Math.floor(Math.random() * (hi - lo));
    if (await portFree(p, udpCount)) return p;
  }
  throw new Error('no free port');
}

// A connection per request: Node 20's global agent keeps sockets alive, and a test that
// blocks its event loop (execSync of ffprobe) past irtcd's 10 s idle close would write its
// next request into a socket the server already closed ("socket hang up").
const oneShot = new https.Agent({ keepAlive: false });

function request(base, method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body));
    const req = https.request(base + p, { method, agent: oneShot, rejectUnauthorized: false, timeout: 10000,
      headers: Object.assign(data ? { 'content-type': 'application/json' } : {}, headers) }, res => {
      let buf = '';
      res.on('data', c => (buf += c));
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(buf); } catch (e) { /* not JSON */ }
        resolve({ status: res.statusCode, body: buf, json, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (data) req.write(data);
    req.end();
  });
}

// One end-to-end test at a time: `make -j check` runs tests in parallel, and
// a few Chromium pages already fill the machine's 2 cores (figures such as
// send bitrates would suffer).  A lock file holding our pid, released at exit
// (a dead holder's lock is taken over); waits up to 10 min.
async function exclusive() {
  const lock = path.join(os.tmpdir(), 'irtc-e2e.lock');
  const deadline = Date.now() + 600000;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      process.on('exit', () => { try { if (fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.unlinkSync(lock); } catch (e) { /* gone */ } });
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try { holder = Number(fs.readFileSync(lock, 'utf8')); } catch (e) { continue; }
    let alive = holder > 0;
    try { if (alive) process.kill(holder, 0); } catch (e) { alive = e.code === 'EPERM'; }
    if (!alive || holder === process.pid) { try { fs.unlinkSync(lock); } catch (e) { /* raced */ } continue; }
    if (Date.now() > deadline) throw new Error(`another end-to-end test (pid ${holder}) holds ${lock}`);
    await sleep(500);
  }
}

// Starts irtcd.  opts.extraYaml: whole top-level sections appended to the
// file (e.g. cluster:), or a function of the HTTPS port returning them;
// opts.mediaExtra: lines (indented) added to the media: section;
// opts.demoToken false: no demo app.  opts.ips: the addresses it listens on
// (HTTPS, one port) and announces for media (default 127.0.0.1; e.g. netlab host-side
// addresses); base is https://ips[0]:port.  Resolves when /healthz answers
// 200 (<= 20 s).
async function startDaemon(opts = {}) {
  await exclusive();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irtc-e2e-'));
  const httpsPort = await freePort(0);
  const mediaPort = await freePort(opts.workers || 1);
  const ips = opts.ips || ['127.0.0.1'];
  const yaml = [
    'server:', `  listen: [${ips.map(ip => `"${ip}:${httpsPort}"`).join(', ')}]`,
    `  demo_token: ${opts.demoToken === false ? 'false' : 'true'}`,
    'media:', `  ips: [${ips.map(ip => `"${ip}"`).join(', ')}]`, `  port: ${mediaPort}`, `  workers: ${opts.workers || 1}`,
    ...(opts.mediaExtra || []),
    'storage:', `  db: ${dir}/var/irtc.db`, `  data_dir: ${dir}/var`,
    'recording:', `  nas_base_path: ${dir}/nas`,
    'limits:', `  max_publishers_per_room: ${opts.maxPublishers || 8}`,
    ...(opts.extraLimits || []).map(l => '  ' + l),
    'log:', '  level: info',
  ].join('\n') + '\n' + (typeof opts.extraYaml === 'function' ? opts.extraYaml(httpsPort) : opts.extraYaml || '');
  const cfg = path.join(dir, 'irtc.yaml');
  fs.writeFileSync(cfg, yaml);
  const log = fs.openSync(path.join(dir, 'daemon.log'), 'a');
  const child = spawn(IRTCD, ['--config', cfg], { stdio: ['ignore', log, log] });
  const base = `https://${ips[0]}:${httpsPort}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    try {
      const r = await request(base, 'GET', '/healthz');
      if (r.status === 200) break;
    } catch (e) { /* not up yet */ }
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error('irtcd did not start: ' + fs.readFileSync(path.join(dir, 'daemon.log'), 'utf8'));
    await sleep(100);
  }
  const cli = (...args) => execFileSync(IRTCD, ['--config', cfg, ...args], { encoding: 'utf8' });
  return {
    dir, cfg, base, httpsPort, mediaPort, child, cli,
    log: () => fs.readFileSync(path.join(dir, 'daemon.log'), 'utf8'),
    app: () => JSON.parse(cli('app', 'list', '--show-secrets')).find(a => a.name === 'demo'),
    token: (appId, channel, user, role = 1) => JSON.parse(cli('token', appId, channel, user, '--role', String(role))),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const t = Date.now();
        while (child.exitCode === null && Date.now() - t < 10000) await sleep(50);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!process.env.KEEP_TMP) fs.rmSync(dir, { recursive: true, force: true });
      return child.exitCode;
    },
  };
}

function sleep(ms) { return new Promise(r => setTimeout(r, ms)); }

async function waitFor(fn, timeoutMs, stepMs = 200) {
  const t = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t > timeoutMs) return v;
    await sleep(stepMs);
  }
}

// A realistic camera and microphone: testsrc2 at 720p30 (~2 Mbps encoded)
// and a tone, generated once per run with ffmpeg.
function fakeMediaFiles() {
  const dir = path.join(os.tmpdir(), 'irtc-e2e-media');
  const y4m = path.join(dir, 'cam720.y4m'), wav = path.join(dir, 'mic.wav');
  if (!fs.existsSync(y4m) || !fs.existsSync(wav)) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-t', '4',
      '-pix_fmt', 'yuv420p', y4m + '.tmp.y4m']);
    fs.renameSync(y4m + '.tmp.y4m', y4m);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4',
      '-ac', '1', wav + '.tmp.wav']);
    fs.renameSync(wav + '.tmp.wav', wav);
  }
  return { y4m, wav };
}

function browserArgs(opts) {
  const args = ['--headless', '--no-sandbox', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
    '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'];
  if (!opts.noCamera) args.push('--use-fake-device-for-media-stream');
  if (opts.realisticMedia) {
    const m = fakeMediaFiles();
    args.push('--use-file-for-fake-video-capture=' + m.y4m, '--use-file-for-fake-audio-capture=' + m.wav);
  }
  return args;
}

// opts.executablePath: another launcher of Debian's Chromium (a netlab
// wrapper running it inside a network namespace).
async function launchBrowser(opts = {}) {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: opts.executablePath || '/usr/bin/chromium', args: browserArgs(opts) });
}

// A browser whose processes the test can SIGKILL (a crashed machine, a pulled
// cable): returns { browser, kill(), close() }.  The whole process group is
// killed: a lone browser process would leave its network service behind,
// which closes the WebSockets politely.
async function launchKillableBrowser(opts = {}) {
  const { chromium } = require('playwright-core');
  const server = await chromium.launchServer({ executablePath: '/usr/bin/chromium', args: browserArgs(opts) });
  const browser = await chromium.connect(server.wsEndpoint());
  const pid = server.process().pid;
  const kill = () => { try { process.kill(-pid, 'SIGKILL'); } catch (e) { server.process().kill('SIGKILL'); } };
  return { browser, kill, close: () => server.close().catch(() => {}) };
}

// Runs fn up to five times, 500 ms apart, while what it throws is retryable(e).
async function tryAgain(what, fn, retryable) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 5 || !retryable(e)) throw e;
      diag(`${what} failed (attempt ${attempt}: ${String(e && e.message).split('\n')[0]}): again`);
      await sleep(500);
    }
  }
}

// A page of irtcd's origin (base) in its own context with the stats recorder,
// the Web SDK and the test harness (sdk-harness.js) loaded; sdkStart runs the
// harness's join (and publish) for one client key and resolves with 'ok' or
// the error's text.
async function openSdkPage(browser, base, title) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  page.on('pageerror', e => diag(`${title}: page error: ${e.message}`));
  // Any document of irtcd's origin.  Chromium aborts a navigation with
  // ERR_NETWORK_CHANGED when an interface appears or goes on the machine (a
  // test's own veth pair, set up while this browser runs): try again.
  await tryAgain(`${title}: ${base} navigation`, () => page.goto(base + '/sdk/isdprtc.dev.js'),
    e => /ERR_NETWORK_CHANGED/.test(String(e && e.message)));
  await page.setContent(`<!doctype html><html><head><title>${title}</title></head><body></body></html>`);
  await page.addScriptTag({ path: path.join(__dirname, 'stats-recorder.js') });
  // The same network change can fail the SDK's own load (a script's onerror
  // gives no reason; CI saw it once inside a namespace): load it again.
  await tryAgain(`${title}: loading ${base}/sdk/isdprtc.js`, async () => {
    await page.addScriptTag({ url: '/sdk/isdprtc.js' });
    if (!await page.evaluate(() => typeof ISDPRTC !== 'undefined')) throw new Error('isdprtc.js loaded but defined nothing');
  }, () => true);
  await page.addScriptTag({ path: path.join(__dirname, 'sdk-harness.js') });
  return page;
}
const sdkStart = (page, key, opts) => page.evaluate(([k, o]) => H.start(k, o).then(() => 'ok',
  e => `${e.name}: ${e.getMsg ? e.getCode() + ' ' + e.getMsg() : e.message}`), [key, opts]);

// Runs a test's async main and exits: 0 when every check passed.  A throw
// is one failed check (with its stack); cleanup (async, optional: closing
// network labs) runs after main either way.
function runMain(main, cleanup = async () => {}) {
  main().catch(e => ok(false, `the test ran to its end (it raised: ${e && e.stack || e})`))
    .then(() => cleanup().catch(e => diag(`cleanup failed: ${e && e.stack || e}`)))
    .finally(() => process.exit(done() ? 0 : 1));
}

module.exports = { ok, diag, done, runMain, failures, exclusive, startDaemon, launchBrowser, launchKillableBrowser, request, sleep, waitFor, freePort, topSrc, topBuild,
  openSdkPage, sdkStart };
