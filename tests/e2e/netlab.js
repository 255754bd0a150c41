// netlab.js — impaired networks for node tests: a client (Chromium, node,
// anything) inside a network namespace behind a veth pair whose link the test
// shapes (tc tbf; netem delay/loss where the kernel has it, else nftables
// random drop), changes mid-test, or firewalls.  The work is done by
// tests/integration/netlab.py (also usable from Python and shell tests; its
// header explains names, addresses and slots), run here as `netlab.py serve`
// over a pipe: when this process ends in any way its stdin closes and the
// server removes every lab, also the processes left inside.
//
//   const netlab = require('./netlab.js');
//   if (netlab.unavailable()) ... SKIP
//   const A = await netlab.create('weak-a');        // A.hostIp 10.211.N.1, A.nsIp .2, A.ns
//   await A.shape('down', { rateKbit: 500, lossPct: 3 });   // replaces the direction's shaping
//   await A.unshape('down'); await A.block('udp'); await A.unblock();
//   A.spawn('node', ['x.js']);                      // a process inside
//   A.wrapper('/usr/bin/chromium')                  // an executablePath that runs inside
//   await A.stats(); await A.destroy();             // (netlab.closeAll() ends them all)
'use strict';
const { spawn, execFileSync } = require('child_process');
const path = require('path');
const readline = require('readline');

const SERVER = path.join(__dirname, '..', 'integration', 'netlab.py');
const PYTHON = '/usr/bin/python3';
let server = null;

// Why labs cannot be made here (for a SKIP line), or null.
function unavailable() {
  try {
    execFileSync(PYTHON, ['-c', `import sys; sys.path.insert(0, ${JSON.stringify(path.dirname(SERVER))}); import netlab; w = netlab.available(); print(w or ''); sys.exit(1 if w else 0)`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
    return null;
  } catch (e) {
    return (e.stdout || '').trim() || `netlab.py: ${e.message}`;
  }
}

function startServer() {
  const child = spawn(PYTHON, [SERVER, 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pending = new Map();
  let nextId = 1, ready, readyFail;
  const readyP = new Promise((res, rej) => { ready = res; readyFail = rej; });
  readline.createInterface({ input: child.stdout }).on('line', line => {
    let m;
    try { m = JSON.parse(line); } catch (e) { return; }
    if (m.id === 0) return ready();
    const p = pending.get(m.id);
    if (!p) return;
    m.ok ? p.resolve(m.data) : p.reject(new Error(`netlab ${p.op}: ${m.error}`));
  });
  child.on('exit', code => {
    readyFail(new Error(`netlab.py serve exited (${code})`));
    for (const p of pending.values()) p.reject(new Error(`netlab.py serve exited (${code}) during ${p.op}`));
    pending.clear();
    if (server && server.child === child) server = null;
  });
  // The server keeps node alive only while a call is waiting for it; its
  // stdin closes with this process.
  child.unref(); child.stdin.unref();
  readyP.then(() => { if (!pending.size) child.stdout.unref(); }, () => {});
  const settle = (id, timer) => { clearTimeout(timer); pending.delete(id); if (!pending.size) child.stdout.unref(); };
  const call = (op, args = {}, timeoutMs = 60000) => new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => { settle(id, timer); reject(new Error(`netlab ${op}: no answer in ${timeoutMs} ms`)); }, timeoutMs);
    pending.set(id, { op, resolve: v => { settle(id, timer); resolve(v); }, reject: e => { settle(id, timer); reject(e); } });
    child.stdout.ref();
    child.stdin.write(JSON.stringify(Object.assign({ id, op }, args)) + '\n');
  });
  return { child, call, ready: readyP };
}

async function rpc(op, args, timeoutMs) {
  if (!server) server = startServer();
  await server.ready;
  return server.call(op, args, timeoutMs);
}

const labs = new Set();

// A new lab; opts.route: a default route via the host side (reach every host
// address through the shaped link, not only this lab's /24).
async function create(label, opts = {}) {
  const info = await rpc('create', { label, route: !!opts.route });
  const procs = new Set();
  const lab = Object.assign({}, info, {
    // direction 'down' (host → namespace) or 'up'; o: rateKbit, burstKb,
    // latencyMs, lossPct, delayMs (netem only).  Resolves with what is in force.
    shape: (direction, o = {}) => rpc('shape', Object.assign({ lab: info.slot, direction }, o)),
    unshape: direction => rpc('unshape', { lab: info.slot, direction }),
    // Drops proto ('udp' | 'tcp' | 'all') sent from inside (to dports, if given).
    block: (proto = 'udp', dports) => rpc('block', { lab: info.slot, proto, dports }),
    unblock: () => rpc('unblock', { lab: info.slot }),
    stats: () => rpc('stats', { lab: info.slot }),
    wrapper: executable => rpc('wrapper', { lab: info.slot, executable }),
    spawn(cmd, args = [], o = {}) {
      const p = spawn('ip', ['netns', 'exec', info.ns, cmd, ...args], o);
      procs.add(p);
      p.on('exit', () => procs.delete(p));
      return p;
    },
    async destroy() {
      if (!labs.has(lab)) return;
      labs.delete(lab);
      for (const p of procs) p.kill('SIGTERM');
      await rpc('destroy', { lab: info.slot });
    },
  });
  labs.add(lab);
  return lab;
}

async function closeAll() {
  for (const lab of Array.from(labs)) await lab.destroy().catch(() => {});
  if (server) { server.child.stdin.end(); server = null; }
}

module.exports = { unavailable, create, closeAll, SERVER };
