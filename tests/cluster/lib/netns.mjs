// A network lab for the chaos tests (issue 9): every switchboard node in its own network
// namespace, joined to a bridge in the root namespace by a veth pair, with a private address
// (10.77.X.0/24: X is the first /24 no interface here uses yet, so two runs can share the
// machine). etcd runs in the root namespace on the bridge's address (10.77.X.1), so every
// namespace reaches it, and so does this process (the test's clients). `tc netem` is not
// available here: a link is cut by setting the root side of a node's veth down ({node} | rest),
// or a group of nodes is moved onto a bridge of its own ({a, b} | rest: they still reach each
// other, not the rest, etcd or this process).
//
// Also here: the nodes in the lab (started through `ip netns exec`, pid kept, logs kept),
// a client inside a node's namespace (the minority side's writes during a cut), the nemeses and
// one round of the chaos workload (chaosRound), shared by chaos.test.mjs and
// bench/chaos_bench.mjs.
//
// Needs root (ip netns). Cleanup: every namespace, veth and bridge is made by this process and
// removed by it — by lab.remove() in after(), and on process exit, SIGINT, SIGTERM and SIGHUP
// (synchronously, each `ip` call bounded by a timeout, a handful of calls per node). Children
// are started through `setpriv --pdeathsig KILL`, so they die with this process however it dies;
// namespaces and links left by a run that was SIGKILLed (named after its pid) are removed by the
// next run.
import { execFileSync, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as cl from './cluster.mjs';
import * as history from './history.mjs';

const { sb } = cl;
const PID = process.pid;
const LINK_PREFIX = `sbc${PID}`; // links: sbc<pid>b0 (bridge), b1.. (islands), v<k> (root side), p<k> (namespace side)
const NS_PREFIX = `sbc-${PID}-`; // namespaces: sbc-<pid>-<node id>
const TMP_PREFIX = `sb-chaos-${PID}-`;
const IP_TIMEOUT_MS = 5000;
const SETPRIV = '/usr/bin/setpriv';
const VERBOSE = !!process.env.SB_IT_VERBOSE;
const LOG_BYTES = 512 * 1024;
const DUMP_BYTES = Number(process.env.SB_IT_LOG_TAIL ?? 16 * 1024);
export const CLUSTER_PORT = 7070; // every node's --cluster-listen port (its own namespace)
export const HTTP_PORT = 8080; // every node's --listen port

const tail = (s, n) => (s.length > n ? s.slice(-n) : s);

// `ip …`, bounded; throws with its stderr unless `allowFail`.
function ip(args, { allowFail = false } = {}) {
  try {
    return execFileSync('ip', args, { timeout: IP_TIMEOUT_MS, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    if (allowFail) return '';
    throw new Error(`ip ${args.join(' ')}: ${String(err.stderr ?? err.message).trim()}`);
  }
}

function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// Namespaces, links and temp dirs of earlier runs whose process is gone.
function sweepStale() {
  for (const line of ip(['netns', 'list'], { allowFail: true }).split('\n')) {
    const m = /^sbc-(\d+)-(\S+)/.exec(line.trim());
    if (m && Number(m[1]) !== PID && !processExists(Number(m[1]))) ip(['netns', 'del', `sbc-${m[1]}-${m[2]}`], { allowFail: true });
  }
  for (const line of ip(['-o', 'link', 'show'], { allowFail: true }).split('\n')) {
    const m = /^\d+:\s+(sbc(\d+)[bvp]\d+)[@:]/.exec(line);
    if (m && Number(m[2]) !== PID && !processExists(Number(m[2]))) ip(['link', 'del', m[1]], { allowFail: true });
  }
  let names = [];
  try {
    names = readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^sb-chaos-(\d+)-/.exec(name);
    if (m && Number(m[1]) !== PID && !processExists(Number(m[1]))) rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- processes

const live = new Set();
const started = [];
const labs = new Set();
const dirs = new Set();

function makeTempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX + prefix));
  dirs.add(dir);
  return dir;
}

function cleanupNow() {
  for (const rec of live) {
    try {
      process.kill(rec.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const lab of labs) lab.removeSync();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}
process.on('exit', cleanupNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    cleanupNow();
    process.exit(128 + (os.constants.signals[sig] ?? 1));
  });
}

// Spawns `bin args` (inside namespace `ns` when given: `ip netns exec`, which execs: same pid)
// under setpriv --pdeathsig KILL; keeps the output's tail. `onLine(line)` gets stdout lines.
function spawnIn(label, ns, bin, args, { stdin = false, onLine, env } = {}) {
  const argv = [...(ns ? ['ip', 'netns', 'exec', ns] : []), bin, ...args];
  const child = spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', ...argv], {
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: env ?? { ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1', ...process.env },
  });
  const rec = { label, bin, args, ns, child, pid: child.pid, log: '', stdout: '', exit: null, expected: false, events: new EventEmitter() };
  rec.events.setMaxListeners(0);
  live.add(rec);
  started.push(rec);
  rec.exited = new Promise((resolve) => {
    const fin = (code, signal, error) => {
      if (rec.exit) return;
      live.delete(rec);
      rec.exit = { code, signal, error: error?.message, at: Date.now() };
      rec.events.emit('exit', rec.exit);
      resolve(rec.exit);
    };
    child.on('close', (code, signal) => fin(code, signal));
    child.on('error', (err) => setImmediate(() => fin(null, null, err)));
  });
  let partial = '';
  for (const name of ['stdout', 'stderr']) {
    child[name].setEncoding('utf8');
    child[name].on('data', (d) => {
      if (name === 'stdout') rec.stdout = tail(rec.stdout + d, LOG_BYTES);
      if (name === 'stdout' && onLine) {
        const lines = (partial + d).split('\n');
        partial = lines.pop();
        for (const l of lines) onLine(l);
      } else {
        rec.log = tail(rec.log + d, LOG_BYTES);
        if (VERBOSE) for (const l of d.split('\n').filter(Boolean)) process.stderr.write(`[${label}${name === 'stderr' ? '!' : ''}] ${l}\n`);
      }
      rec.events.emit('data');
    });
  }
  return rec;
}

function orAfter(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

// Sends `signal` by pid, waits ≤ timeoutMs for the exit, then SIGKILL. A stopped process gets
// SIGCONT after the signal, so that it can act on it.
async function stopProc(rec, signal = 'SIGTERM', timeoutMs = 5000) {
  if (!rec) return null;
  rec.expected = true;
  if (rec.exit) return rec.exit;
  try {
    process.kill(rec.pid, signal);
    if (signal !== 'SIGKILL') process.kill(rec.pid, 'SIGCONT');
  } catch {
    /* exited meanwhile */
  }
  let r = await orAfter(rec.exited, timeoutMs);
  if (!r) {
    try {
      process.kill(rec.pid, 'SIGKILL');
    } catch {
      /* exited meanwhile */
    }
    r = { ...((await orAfter(rec.exited, 5000)) ?? { error: `pid ${rec.pid} did not exit after SIGKILL` }), timedOut: true };
  }
  return r;
}

// The tails of the logs of every process of the lab (on a failure).
export function dumpLogs(header = '') {
  const out = [`\n===== chaos lab logs${header ? ' (' + header + ')' : ''} =====`];
  for (const rec of started) {
    if (rec.label.startsWith('client-')) continue;
    const state = rec.exit ? `exited code ${rec.exit.code} signal ${rec.exit.signal}${rec.expected ? '' : ' (on its own)'}` : 'running';
    const n = rec.label === 'etcd' ? Math.min(DUMP_BYTES, 4096) : DUMP_BYTES;
    out.push(`----- ${rec.label} pid ${rec.pid} (${state}) -----`, tail(rec.log + (rec.label === 'etcd' ? '' : rec.stdout), n).trimEnd());
  }
  out.push('===== end of chaos lab logs =====\n');
  process.stderr.write(out.join('\n') + '\n');
}

// Every node's full kept log (stdout + stderr) by label, e.g. for a bench's output directory.
export function allLogs() {
  return started.filter((r) => !r.label.startsWith('client-')).map((r) => ({ label: r.label, pid: r.pid, log: r.log, stdout: r.stdout }));
}

// ---------------------------------------------------------------- the lab

// Makes the bridge and one namespace per id with its veth pair and address. Returns the lab:
//   {subnet, gw, hosts: {id: {ns, addr, veth}}, cut(id), uncut(id), isolate([ids…]), heal(),
//    reachable(id), remove()}
export function createLab(ids) {
  if (process.getuid?.() !== 0) throw new Error('the chaos lab needs root (ip netns)');
  sweepStale();
  const used = new Set([...ip(['-o', '-4', 'addr', 'show']).matchAll(/inet 10\.77\.(\d+)\./g)].map((m) => Number(m[1])));
  const x = [...Array(255).keys()].find((i) => !used.has(i));
  if (x === undefined) throw new Error('no free 10.77.X.0/24');
  const lab = { subnet: `10.77.${x}.0/24`, gw: `10.77.${x}.1`, bridge: `${LINK_PREFIX}b0`, hosts: {}, islands: [], cutIds: new Set(), isolated: new Set(), removed: false };
  labs.add(lab);
  lab.removeSync = () => {
    if (lab.removed) return;
    lab.removed = true;
    for (const h of Object.values(lab.hosts)) {
      ip(['netns', 'del', h.ns], { allowFail: true }); // takes the veth pair with it
      ip(['link', 'del', h.veth], { allowFail: true });
    }
    for (const b of [lab.bridge, ...lab.islands]) ip(['link', 'del', b], { allowFail: true });
    labs.delete(lab);
  };
  lab.remove = async () => lab.removeSync();
  try {
    ip(['link', 'add', lab.bridge, 'type', 'bridge']);
    ip(['addr', 'add', `${lab.gw}/24`, 'dev', lab.bridge]);
    ip(['link', 'set', lab.bridge, 'up']);
    ids.forEach((id, i) => {
      const k = i + 1;
      const h = { id, ns: `${NS_PREFIX}${id}`, addr: `10.77.${x}.${k + 1}`, veth: `${LINK_PREFIX}v${k}`, peer: `${LINK_PREFIX}p${k}` };
      lab.hosts[id] = h;
      ip(['netns', 'add', h.ns]);
      ip(['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', h.peer]);
      ip(['link', 'set', h.peer, 'netns', h.ns]);
      ip(['link', 'set', h.veth, 'master', lab.bridge, 'up']);
      ip(['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', h.peer]);
      ip(['-n', h.ns, 'link', 'set', h.peer, 'up']);
      ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
    });
  } catch (err) {
    lab.removeSync();
    throw err;
  }
  // {id} | rest: the root side of its veth down (its namespace keeps its address: a client in
  // there still reaches the node).
  lab.cut = (id) => {
    ip(['link', 'set', lab.hosts[id].veth, 'down']);
    lab.cutIds.add(id);
  };
  lab.uncut = (id) => {
    ip(['link', 'set', lab.hosts[id].veth, 'up']);
    lab.cutIds.delete(id);
  };
  // {ids…} | rest: their veths move to a bridge of their own.
  lab.isolate = (group) => {
    const b = `${LINK_PREFIX}b${lab.islands.length + 1}`;
    ip(['link', 'add', b, 'type', 'bridge']);
    lab.islands.push(b);
    ip(['link', 'set', b, 'up']);
    for (const id of group) {
      ip(['link', 'set', lab.hosts[id].veth, 'master', b]);
      lab.isolated.add(id);
    }
  };
  // Every link up and on the main bridge; islands removed.
  lab.heal = () => {
    for (const h of Object.values(lab.hosts)) {
      ip(['link', 'set', h.veth, 'master', lab.bridge, 'up']);
    }
    for (const b of lab.islands) ip(['link', 'del', b], { allowFail: true });
    lab.islands = [];
    lab.cutIds.clear();
    lab.isolated.clear();
  };
  lab.reachable = (id) => !lab.cutIds.has(id) && !lab.isolated.has(id);
  return lab;
}

// A free TCP port on `host` (an address of this namespace).
function freePortOn(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
}

// etcd in the root namespace on the bridge address. Returns {url, pid, stop()}.
export async function startEtcdOn(lab, { timeoutMs = 15000 } = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
  const client = `http://${lab.gw}:${await freePortOn(lab.gw)}`;
  const peer = `http://${lab.gw}:${await freePortOn(lab.gw)}`;
  const dir = makeTempDir('etcd-');
  const rec = spawnIn('etcd', null, cl.ETCD_BIN, [
    '--name', 'default', '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `default=${peer}`, '--initial-cluster-state', 'new',
    '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
  ], { env });
  await cl.until(async () => {
    if (rec.exit) throw new Error(`etcd exited: ${JSON.stringify(rec.exit)}\n${tail(rec.log, 3000)}`);
    try {
      const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
      return res.status === 200 && (await res.json())?.health === 'true';
    } catch {
      return false;
    }
  }, timeoutMs, `etcd healthy on ${client}`);
  return { url: client, pid: rec.pid, rec, dataDir: dir, stop: async () => { const r = await stopProc(rec, 'SIGTERM'); rmSync(dir, { recursive: true, force: true }); dirs.delete(dir); return r; } };
}

const LISTENING = /switchboard listening on http:\/\/([0-9.]+):(\d+)/;

// A switchboard node in its namespace:
//   switchboard --node-id <id> --listen <addr>:8080 --cluster-listen <addr>:7070
//               --data-dir <dir> --etcd <url> <extraArgs…>
// waiting for its "switchboard listening on" line. The node object works with the harness's
// helpers (url, id, alive): {id, ns, addr, url, wsUrl, host, port, pid, dataDir, alive, paused,
// crashes, log(), kill(sig), stop(sig), pause(), resume(), restart({wipe}), launches}.
export async function startNodeIn(lab, id, { etcd, extraArgs = [], timeoutMs = 30000 } = {}) {
  const h = lab.hosts[id];
  const node = { id, ns: h.ns, addr: h.addr, host: h.addr, port: HTTP_PORT, url: `http://${h.addr}:${HTTP_PORT}`, wsUrl: `ws://${h.addr}:${HTTP_PORT}`, clusterAddress: `${h.addr}:${CLUSTER_PORT}`, dataDir: makeTempDir(`${id}-`), extraArgs, etcdUrl: typeof etcd === 'string' ? etcd : etcd.url, rec: null, crashes: [], paused: false, launches: 0 };
  labUrls.add(node.url);
  Object.defineProperties(node, {
    pid: { get: () => node.rec?.pid, enumerable: true },
    alive: { get: () => !!node.rec && !node.rec.exit, enumerable: true },
  });
  node.log = () => (node.rec ? node.rec.log + node.rec.stdout : '');
  node.kill = async (signal = 'SIGKILL') => {
    node.paused = false;
    return stopProc(node.rec, signal, 5000);
  };
  node.stop = node.kill.bind(null, 'SIGTERM');
  node.pause = () => {
    process.kill(node.rec.pid, 'SIGSTOP');
    node.paused = true;
  };
  node.resume = () => {
    process.kill(node.rec.pid, 'SIGCONT');
    node.paused = false;
  };
  // Starts it again on the same address and data dir (a fresh empty one with `wipe`).
  node.restart = async ({ wipe = false } = {}) => {
    if (node.alive) await node.stop();
    if (wipe) {
      rmSync(node.dataDir, { recursive: true, force: true });
      mkdirSync(node.dataDir, { recursive: true });
    }
    await launch(node, timeoutMs);
    return node;
  };
  await launch(node, timeoutMs);
  return node;
}

async function launch(node, timeoutMs) {
  const args = ['--node-id', node.id, '--listen', `${node.addr}:${HTTP_PORT}`, '--cluster-listen', node.clusterAddress, '--data-dir', node.dataDir, '--etcd', node.etcdUrl, ...node.extraArgs];
  const rec = spawnIn(node.id, node.ns, cl.BIN, args);
  node.rec = rec;
  node.launches++;
  rec.exited.then((x) => {
    if (!rec.expected) node.crashes.push({ ...x, log: tail(rec.log + rec.stdout, 4000) });
  });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${node.id}: no "switchboard listening on" line within ${timeoutMs} ms\n${tail(rec.log + rec.stdout, 4000)}`)), timeoutMs);
    const onData = () => LISTENING.test(rec.stdout) && done();
    const onExit = (x) => done(new Error(`${node.id} exited (${JSON.stringify(x)}) before listening\n${tail(rec.log + rec.stdout, 4000)}`));
    function done(err) {
      clearTimeout(timer);
      rec.events.off('data', onData);
      rec.events.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    }
    rec.events.on('data', onData);
    rec.events.on('exit', onExit);
    onData();
  });
}

// An HTTP client inside namespace `ns` (a node process reading requests as JSON lines): what a
// client on the minority side of a cut sees. post(url, body, headers, timeoutMs) resolves
// {status, text, body, retryAfter} or {error}.
export function nsClient(lab, id) {
  const script = `
import readline from 'node:readline';
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const q = JSON.parse(line);
  try {
    const res = await fetch(q.url, { method: q.method, headers: q.headers, body: q.body, signal: AbortSignal.timeout(q.timeoutMs) });
    out({ rid: q.rid, status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') });
  } catch (err) {
    out({ rid: q.rid, error: String(err.cause?.code ?? err.name ?? err.message) });
  }
}).on('close', () => process.exit(0));`;
  const waiting = new Map();
  let rid = 0;
  const rec = spawnIn(`client-${id}`, lab.hosts[id].ns, process.execPath, ['--input-type=module', '-e', script], {
    stdin: true,
    onLine: (l) => {
      let r;
      try {
        r = JSON.parse(l);
      } catch {
        return;
      }
      const w = waiting.get(r.rid);
      if (!w) return;
      waiting.delete(r.rid);
      try {
        r.body = JSON.parse(r.text);
      } catch {
        /* not JSON */
      }
      w(r);
    },
  });
  rec.exited.then(() => {
    for (const w of waiting.values()) w({ error: 'client process exited' });
    waiting.clear();
  });
  return {
    post(url, body, headers, timeoutMs = 4000) {
      const q = { rid: ++rid, url, method: 'POST', headers, body: JSON.stringify(body), timeoutMs };
      return new Promise((resolve) => {
        waiting.set(q.rid, resolve);
        rec.child.stdin.write(JSON.stringify(q) + '\n');
      });
    },
    close: () => stopProc(rec, 'SIGTERM', 2000),
  };
}

// ---------------------------------------------------------------- a cluster in the lab

// etcd + n nodes (n1..nN), each in its namespace, all ready and agreeing (the table still for
// 1 s). Returns {lab, etcd, nodes, node(id), reachable(), stop()}: reachable() lists the nodes
// this process can talk to now (running, not paused, not cut off).
export async function startChaosCluster(n, { extraArgs = [], agreeMs = 60000 } = {}) {
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const c = { lab: createLab(ids), nodes: [] };
  c.node = (id) => c.nodes.find((x) => x.id === id);
  c.reachable = () => c.nodes.filter((x) => x.alive && !x.paused && c.lab.reachable(x.id));
  c.stop = async () => {
    await Promise.all(c.nodes.map((x) => x.alive && x.stop()));
    await c.etcd?.stop();
    await c.lab.remove();
    for (const x of c.nodes) {
      rmSync(x.dataDir, { recursive: true, force: true });
      dirs.delete(x.dataDir);
    }
    const crashed = c.nodes.filter((x) => x.crashes.length);
    if (crashed.length) throw new Error(crashed.map((x) => `node ${x.id} exited on its own: ${x.crashes.map((y) => `code ${y.code} signal ${y.signal}`).join('; ')}\n--- ${x.id} output ---\n${x.crashes.at(-1).log}`).join('\n'));
  };
  try {
    c.etcd = await startEtcdOn(c.lab);
    c.nodes = await Promise.all(ids.map((id) => startNodeIn(c.lab, id, { etcd: c.etcd, extraArgs })));
    await Promise.all(c.nodes.map((x) => cl.waitReady(x, 40000)));
    await cl.waitAgreement(c.nodes, { timeoutMs: agreeMs, minPartitions: 1, stableMs: 1000 });
  } catch (err) {
    dumpLogs('startChaosCluster');
    await c.stop().catch(() => {});
    throw err;
  }
  return c;
}

// ---------------------------------------------------------------- nemeses and a round

// Each nemesis: inject(ctx) starts the fault at ctx.t0; heal(ctx) ends it (every node running,
// every link up). `takeover`: the fault is long enough that the victim's partitions must move.
// ctx: {c, victim, second (another node, not where the dashboards are), holdMs, log}.
export const NEMESES = {
  // kill -9 of the owner; restarted on its data dir once its streams are served again.
  kill: {
    takeover: true,
    inject: async (x) => x.victim.kill('SIGKILL'),
    heal: async (x) => x.victim.restart(),
  },
  // SIGSTOP of the owner for holdMs (longer than detection), then SIGCONT.
  stop: {
    takeover: true,
    minority: false,
    inject: async (x) => x.victim.pause(),
    heal: async (x) => x.victim.resume(),
  },
  // {owner} | rest for holdMs: the root side of its veth down; a client inside its namespace
  // keeps writing to it (it must never get a 202 that is later lost).
  cut: {
    takeover: true,
    minority: true,
    inject: async (x) => x.c.lab.cut(x.victim.id),
    heal: async (x) => x.c.lab.heal(),
  },
  // {owner + one backup} | rest (+ etcd and the test's clients) for holdMs. With R = 3 the rest
  // holds one replica: no takeover can seal 2, so the owner's streams wait for the heal on the
  // rest's side, and the owner side may keep writing (its 202s must survive the heal).
  cut2: {
    takeover: false,
    minority: true,
    inject: async (x) => x.c.lab.isolate([x.victim.id, x.second.id]),
    heal: async (x) => x.c.lab.heal(),
  },
  // kill -9 of the owner, its data dir deleted, restarted empty (a new storage uuid).
  wipe: {
    takeover: true,
    inject: async (x) => x.victim.kill('SIGKILL'),
    heal: async (x) => x.victim.restart({ wipe: true }),
  },
  // kill -9 of the owner; once its streams are served again it restarts (recovering: being
  // caught up) and right then a second node is killed; the failover time is the second one's
  // (kill of the second node → the first 202 after it).
  double: {
    takeover: true,
    inject: async (x) => x.victim.kill('SIGKILL'),
    recover: async (x) => {
      await x.victim.restart();
      await cl.waitReady(x.victim, 40000);
      x.t1 = Date.now();
      await x.second.kill('SIGKILL');
    },
    heal: async (x) => {
      if (!x.victim.alive) await x.victim.restart();
      if (!x.second.alive) await x.second.restart();
    },
  },
};

// ---------------------------------------------------------------- auth outside dev mode

// node.dev_mode is only allowed on a loopback listener, and the lab's nodes listen on their
// namespace's address: they run with a secret and a service key of this run, and this process
// signs the tokens (HS256 JWTs, as codec/jwt.cpp does). So that the harness's helpers that ask a
// node for a dev token (cl.adminToken, sb.devToken: POST <node>/api/dev/token) work unchanged,
// fetch() answers that one request for a lab node's URL itself, with a token signed here; every
// other request goes out as before.
export const LAB_SECRET = randomBytes(24).toString('hex'); // 48 bytes
export const LAB_SERVICE_KEY = `chaos-${randomBytes(12).toString('hex')}`;
const b64url = (x) => Buffer.from(x).toString('base64url');
export function signToken(sub, role, mid, ttlS = 3600) {
  const head = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9'; // {"alg":"HS256","typ":"JWT"}
  const payload = b64url(JSON.stringify({ sub, role, mid, exp: Math.floor(Date.now() / 1000) + ttlS }));
  const sig = createHmac('sha256', LAB_SECRET).update(`${head}.${payload}`).digest('base64url');
  return `${head}.${payload}.${sig}`;
}
const labUrls = new Set();
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init = {}) => {
  const url = typeof input === 'string' ? input : input?.url;
  const m = typeof url === 'string' && /^(http:\/\/[0-9.]+:\d+)\/api\/dev\/token$/.exec(url);
  if (m && labUrls.has(m[1]) && (init.method ?? 'GET') === 'POST') {
    const q = JSON.parse(init.body);
    return new Response(JSON.stringify({ token: signToken(q.sub, q.role, q.mid) }), { status: 200, headers: { 'content-type': 'application/json' } });
  }
  return realFetch(input, init);
};
const AUTH = ['--set', 'node.dev_mode=false', '--set', `auth.secret=${LAB_SECRET}`, '--set', `auth.service_keys=*:${LAB_SERVICE_KEY}`];

const LIMITS = ['--set', 'limits.principal_rate=100000', '--set', 'limits.principal_burst=100000', '--set', 'limits.ip_rate=100000', '--set', 'limits.ip_burst=100000'];
export const CHAOS_ARGS = ['--replication-factor', '3', ...AUTH, ...LIMITS];

// One round: `merchants` hot merchants owned by a victim that is not the controller (the
// `round`-th such node), a dashboard of each on the node the nemesis leaves alone, a Load over
// them on every reachable node. After `warm` 202s per merchant the nemesis strikes (t0); the
// failover time is t0 → the first 202 per merchant of a POST sent after t0 (`double`: after
// the second kill). The fault is healed after holdMs (kill, wipe: once every merchant is served
// again, or holdMs); then every node runs and every link is up, the cluster agrees (still for
// 2 s), `after` more orders per merchant are posted (on every node, the victim too), and the
// checker runs: every acknowledged (stream, seq, id) read on every node, no seq twice, no gap,
// no id or order twice, no order nobody posted, the same history through every node, the
// dashboards saw exactly it and kept their sockets, every backup of the merchants' partitions
// live at the owner's position (replicas converge). Resolves {nemesis, victim, failoverMs:
// {m: ms}, pushFailoverMs: {m: ms} (fault → that first order pushed to the dashboard),
// slowestMs, tookOver, epochs, minority, problems: [...]} — never throws for a failed check
// (problems), only for a broken harness.
export async function chaosRound(c, nemesisName, { round = 0, tag = `${nemesisName}${round}`, merchants: nm = 2, warm = 10, after = 5, holdMs = 6000, boundMs = 15000, registry = [], aborted = () => false, log = () => {} } = {}) {
  const nemesis = NEMESES[nemesisName];
  if (!nemesis) throw new Error(`no nemesis ${nemesisName}`);
  const problems = [];
  const table = await cl.waitAgreement(c.nodes, { timeoutMs: 60000, stableMs: 1000 });
  const others = c.nodes.filter((x) => x.id !== table.controller);
  const victim = others[round % others.length];
  const safe = c.nodes.find((x) => x.id === table.controller); // the controller survives every nemesis
  const second = c.nodes.find((x) => x !== victim && x !== safe);
  const merchants = [];
  for (let start = 0; merchants.length < nm; ) {
    const m = await cl.findMerchantOwnedBy([safe], victim.id, { prefix: `${tag}-`, start });
    merchants.push(m);
    start = Number(m.slice(tag.length + 1)) + 1;
  }
  const part = {};
  const before = {};
  for (const m of merchants) {
    part[m] = (await cl.inspect(safe, 'merchant', m)).partition;
    before[m] = await cl.until(async () => {
      const r = await cl.partitionRecord(c.etcd.url, part[m]);
      return r?.replicas?.length === 3 ? r : null;
    }, 10000, `3 replicas of partition ${part[m]}`);
  }
  log(`round ${round} ${nemesisName}: victim ${victim.id} (controller ${safe.id}, second ${second.id}); ${merchants.map((m) => `${m} p${part[m]}@${before[m].epoch}`).join(', ')}`);

  const tokens = new Map();
  const tokenOf = async (m) => {
    if (!tokens.has(m)) tokens.set(m, await sb.devToken(safe.url, `dash-${m}`, 'merchant', m));
    return tokens.get(m);
  };
  const dash = {};
  for (const m of merchants) dash[m] = await cl.Dashboard.open(safe, m, await tokenOf(m), { registry });

  const load = new history.Load(tag, merchants, () => c.reachable(), { keyPrefix: 'ch', aborted, requestTimeoutMs: 4000, orderDeadlineMs: 60000, serviceKey: LAB_SERVICE_KEY });
  load.start();
  const ctx = { c, victim, second, safe, holdMs, log };
  let minorityClient;
  const minority = []; // {m, order_id, status | error, seq, id}
  let stopMinority = false;
  let minorityLoop;
  const result = { nemesis: nemesisName, round, victim: victim.id, second: second.id, merchants, failoverMs: {}, pushFailoverMs: {}, problems, minority, epochs: {} };
  try {
    await cl.until(() => merchants.every((m) => load.count(m) >= warm) || load.unexpected.length || load.gaveUp.length, 30000, () => `${warm} orders per merchant before the fault (${merchants.map((m) => load.count(m))}; refusals ${JSON.stringify(load.refusals)})`);
    if (load.unexpected.length || load.gaveUp.length) problems.push(`before the fault: unexpected ${JSON.stringify(load.unexpected.slice(0, 3))}, given up ${JSON.stringify(load.gaveUp.slice(0, 3))}`);

    if (nemesis.minority) minorityClient = nsClient(c.lab, victim.id);
    ctx.t0 = Date.now();
    await nemesis.inject(ctx);
    log(`  ${nemesisName} injected (${Date.now() - ctx.t0} ms)`);
    if (minorityClient) {
      // The victim's side: one order at a time to the victim itself, each with its own key.
      minorityLoop = (async () => {
        for (let i = 0; !stopMinority; i++) {
          const m = merchants[i % merchants.length];
          const orderId = `${tag}-min-${i}`;
          load.issued.add(orderId);
          const r = await minorityClient.post(`${victim.url}/api/orders`, sb.order(m, orderId, { minority: true }), { 'content-type': 'application/json', authorization: `Bearer ${LAB_SERVICE_KEY}`, 'idempotency-key': `ch-${process.pid}-${orderId}` }, 3000);
          minority.push({ m, order_id: orderId, at: Date.now(), status: r.status, error: r.error ?? r.body?.error, seq: r.body?.seq, id: r.body?.id });
          if (r.status === 202) load.acked.get(m).push({ seq: r.body.seq, id: r.body.id, order_id: orderId, node: `${victim.id}(minority)`, invokedAt: 0, at: Date.now() });
          await cl.sleep(300);
        }
      })();
    }
    // Failover: the first 202 per merchant of a POST sent after the fault (after the second
    // fault for `double`).
    const firstAcks = async (since, ms) =>
      cl
        .until(() => merchants.every((m) => load.firstAckSince(m, since)), ms, 'a 202 per merchant', 20)
        .then(() => Object.fromEntries(merchants.map((m) => [m, load.firstAckSince(m, since).at - since])))
        .catch(() => Object.fromEntries(merchants.map((m) => [m, load.firstAckSince(m, since) ? load.firstAckSince(m, since).at - since : null])));
    const healAt = ctx.t0 + holdMs;
    if (nemesis.recover) {
      const first = await firstAcks(ctx.t0, boundMs);
      result.firstFailoverMs = first;
      log(`  first failover ${JSON.stringify(first)}; recovering ${victim.id}, then kill -9 ${second.id}`);
      await nemesis.recover(ctx);
      result.failoverMs = await firstAcks(ctx.t1, boundMs);
      await cl.sleep(Math.max(0, ctx.t1 + 1000 - Date.now()));
    } else if (nemesis.takeover) {
      // Stop/cut: heal at t0 + holdMs whether or not the streams are served by then.
      // kill, wipe: wait for the streams (≤ boundMs); stop, cut: the fault ends at holdMs anyway.
      result.failoverMs = await firstAcks(ctx.t0, ['stop', 'cut'].includes(nemesisName) ? holdMs : boundMs);
      await cl.sleep(Math.max(0, healAt - Date.now()));
    } else {
      await cl.sleep(Math.max(0, healAt - Date.now()));
    }
    for (const m of merchants) {
      const r = await cl.partitionRecord(c.etcd.url, part[m]);
      result.epochs[m] = { before: `${before[m].owner}@${before[m].epoch}`, during: `${r.owner}@${r.epoch}` };
    }
    const tHeal = Date.now();
    stopMinority = true;
    await minorityLoop;
    await nemesis.heal(ctx);
    // No 202 during the fault (cut2, or no takeover in time): the wait runs on past the heal.
    if (!nemesis.takeover || Object.values(result.failoverMs).some((v) => v === null)) {
      result.servedOnlyAfterHeal = true;
      result.failoverMs = await firstAcks(nemesis.recover ? ctx.t1 : ctx.t0, boundMs);
    }
    log(`  healed at +${tHeal - ctx.t0} ms; failover ${JSON.stringify(result.failoverMs)}; etcd ${JSON.stringify(result.epochs)}${minority.length ? `; minority ${JSON.stringify(minority.reduce((o, x) => ((o[x.status ?? x.error] = (o[x.status ?? x.error] ?? 0) + 1), o), {}))}` : ''}`);
    result.slowestMs = Object.values(result.failoverMs).some((v) => v === null) ? null : Math.max(...Object.values(result.failoverMs));
    // Fault → the dashboard (on the safe node) pushed the first order accepted after the fault:
    // how long its subscription followed the stream to the new owner.
    const since = nemesis.recover ? ctx.t1 : ctx.t0;
    for (const m of merchants) {
      const seq = load.firstAckSince(m, since)?.seq;
      if (seq !== undefined) await dash[m].waitSeen([seq], boundMs).catch(() => {});
      const at = seq === undefined ? undefined : dash[m].seenAt.get(seq);
      result.pushFailoverMs[m] = at === undefined ? null : at - since;
    }
    result.tookOver = merchants.every((m) => result.epochs[m].during !== result.epochs[m].before);
    if (nemesis.takeover && !result.tookOver) problems.push(`${nemesisName}: not every partition was taken over during the ${holdMs} ms fault: ${JSON.stringify(result.epochs)}`);
    for (const [m, ms] of Object.entries(result.failoverMs)) if (ms === null || ms > boundMs) problems.push(`${m}: no 202 within ${boundMs} ms of the fault (${ms})`);

    // Healed: every node runs, every link up, the cluster agrees.
    await Promise.all(c.nodes.map((x) => cl.waitReady(x, 60000)));
    await cl.waitAgreement(c.nodes, { timeoutMs: 90000, stableMs: 2000 });
    const tAgreed = Date.now();
    await cl.until(() => merchants.every((m) => load.acked.get(m).filter((a) => a.invokedAt >= tAgreed).length >= after) || load.gaveUp.length, 40000, `${after} orders per merchant after the heal`);
    await load.stop(60000);
  } catch (err) {
    problems.push(`round aborted: ${err.message.slice(0, 2000)}`);
  } finally {
    stopMinority = true;
    load.stopping = true;
    await minorityLoop?.catch(() => {});
    await minorityClient?.close();
  }
  result.load = { acked: Object.fromEntries(merchants.map((m) => [m, load.count(m)])), posts: load.history.filter((h) => h.type === 'invoke').length, refusals: load.refusals, networkErrors: load.networkErrors };
  result.loadRef = load;
  if (load.unexpected.length) problems.push(`answers outside the contract: ${JSON.stringify(load.unexpected.slice(0, 5))}`);
  if (load.gaveUp.length) problems.push(`orders never acknowledged: ${JSON.stringify(load.gaveUp.slice(0, 5))}`);
  if (problems.some((p) => p.startsWith('round aborted'))) return result;

  // The checker, on every node.
  for (const m of merchants) {
    const stream = `orders:${m}`;
    const acked = load.acked.get(m);
    const reads = [];
    for (const x of c.nodes) {
      try {
        const r = await cl.readStream(x, await tokenOf(m), stream, { expect: acked.length, quietMs: 500, timeoutMs: 30000, registry });
        reads.push({ node: x.id, ...r });
        problems.push(...history.checkStream(`${stream} read on ${x.id}`, acked, r.entries, { issued: load.issued }));
        for (const y of r.conflicts) problems.push(`${stream} read on ${x.id}: seq ${y.seq} replayed as ${y.first}, then ${y.then}`);
      } catch (err) {
        problems.push(`${stream} read on ${x.id}: ${err.message.slice(0, 300)}`);
      }
    }
    const ref = JSON.stringify(reads[0]?.entries.map((e) => [e.seq, e.id]));
    for (const r of reads.slice(1)) if (JSON.stringify(r.entries.map((e) => [e.seq, e.id])) !== ref) problems.push(`${stream}: ${r.node} reads ${r.entries.length} entries, ${reads[0].node} ${reads[0].entries.length}: the histories differ`);
    if (reads[0]) {
      await dash[m].waitSeen(reads[0].entries.length, 20000).catch(() => {});
      problems.push(...history.checkDashboard(dash[m], reads[0].entries));
      result.stored = { ...result.stored, [m]: reads[0].entries.length };
    }
  }
  // Replicas converge: every backup of the merchants' partitions live at the owner's position
  // (GET /admin/replication). Kept apart from `problems` (result.convergence) so that a failure
  // of that endpoint does not hide the checker's verdict.
  const parts = [...new Set(Object.values(part))];
  let lastRep;
  let why = '';
  const converged = await cl
    .until(async () => {
      const res = await cl.adminGet(safe, '/admin/replication', { timeoutMs: 5000 });
      if (res.status !== 200) {
        why = `GET /admin/replication on ${safe.id}: ${res.status} ${res.text.slice(0, 200)}`;
        if ([401, 403, 404, 405].includes(res.status)) throw new Error(why);
        return false;
      }
      lastRep = res.body?.partitions?.filter((p) => parts.includes(p.partition));
      why = `partitions ${JSON.stringify(lastRep).slice(0, 1500)}`;
      return lastRep?.length === parts.length && lastRep.every((p) => p.backups?.length === 2 && p.backups.every((b) => b.mode === 'live' && b.lag === 0));
    }, 30000, 'replicas converged')
    .then(() => true, (err) => ((why ||= err.message), false));
  result.replication = lastRep;
  result.convergence = converged ? [] : [`the replicas of partitions ${parts.join(',')} did not converge (every backup live, lag 0) within 30 s: ${why}`];
  for (const m of merchants) dash[m].terminate();
  return result;
}
