// test_cluster.js — issue 15 with real browsers: a redis-server and two
// irtcd nodes on loopback (cluster mode).  Two Chromium pages on node A's
// origin join a room through the Web SDK and play each other's 720p video;
// the room is placed on A in Redis; node B (no demo app of its own) has A's
// demo app through the shared tables, issues a REST token for it, answers
// getMediaEndpoint with A's endpoint and kicks bob with releaseUser (the call
// runs on A); then a page on node B's origin joins with a token naming A and
// the SDK follows the redirect to A; node A is killed with SIGKILL and
// carol's SDK rejoins through her page's node B, which takes the room over:
// a page joining on B sees her again.  Two pages at a time (2 cores).  Prints TAP; skips without
// playwright-core or redis-server.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
let L;
try {
  L = require('./lib.js');
  require('playwright-core');
} catch (e) {
  console.log('1..0 # SKIP playwright-core not installed (npm ci in tests/e2e)');
  process.exit(0);
}
if (!fs.existsSync('/usr/bin/redis-server') || !fs.existsSync('/usr/bin/redis-cli')) {
  console.log('1..0 # SKIP redis-server is not installed');
  process.exit(0);
}
const { ok, diag, waitFor } = L;
const PASSWORD = 'cluster-e2e-secret';

async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irtc-e2e-redis-'));
  const port = await L.freePort(0);
  const child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', dir, '--requirepass', PASSWORD], { stdio: 'ignore' });
  const cli = (...args) => {
    try {
      return execFileSync('/usr/bin/redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', PASSWORD, ...args],
        { encoding: 'utf8', timeout: 5000 }).trim();
    } catch (e) { return null; }
  };
  await waitFor(() => cli('PING') === 'PONG', 10000, 100);
  return { port, cli, stop() { child.kill('SIGKILL'); fs.rmSync(dir, { recursive: true, force: true }); } };
}

const clusterYaml = (redis, id) => httpsPort => ['cluster:', `  redis_url: "redis://127.0.0.1:${redis.port}"`,
  `  redis_password: "${PASSWORD}"`, `  node_id: "${id}"`, `  advertise: "127.0.0.1:${httpsPort}"`].join('\n') + '\n';

const { openPage, start, events, allPlaying, fmt } = require('./sdk-page.js');

async function main() {
  const redis = await startRedis();
  let a = null, b = null, browser = null, killed = null;
  try {
    a = await L.startDaemon({ workers: 1, extraYaml: clusterYaml(redis, 'node-a') });
    b = await L.startDaemon({ workers: 1, demoToken: false, extraYaml: clusterYaml(redis, 'node-b') });
    const live = await waitFor(() => {
      const out = a.cli('cluster', 'status');
      return (out.match(/ live /g) || []).length === 2 ? out : null;
    }, 10000);
    ok(live, 'irtcd cluster status on A lists both nodes live');
    const app = a.app();
    const onB = await waitFor(() => JSON.parse(b.cli('app', 'list')).some(x => x.appId === app.appId), 10000);
    ok(onB, "A's demo app reached B through the shared tables");

    browser = await L.launchBrowser({ realisticMedia: true });
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const A = await openPage(ctx, a, 'alice'), B = await openPage(ctx, a, 'bob');
    const sa = await start(A, 'c', { channel: 'cl1', userId: 'alice' });
    const sb = await start(B, 'c', { channel: 'cl1', userId: 'bob' });
    ok(sa === 'ok' && sb === 'ok', `two pages on node A's origin join cl1 (${sa}, ${sb})`);
    const pa = await allPlaying(A, 'c', ['bob'], 640, 40000), pb = await allPlaying(B, 'c', ['alice'], 640, 40000);
    ok(pa.good && pb.good, `each plays the other's video (alice sees ${fmt(pa.last)}; bob sees ${fmt(pb.last)})`);
    const placed = await waitFor(() => redis.cli('GET', `irtc:room:${app.appId}:cl1`) === 'node-a', 5000);
    ok(placed, 'the room is placed on node A in Redis');

    const tr = await L.request(b.base, 'POST', '/oauth2/oauth/rest_token', { client_id: 'isdp-saas-openapi',
      client_secret: 'isdp-saas-openapi', grant_type: 'password', username: app.appId, password: app.appToken });
    const tok = (tr.json || {}).access_token;
    ok(tok, 'B issues a REST token for the app');
    const me = await L.request(b.base, 'POST', '/openapi/v1/rtcLive/getMediaEndpoint', { channelIds: ['cl1'] },
      { authorization: 'bearer ' + tok });
    const port = me.json && me.json.data && me.json.data.list[0].port;
    ok(String(port) === String(a.mediaPort), `getMediaEndpoint on B answers A's media port (${port}, A: ${a.mediaPort})`);
    const rel = await L.request(b.base, 'POST', '/openapi/v1/rtcLive/releaseUser', { appId: app.appId, channelId: 'cl1', userId: 'bob' },
      { authorization: 'bearer ' + tok });
    ok(rel.json && String(rel.json.errorCode) === '0', `releaseUser sent to B answers 0 (${JSON.stringify(rel.json)})`);
    const banned = await waitFor(async () => (await events(B, 'c', 'client-banned'))[0], 10000);
    ok(banned && banned.reason && banned.reason.code === 5, `bob's page, on A, gets client-banned (${JSON.stringify(banned)})`);
    const left = await waitFor(async () => (await events(A, 'c', 'peer-leave')).find(e => e.userId === 'bob'), 10000);
    ok(left && left.reason.code === 5, `alice's page gets peer-leave reason 5 (${left && JSON.stringify(left.reason)})`);
    await B.close();

    // ---- a page on node B's origin joins the room hosted on A: redirected ----
    const tr2 = await L.request(a.base, 'POST', '/demo/token', { channelId: 'cl1', userId: 'carol' });
    const C = await openPage(ctx, b, 'carol');
    const sc = await start(C, 'c', { channel: 'cl1', userId: 'carol', token: tr2.json });
    ok(sc === 'ok', `carol, on node B's page with a token naming A, joins (${sc})`);
    const dom = await C.evaluate(() => H.clients.c._domain);
    ok(dom === new URL(a.base).host, `the SDK followed the redirect to A (${dom})`);
    const pc = await allPlaying(C, 'c', ['alice'], 640, 40000), pa2 = await allPlaying(A, 'c', ['carol'], 640, 40000);
    ok(pc.good && pa2.good, `carol and alice see each other (carol sees ${fmt(pc.last)}; alice sees ${fmt(pa2.last)})`);
    const m = await L.request(b.base, 'GET', '/metrics');
    const red = /irtc_signal_redirects_total (\d+)/.exec(String(m.body || ''));
    ok(red && Number(red[1]) >= 1, `B counted the redirect (irtc_signal_redirects_total ${red && red[1]})`);

    // ---- kill -9 of the node hosting the room: carol's SDK comes back through her site's domain (B) ----
    const tr3 = await L.request(a.base, 'POST', '/demo/token', { channelId: 'cl1', userId: 'dave' });
    await A.close(); // alice's page is served by A, which is about to die
    const t0 = Date.now();
    a.child.kill('SIGKILL');
    killed = a;
    const gone = await waitFor(() => redis.cli('GET', `irtc:room:${app.appId}:cl1`) !== 'node-a', 15000);
    ok(gone, `within 15 s of kill -9 the room's placement on A is gone from Redis (${Date.now() - t0} ms)`);
    const back = await waitFor(async () => (await events(C, 'c', 'connection-state-changed'))
      .find(e => e.curState === 'CONNECTED' && e.reason === 'RECONNECTED'), 45000, 250);
    const dom2 = await C.evaluate(() => H.clients.c._domain);
    // Bounded by the room's release (heartbeat TTL) plus the SDK's backoff, not by the resume window.
    ok(back && dom2 === new URL(b.base).host && back.t - t0 < 20000,
      `carol's SDK rejoins on the live node B within 20 s, ${back ? back.t - t0 + ' ms after the kill' : 'never'} (${dom2})`);
    const onLive = await waitFor(() => redis.cli('GET', `irtc:room:${app.appId}:cl1`) === 'node-b', 5000);
    ok(onLive, `the room is placed on node B now (${redis.cli('GET', `irtc:room:${app.appId}:cl1`)})`);
    const D = await openPage(ctx, b, 'dave');
    const sd = await start(D, 'c', { channel: 'cl1', userId: 'dave', token: tr3.json });
    ok(sd === 'ok', `dave, on node B's page, joins the room there (${sd})`);
    const pc2 = await allPlaying(C, 'c', ['dave'], 640, 40000), pd = await allPlaying(D, 'c', ['carol'], 640, 40000);
    ok(pc2.good && pd.good, `carol (republished after the rejoin) and dave see each other on B (carol sees ${fmt(pc2.last)}; dave sees ${fmt(pd.last)})`);
    await D.close();
    await C.close();
  } finally {
    if (browser) await browser.close();
    const rcs = [];
    for (const d of [a, b]) if (d && d !== killed) rcs.push(await d.stop());
    redis.stop();
    ok(rcs.every(rc => rc === 0), `the nodes still running stop cleanly (${rcs.join(', ')})`);
  }
}

L.runMain(main);
