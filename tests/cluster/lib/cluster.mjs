// Cluster test harness: a throwaway etcd (/usr/bin/etcd) and switchboard nodes on loopback,
// each with its own temp data dir, joined through that etcd (../shared/CONTRACT.md, "Cluster").
//
// Reuses the integration helpers (tests/integration/lib: HTTP requests, dev tokens, the
// WebSocket client, the contract's assertions) instead of copying them. Those import `ws`,
// which Node resolves from tests/integration/node_modules: run `npm ci` there first.
//
// Every process started here is stopped by its pid in the tests' after() hooks (cluster.stop())
// and, if a test file dies first, SIGKILLed on process exit or on SIGINT/SIGTERM/SIGHUP; every
// temp dir is removed. Every wait polls with a deadline; nothing sleeps to make a test pass.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';

let sb;
let chat;
try {
  sb = await import('../../integration/lib/daemon.mjs');
  chat = await import('../../integration/lib/chat.mjs');
} catch (err) {
  if (/Cannot find (package|module) 'ws'/.test(String(err?.message)))
    throw new Error('tests/cluster uses tests/integration/lib, which needs the ws package: run `npm ci` in tests/integration first', { cause: err });
  throw err;
}
export { sb, chat };

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
// SWITCHBOARD_BIN or <repo>/build/switchboard (the integration lib's default).
export const BIN = sb.BIN;
export const ETCD_BIN = process.env.ETCD_BIN ?? '/usr/bin/etcd';
export const DEV_SERVICE_KEY = sb.DEV_SERVICE_KEY;

const isFile = (p) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
// SBCTL_BIN, else build/tools/sbctl/sbctl or build/sbctl (whichever exists).
export const SBCTL_BIN =
  process.env.SBCTL_BIN ??
  [path.join(REPO, 'build/tools/sbctl/sbctl'), path.join(REPO, 'build/sbctl')].find(isFile) ??
  path.join(REPO, 'build/tools/sbctl/sbctl');

const VERBOSE = !!process.env.SB_IT_VERBOSE;
const LOG_BYTES = 512 * 1024; // kept per process (the tail)
const DUMP_BYTES = Number(process.env.SB_IT_LOG_TAIL ?? 16 * 1024); // printed per process on failure

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with what `promise` resolves to, or with undefined after `ms`.
function orAfter(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

// Polls `check()` (every `intervalMs`) until it returns a truthy value, which is returned;
// throws after `timeoutMs` with `what` (a string, or a function called then for the details).
export async function until(check, timeoutMs, what = 'condition', intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() >= deadline) {
      const desc = typeof what === 'function' ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${desc}`);
    }
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

// ---------------------------------------------------------------- processes and temp dirs

const live = new Set(); // process records not yet exited
const started = []; // every process record of this file (their logs are dumped on failure)
const dirs = new Set(); // temp dirs not yet removed

// Temp dirs are named sb-cl-<pid of this process>-…, so that those of a test process that was
// killed outright (its exit handler never ran) can be told apart and removed by the next run.
const TMP_PREFIX = `sb-cl-${process.pid}-`;
function makeTempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX + prefix));
  dirs.add(dir);
  return dir;
}

function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// Removes the temp dirs of earlier test processes that no longer run.
function sweepStaleDirs() {
  let names = [];
  try {
    names = readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^sb-cl-(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid || processExists(Number(m[1]))) continue;
    try {
      rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    } catch {
      /* not ours to remove after all */
    }
  }
}
sweepStaleDirs();

function removeDir(dir) {
  if (!dir) return;
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  dirs.delete(dir);
}

function killEverythingNow() {
  for (const rec of live) {
    try {
      rec.child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const d of dirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      /* best effort at exit */
    }
  }
}
process.on('exit', killEverythingNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killEverythingNow();
    process.exit(128 + (os.constants.signals[sig] ?? 1));
  });
}

const tail = (s, n) => (s.length > n ? s.slice(-n) : s);

// When the test process is killed outright (SIGKILL: the test runner does that when its own
// output pipe breaks), no handler runs. So every child is started through util-linux's
// `setpriv --pdeathsig KILL`, which execs it (same pid) with a parent-death signal: the kernel
// kills it when this process dies, however it dies.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(isFile);

// Spawns `bin args`, keeps its output (stdout, stderr, and both interleaved in `log`).
function spawnProc(label, bin, args, { env } = {}) {
  if (!existsSync(bin)) throw new Error(`${label}: binary not found at ${bin}`);
  const [file, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  const rec = { label, bin, args, child, pid: child.pid, log: '', stdout: '', stderr: '', exit: null, expected: false, events: new EventEmitter() };
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
    child.on('error', (err) => {
      rec.log += `\n[spawn error] ${err.message}\n`;
      // 'close' may not follow a failed spawn.
      setImmediate(() => fin(null, null, err));
    });
  });
  const partial = { stdout: '', stderr: '' };
  for (const name of ['stdout', 'stderr']) {
    child[name].setEncoding('utf8');
    child[name].on('data', (d) => {
      rec[name] = tail(rec[name] + d, LOG_BYTES);
      rec.log = tail(rec.log + d, LOG_BYTES);
      if (VERBOSE) {
        const text = partial[name] + d;
        const lines = text.split('\n');
        partial[name] = lines.pop();
        for (const l of lines) process.stderr.write(`[${label}${name === 'stderr' ? '!' : ''}] ${l}\n`);
      }
      rec.events.emit('data');
    });
  }
  return rec;
}

// Sends `signal` to the process (by its pid) and waits up to `timeoutMs` for it to exit; then
// SIGKILL. Resolves its exit {code, signal}.
async function stopProc(rec, signal = 'SIGTERM', timeoutMs = 5000) {
  if (!rec) return null;
  rec.expected = true;
  if (rec.exit) return rec.exit;
  try {
    rec.child.kill(signal);
  } catch {
    /* exited meanwhile */
  }
  let r = await orAfter(rec.exited, timeoutMs);
  if (!r) {
    try {
      rec.child.kill('SIGKILL');
    } catch {
      /* exited meanwhile */
    }
    r = (await orAfter(rec.exited, 5000)) ?? { code: null, signal: null, error: `pid ${rec.pid} did not exit after SIGKILL` };
    r = { ...r, timedOut: true };
  }
  return r;
}

// Prints the tail of the output of every process this file started (on a test failure).
export function dumpLogs(header = '') {
  const out = [`\n===== cluster logs${header ? ' (' + header + ')' : ''} =====`];
  for (const rec of started) {
    const state = rec.exit ? `exited code ${rec.exit.code} signal ${rec.exit.signal}${rec.expected ? '' : ' (on its own)'}` : 'running';
    const n = rec.label === 'etcd' ? Math.min(DUMP_BYTES, 4096) : DUMP_BYTES;
    out.push(`----- ${rec.label} pid ${rec.pid} (${state}) -----`, tail(rec.log, n).trimEnd());
  }
  out.push('===== end of cluster logs =====\n');
  process.stderr.write(out.join('\n') + '\n');
}

// test() that prints every process's log tail when it fails; default timeout 90 s.
export function test(name, optsOrFn, maybeFn) {
  const fn = typeof optsOrFn === 'function' ? optsOrFn : maybeFn;
  const opts = typeof optsOrFn === 'function' ? {} : optsOrFn;
  return nodeTest(name, { timeout: 90000, ...opts }, async (t) => {
    try {
      return await fn(t);
    } catch (err) {
      dumpLogs(name);
      throw err;
    }
  });
}

// A before() body that prints the logs when it fails.
export function withLogs(fn, what = 'setup') {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      dumpLogs(what);
      throw err;
    }
  };
}

// ---------------------------------------------------------------- ports

const handedOut = new Set();

// A free loopback TCP port: bind port 0, read it, close. Never the same port twice per file.
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = srv.address().port;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no fresh free port after 50 tries');
}

const PORT_IN_USE = /address already in use|EADDRINUSE|bind: |failed to bind|cannot bind/i;

// ---------------------------------------------------------------- etcd

// Starts a one-member etcd on free loopback ports with a fresh data dir and waits (bounded)
// for GET /health → {"health":"true"}. Returns {url, pid, dataDir, log(), stop()}.
export async function startEtcd({ timeoutMs = 10000 } = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD_')));
  for (let attempt = 1; ; attempt++) {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const dir = makeTempDir('etcd-');
    const rec = spawnProc('etcd', ETCD_BIN, [
      '--name', 'default',
      '--data-dir', path.join(dir, 'data'),
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `default=${peer}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
      '--log-level', 'warn',
    ], { env });
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    let healthy = false;
    while (!rec.exit && Date.now() < deadline) {
      try {
        const res = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
        const text = await res.text();
        last = `${res.status} ${text}`;
        if (res.status === 200 && JSON.parse(text)?.health === 'true') {
          healthy = true;
          break;
        }
      } catch (err) {
        last = err.cause?.code ?? err.message;
      }
      await sleep(100);
    }
    if (healthy) {
      const etcd = {
        url: client,
        clientUrl: client,
        peerUrl: peer,
        pid: rec.pid,
        dataDir: dir,
        rec,
        log: () => rec.log,
        stop: async (signal = 'SIGTERM') => {
          const r = await stopProc(rec, signal, 5000);
          removeDir(dir);
          return r;
        },
      };
      return etcd;
    }
    await stopProc(rec, 'SIGKILL');
    removeDir(dir);
    if (attempt < 3 && PORT_IN_USE.test(rec.log)) continue;
    throw new Error(
      `etcd not healthy within ${timeoutMs} ms (last: ${last}; ${rec.exit ? `exited code ${rec.exit.code} signal ${rec.exit.signal}` : 'killed'})\n--- etcd output ---\n${tail(rec.log, 4000)}`,
    );
  }
}

// ---------------------------------------------------------------- switchboard nodes

const LISTENING = /switchboard listening on http:\/\/([0-9.]+):(\d+)/;

// Waits for the "switchboard listening on" line; rejects when the process exits first or after
// `timeoutMs`.
function waitListening(rec, timeoutMs) {
  return new Promise((resolve, reject) => {
    let timer;
    const finish = (err, v) => {
      clearTimeout(timer);
      rec.events.off('data', onData);
      rec.events.off('exit', onExit);
      if (err) reject(err);
      else resolve(v);
    };
    const describe = (why) =>
      new Error(`${rec.label}: ${path.basename(rec.bin)} ${rec.args.join(' ')}\n${why}\n--- output ---\n${tail(rec.log, 6000)}`);
    const onData = () => {
      const m = LISTENING.exec(rec.stdout);
      if (m) finish(null, { host: m[1], port: Number(m[2]) });
    };
    const onExit = (x) => {
      onData();
      finish(describe(`exited (code ${x.code}, signal ${x.signal}${x.error ? ', ' + x.error : ''}) before the "switchboard listening on" line`));
    };
    timer = setTimeout(() => finish(describe(`no "switchboard listening on" line within ${timeoutMs} ms`)), timeoutMs);
    rec.events.on('data', onData);
    rec.events.on('exit', onExit);
    onData();
    if (rec.exit) onExit(rec.exit);
  });
}

const allNodes = new Set();

// Spawns one node:
//   switchboard --node-id <id> --listen 127.0.0.1:<port|0> --cluster-listen 127.0.0.1:<free>
//               --data-dir <dir> --etcd <url> <extraArgs…>
// and waits for its "listening" line (not for readiness: see waitReady). `etcd` is the
// startEtcd() result or a URL (null: no --etcd, the node runs alone). Returns the node:
//   {id, url, wsUrl, port, clusterPort, clusterAddress, pid, dataDir, alive, log(),
//    kill(signal = 'SIGKILL'), stop(signal = 'SIGTERM'), crashes}
// `crashes` lists exits nobody asked for (code, signal, log tail).
export async function startNode({ id, etcd, dataDir, extraArgs = [], port = 0, clusterPort, timeoutMs = 20000 } = {}) {
  assert.ok(id, 'startNode needs an id');
  const node = {
    id,
    etcdUrl: typeof etcd === 'string' || etcd == null ? etcd ?? null : etcd.url,
    dataDir: dataDir ?? makeTempDir(`${id}-`),
    ownsDir: !dataDir,
    extraArgs,
    rec: null,
    crashes: [],
    url: null,
    port: null,
    clusterPort: null,
  };
  Object.defineProperties(node, {
    pid: { get: () => node.rec?.pid, enumerable: true },
    alive: { get: () => !!node.rec && !node.rec.exit, enumerable: true },
  });
  node.log = () => node.rec?.log ?? '';
  // Sends `signal` (by pid) and waits for the exit (SIGKILL after 5 s); resolves {code, signal}.
  node.kill = (signal = 'SIGKILL') => stopProc(node.rec, signal, 5000);
  node.stop = (signal = 'SIGTERM', ms = 5000) => stopProc(node.rec, signal, ms);
  allNodes.add(node);
  try {
    await launchNode(node, { port, clusterPort, timeoutMs });
  } catch (err) {
    allNodes.delete(node);
    if (node.ownsDir) removeDir(node.dataDir);
    throw err;
  }
  return node;
}

async function launchNode(node, { port, clusterPort, timeoutMs }) {
  const pickPorts = clusterPort === undefined;
  for (let attempt = 1; ; attempt++) {
    const cport = clusterPort ?? (await freePort());
    const args = ['--node-id', node.id, '--listen', `127.0.0.1:${port}`, '--cluster-listen', `127.0.0.1:${cport}`, '--data-dir', node.dataDir];
    if (node.etcdUrl) args.push('--etcd', node.etcdUrl);
    args.push(...node.extraArgs);
    const rec = spawnProc(node.id, BIN, args);
    node.rec = rec;
    rec.exited.then((x) => {
      if (!rec.expected) node.crashes.push({ ...x, log: tail(rec.log, 4000) });
    });
    try {
      const { host, port: p } = await waitListening(rec, timeoutMs);
      node.host = host;
      node.port = p;
      node.url = `http://${host}:${p}`;
      node.wsUrl = `ws://${host}:${p}`;
      node.clusterPort = cport;
      node.clusterAddress = `127.0.0.1:${cport}`;
      return;
    } catch (err) {
      await stopProc(rec, 'SIGKILL');
      if (pickPorts && port === 0 && attempt < 3 && PORT_IN_USE.test(rec.log)) continue;
      throw err;
    }
  }
}

// Starts the node again with the same id, data dir, HTTP port and cluster port (stopping it
// first with SIGTERM if it still runs). Resolves the same node object.
export async function restartNode(node, { timeoutMs = 20000 } = {}) {
  if (node.alive) await node.stop();
  await launchNode(node, { port: node.port, clusterPort: node.clusterPort, timeoutMs });
  return node;
}

// Polls GET /readyz until 200 (bounded); throws with the last answer, or at once if the node
// process exits.
export async function waitReady(node, ms = 20000) {
  let last = 'no answer yet';
  await until(
    async () => {
      if (!node.alive) throw new Error(`node ${node.id} exited (${JSON.stringify(node.rec?.exit)}) while waiting for /readyz\n--- output ---\n${tail(node.log(), 4000)}`);
      try {
        const res = await sb.request(`${node.url}/readyz`, { timeoutMs: 2000 });
        last = `${res.status} ${res.text.slice(0, 200)}`;
        return res.status === 200;
      } catch (err) {
        last = err.message;
        return false;
      }
    },
    ms,
    () => `GET ${node.url}/readyz of ${node.id} to answer 200 (last: ${last})`,
  );
  return node;
}

// ---------------------------------------------------------------- admin API

const adminTokens = new Map();

// A dev token of role admin, mid "*" (minted once per node URL; valid on every node).
export async function adminToken(node) {
  if (!adminTokens.has(node.url)) adminTokens.set(node.url, await sb.devToken(node.url, 'root', 'admin', '*'));
  return adminTokens.get(node.url);
}

// GET `path` on the node with an admin token (or `token`). Resolves {status, headers, text, body}.
export async function adminGet(node, p, { token, timeoutMs = 5000 } = {}) {
  const t = token ?? (await adminToken(node));
  return sb.request(`${node.url}${p}`, { headers: { authorization: `Bearer ${t}` }, timeoutMs });
}

// POST `path` (JSON `body`, if any) on the node with an admin token (or `token`).
export async function adminPost(node, p, body, { token, timeoutMs = 5000 } = {}) {
  const t = token ?? (await adminToken(node));
  const headers = { authorization: `Bearer ${t}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return sb.request(`${node.url}${p}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body), timeoutMs });
}

// GET /admin/actors/{kind}/{id} that must answer 200; returns the body.
export async function inspect(node, kind, id) {
  const res = await adminGet(node, `/admin/actors/${encodeURIComponent(kind)}/${encodeURIComponent(id)}`);
  if (res.status !== 200) throw new Error(`GET /admin/actors/${kind}/${id} on ${node.id}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.body;
}

// The node id owning actor {kind}/{id}, as `node` tells it.
export async function ownerOf(node, kind, id) {
  const body = await inspect(node, kind, id);
  if (typeof body?.owner !== 'string') throw new Error(`GET /admin/actors/${kind}/${id} on ${node.id}: no owner in ${JSON.stringify(body).slice(0, 300)}`);
  return body.owner;
}

// The first node of `nodes` (a node or a list) whose process runs.
function aliveOf(nodes) {
  const list = [].concat(nodes);
  const n = list.find((x) => x.alive);
  if (!n) throw new Error(`no live node among ${list.map((x) => x.id).join(', ')}`);
  return n;
}

// Merchant ids prefix0, prefix1, … : the first one owned by `nodeId` (partitions are hashed, so
// a test discovers a key owned by the node it wants). Options: prefix ('m-'), start, max, exclude.
export async function findMerchantOwnedBy(nodes, nodeId, { prefix = 'm-', start = 0, max = 2000, exclude = [] } = {}) {
  const via = aliveOf(nodes);
  const skip = new Set(exclude);
  for (let i = start; i < start + max; i++) {
    const m = `${prefix}${i}`;
    if (skip.has(m)) continue;
    if ((await ownerOf(via, 'merchant', m)) === nodeId) return m;
  }
  throw new Error(`no merchant ${prefix}${start}..${prefix}${start + max - 1} is owned by ${nodeId}`);
}

// Map merchant → owner node id for every id in `merchants` (asked of one live node of `nodes`).
export async function ownersOf(nodes, merchants, kind = 'merchant') {
  const via = aliveOf(nodes);
  const out = new Map();
  for (let i = 0; i < merchants.length; i += 16) {
    const part = merchants.slice(i, i + 16);
    const owners = await Promise.all(part.map((m) => ownerOf(via, kind, m)));
    part.forEach((m, j) => out.set(m, owners[j]));
  }
  return out;
}

const partitionsOf = (n) => (Array.isArray(n?.partitions) ? n.partitions.length : n?.partitions);

// Polls GET /admin/nodes on every node of `nodes` until all answer the same table: exactly the
// ids of `ids` (default: the nodes' ids), each in its `states[id]` (default "up"), the same
// partition count per node everywhere, summing to the same partition_count, every node in state
// "up" owning at least `minPartitions`; then `check(table)` must hold too; and with `stableMs`
// the same table must have been answered by every poll for that long (partitions move a few at
// a time: a table that holds still is one the controller is done with). Resolves the table
// {partition_count, controller, nodes: {id: {state, partitions, connections, address,
// cluster_address}}, views}.
export async function waitAgreement(nodes, { ids, states = {}, check, minPartitions = 0, stableMs = 0, timeoutMs = 30000 } = {}) {
  const want = [...(ids ?? nodes.map((n) => n.id))].sort();
  let last = [];
  let why = '';
  let stableShape;
  let stableSince = 0;
  const table = await until(
    async () => {
      const views = await Promise.all(
        nodes.map(async (n) => {
          try {
            const res = await adminGet(n, '/admin/nodes', { timeoutMs: 3000 });
            return { from: n.id, status: res.status, body: res.body, text: res.text.slice(0, 600) };
          } catch (err) {
            return { from: n.id, error: err.message };
          }
        }),
      );
      last = views;
      // Any poll that does not agree restarts the stability window.
      const prevShape = stableShape;
      stableShape = undefined;
      // An endpoint that does not exist, or a refused token, will not change: fail at once.
      const hopeless = views.find((v) => [401, 403, 404, 405].includes(v.status));
      if (hopeless) throw new Error(`GET /admin/nodes on ${hopeless.from}: ${hopeless.status} ${hopeless.text}`);
      let ref;
      for (const v of views) {
        if (v.status !== 200 || !Array.isArray(v.body?.nodes)) return !(why = `${v.from} answered ${v.status ?? v.error} ${v.text ?? ''}`);
        const got = v.body.nodes.map((x) => x.id).sort();
        if (JSON.stringify(got) !== JSON.stringify(want)) return !(why = `${v.from} lists ${got.join(',')}, want ${want.join(',')}`);
        const pc = v.body.partition_count;
        if (!Number.isInteger(pc) || pc < 1) return !(why = `${v.from}: partition_count ${pc}`);
        let sum = 0;
        for (const x of v.body.nodes) {
          const st = states[x.id] ?? 'up';
          if (x.state !== st) return !(why = `${v.from} says ${x.id} is ${x.state}, want ${st}`);
          const p = partitionsOf(x);
          if (!Number.isInteger(p) || p < 0) return !(why = `${v.from}: partitions of ${x.id} = ${JSON.stringify(x.partitions)}`);
          sum += p;
        }
        if (sum !== pc) return !(why = `${v.from}: partitions sum to ${sum}, partition_count ${pc}`);
        const shape = JSON.stringify([pc, v.body.nodes.map((x) => [x.id, x.state, partitionsOf(x)]).sort()]);
        if (ref === undefined) ref = shape;
        else if (shape !== ref) return !(why = `views differ: ${ref} vs ${v.from}: ${shape}`);
      }
      const first = views[0].body;
      const t = { partition_count: first.partition_count, controller: first.controller, nodes: {}, views };
      for (const x of first.nodes) t.nodes[x.id] = { ...x, partitions: partitionsOf(x) };
      const partitions = () => JSON.stringify(Object.fromEntries(Object.entries(t.nodes).map(([id, x]) => [id, `${x.state}/${x.partitions}`])));
      if (ref !== prevShape) stableSince = Date.now();
      stableShape = ref;
      const starved = Object.entries(t.nodes).find(([, x]) => x.state === 'up' && x.partitions < minPartitions);
      if (starved) return !(why = `${starved[0]} owns fewer than ${minPartitions} partition(s): ${partitions()}`);
      if (check && !check(t)) return !(why = `check(${check.toString().slice(0, 200)}) false for ${partitions()}`);
      if (Date.now() - stableSince < stableMs) return !(why = `the table has held still for ${Date.now() - stableSince} of ${stableMs} ms: ${partitions()}`);
      return t;
    },
    timeoutMs,
    () => {
      const brief = (v) =>
        Array.isArray(v.body?.nodes)
          ? `${v.from}: ${v.body.nodes.map((x) => `${x.id} ${x.state}/${JSON.stringify(x.partitions)}`).join(', ')} of ${v.body.partition_count}, controller ${v.body.controller}, self ${v.body.self}`
          : `${v.from}: ${v.status ?? ''} ${v.error ?? v.text ?? ''}`;
      return `the nodes ${nodes.map((n) => n.id).join(',')} to agree on /admin/nodes (${why}); last views: ${last.map(brief).join(' | ')}; first body: ${JSON.stringify(last[0]?.body ?? null).slice(0, 600)}`;
    },
    200,
  );
  return table;
}

// ---------------------------------------------------------------- a whole cluster

// etcd + n nodes (ids n1..nN, each `extraArgs` + perNode[id]), all ready, all agreeing on
// /admin/nodes, each owning partitions, the table unchanged for 1 s. Returns {etcd, nodes, node(id), addNode(id, opts), stop()}; stop() stops every
// node and etcd by pid, removes their dirs, then throws if a node had exited on its own.
export async function startCluster(n, { extraArgs = [], perNode = {}, readyMs = 30000, agreeMs = 40000 } = {}) {
  const c = { etcd: null, nodes: [], extraArgs };
  c.node = (id) => {
    const x = c.nodes.find((nd) => nd.id === id);
    if (!x) throw new Error(`no node ${id} in this cluster`);
    return x;
  };
  // Starts another node in this cluster (not waiting for readiness).
  c.addNode = async (id, opts = {}) => {
    const nd = await startNode({ id, etcd: c.etcd, extraArgs: [...extraArgs, ...(perNode[id] ?? []), ...(opts.extraArgs ?? [])], dataDir: opts.dataDir });
    c.nodes.push(nd);
    return nd;
  };
  c.stop = async () => {
    await Promise.all(c.nodes.map((nd) => nd.stop('SIGTERM', 5000)));
    await c.etcd?.stop();
    for (const nd of c.nodes) {
      if (nd.ownsDir) removeDir(nd.dataDir);
      allNodes.delete(nd);
    }
    const crashed = c.nodes.filter((nd) => nd.crashes.length);
    if (crashed.length)
      throw new Error(
        crashed.map((nd) => `node ${nd.id} exited on its own: ${nd.crashes.map((x) => `code ${x.code} signal ${x.signal}`).join('; ')}\n--- ${nd.id} output ---\n${nd.crashes.at(-1).log}`).join('\n'),
      );
  };
  try {
    c.etcd = await startEtcd();
    const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
    const results = await Promise.allSettled(ids.map((id) => startNode({ id, etcd: c.etcd, extraArgs: [...extraArgs, ...(perNode[id] ?? [])] })));
    for (const r of results) if (r.status === 'fulfilled') c.nodes.push(r.value);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    c.nodes.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    await Promise.all(c.nodes.map((nd) => waitReady(nd, readyMs)));
    // Settled: partitions spread over every node and no longer moving.
    await waitAgreement(c.nodes, { timeoutMs: agreeMs, minPartitions: 1, stableMs: 1000 });
  } catch (err) {
    // The logs stay available to dumpLogs() (test() and withLogs() print them).
    await c.stop().catch(() => {});
    throw err;
  }
  return c;
}

// Stops every node and etcd this file started that is still running (for a last after()).
export async function stopAll() {
  await Promise.all([...live].filter((r) => r.label !== 'etcd').map((r) => stopProc(r, 'SIGTERM', 5000)));
  await Promise.all([...live].map((r) => stopProc(r, 'SIGTERM', 5000)));
  for (const d of [...dirs]) removeDir(d);
}

// ---------------------------------------------------------------- sbctl

// Runs sbctl with `args` (after `--node <node.url>` and `--token <token>` when given).
// Resolves {code, signal, stdout, stderr, json (stdout parsed, if it is JSON), timedOut}.
export async function sbctl(args, { node, token, timeoutMs = 15000 } = {}) {
  const full = [];
  if (node) full.push('--node', typeof node === 'string' ? node : node.url);
  if (token) full.push('--token', token);
  full.push(...args);
  const rec = spawnProc('sbctl', SBCTL_BIN, full);
  rec.expected = true;
  let timedOut = false;
  let r = await orAfter(rec.exited, timeoutMs);
  if (!r) {
    timedOut = true;
    r = await stopProc(rec, 'SIGKILL');
  }
  let json;
  try {
    json = JSON.parse(rec.stdout);
  } catch {
    json = undefined;
  }
  // sbctl's output is not interesting in a failure dump of the daemons.
  started.splice(started.indexOf(rec), 1);
  return { code: r.code, signal: r.signal, stdout: rec.stdout, stderr: rec.stderr, json, timedOut, args: full };
}

// ---------------------------------------------------------------- orders

// POST /api/orders on `node` with the dev service key (or `key`), optional Idempotency-Key.
export function postOrderTo(node, body, { key = DEV_SERVICE_KEY, idempotencyKey, timeoutMs = 10000 } = {}) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  return sb.request(`${node.url}/api/orders`, { method: 'POST', headers, body: JSON.stringify(body), timeoutMs });
}

// Seconds of a Retry-After header (a non-negative integer), or undefined.
export function retryAfterSeconds(res) {
  const v = res.headers?.get?.('retry-after') ?? res.headers?.['retry-after'];
  if (v == null || !/^\d+$/.test(String(v).trim())) return undefined;
  return Number(v);
}

// Posts `body` until a 202, with the same Idempotency-Key on every try: a 503 (owner_unavailable
// or unavailable) or 429 waits its Retry-After (at most `maxWaitMs`), a network error or request
// timeout waits 200 ms. `target` is a node or a function (attempt) → node. Any other answer, or
// no 202 within `deadlineMs`, or `abort()` → {accepted: undefined, …}. Resolves {accepted (the
// 202 body), res, attempts, retries: [{status|error, waitMs}]}.
export async function postUntilAccepted(target, body, { idempotencyKey, deadlineMs = 20000, maxWaitMs = 3000, requestTimeoutMs = 5000, abort = () => false, key } = {}) {
  const pick = typeof target === 'function' ? target : () => target;
  const deadline = Date.now() + deadlineMs;
  const retries = [];
  for (let attempt = 1; ; attempt++) {
    const node = pick(attempt);
    if (!node?.url) throw new Error(`postUntilAccepted: no node to post to (attempt ${attempt})`);
    let res;
    let waitMs;
    try {
      res = await postOrderTo(node, body, { idempotencyKey, key, timeoutMs: requestTimeoutMs });
    } catch (err) {
      retries.push({ node: node.id, error: err.message.slice(0, 200) });
      waitMs = 200;
    }
    if (res) {
      if (res.status === 202) return { accepted: res.body, res, attempts: attempt, retries, node: node.id };
      const retryable = (res.status === 503 && ['owner_unavailable', 'unavailable'].includes(res.body?.error)) || res.status === 429;
      if (!retryable) return { accepted: undefined, res, attempts: attempt, retries, node: node.id };
      const ra = retryAfterSeconds(res);
      waitMs = Math.min(maxWaitMs, ra === undefined ? 1000 : Math.max(ra * 1000, 50));
      retries.push({ node: node.id, status: res.status, error: res.body?.error, retryAfter: ra, waitMs });
    }
    if (abort() || Date.now() + waitMs > deadline) return { accepted: undefined, res, attempts: attempt, retries, node: node.id, gaveUp: true };
    await sleep(waitMs);
  }
}

// ---------------------------------------------------------------- WebSocket clients

// Connects to `node` with `token` and says hello (with `resume`); resolves {ws, welcome}. The
// WsClient (tests/integration/lib/daemon.mjs) is pushed onto `registry` for after() to terminate.
export async function connectClient(node, token, { resume, registry, timeoutMs = 8000 } = {}) {
  const ws = await sb.connectWs(node.url, token, { timeoutMs });
  registry?.push(ws);
  const welcome = await ws.hello(resume, timeoutMs);
  return { ws, welcome };
}

// A merchant dashboard that keeps what it saw of `orders:<merchant>`:
//   seen: Map seq → id (first delivery), seenAt: Map seq → when (first delivery), deliveries
//   (every push), dups (redeliveries of the same seq and id), conflicts (a seq delivered with
//   another id), errors (error frames), closes [{node, code, reason, reconnected}], connections
//   (nodes connected to, in order).
// It acks the highest contiguous seq it has (with autoAck). When a socket closes that the test
// did not close, `reconnectTo(dash, closeInfo)` may name a node to reconnect to (hello with
// resume {stream: contiguous}); without one the close just stays recorded.
export class Dashboard {
  constructor(merchant, token, { sub, autoAck = true, reconnectTo, registry } = {}) {
    this.merchant = merchant;
    this.stream = `orders:${merchant}`;
    this.token = token;
    this.sub = sub;
    this.autoAck = autoAck;
    this.reconnectTo = reconnectTo;
    this.registry = registry;
    this.seen = new Map();
    this.seenAt = new Map();
    this.deliveries = 0;
    this.dups = 0;
    this.conflicts = [];
    this.errors = [];
    this.closes = [];
    this.connections = [];
    this.contiguous = 0;
    this.acked = 0;
    this.ws = null;
    this.node = null;
    this.closing = false;
    this.reconnecting = null;
    this.events = new EventEmitter();
    this.events.setMaxListeners(0);
  }

  static async open(node, merchant, token, opts = {}) {
    const d = new Dashboard(merchant, token, opts);
    await d.connect(node, opts.resume);
    return d;
  }

  // Connects to `node` (hello with `resume`, a number = last seq for this stream, or an object).
  async connect(node, resume) {
    const r = typeof resume === 'number' ? { [this.stream]: resume } : resume;
    const { ws, welcome } = await connectClient(node, this.token, { resume: r, registry: this.registry });
    assert.ok(Array.isArray(welcome.streams) && welcome.streams.includes(this.stream), `welcome on ${node.id} lists ${this.stream}; got ${JSON.stringify(welcome)}`);
    this.ws = ws;
    this.node = node;
    this.welcome = welcome;
    this.connections.push(node.id);
    // Frames that arrived with the welcome (replay) are in ws.frames already.
    for (const f of ws.frames) this.onFrame(f);
    const seenCount = ws.frames.length;
    let skip = seenCount;
    ws.ws.on('message', () => {
      // WsClient parsed it into ws.frames before this listener (it registered first).
      while (skip < ws.frames.length) this.onFrame(ws.frames[skip++]);
    });
    ws.closed.then((info) => this.onClose(ws, node, info));
    return welcome;
  }

  onFrame(f) {
    if (f.op === 'error') {
      this.errors.push({ node: this.node?.id, code: f.code, ref: f.ref, message: f.message });
      this.events.emit('error-frame', f);
      return;
    }
    if (f.op !== 'push' || f.stream !== this.stream) return;
    this.deliveries++;
    const had = this.seen.get(f.seq);
    if (had === undefined) {
      this.seen.set(f.seq, f.id);
      this.seenAt.set(f.seq, Date.now());
    } else if (had === f.id) this.dups++;
    else this.conflicts.push({ seq: f.seq, first: had, then: f.id });
    while (this.seen.has(this.contiguous + 1)) this.contiguous++;
    if (this.autoAck && this.contiguous > this.acked && this.ws?.isOpen) {
      this.acked = this.contiguous;
      this.ws.ack(this.stream, this.contiguous);
    }
    this.events.emit('push', f);
  }

  onClose(ws, node, info) {
    if (ws !== this.ws || this.closing) return;
    const rec = { node: node.id, code: info.code, reason: info.reason, at: Date.now(), reconnected: null };
    this.closes.push(rec);
    const next = this.reconnectTo?.(this, info);
    if (!next) return;
    this.reconnecting = (async () => {
      const deadline = Date.now() + 15000;
      for (;;) {
        const to = typeof next === 'function' ? next() : next;
        try {
          await this.connect(to, this.contiguous);
          rec.reconnected = to.id;
          return;
        } catch (err) {
          rec.lastError = err.message.slice(0, 300);
          if (Date.now() > deadline || this.closing) return;
          await sleep(200);
        }
      }
    })();
  }

  // Seqs 1..n all seen?
  hasAll(n) {
    return this.contiguous >= n;
  }

  // Waits until every seq in `seqs` (or 1..n for a number) has been seen.
  async waitSeen(seqs, timeoutMs = 10000) {
    const list = typeof seqs === 'number' ? Array.from({ length: seqs }, (_, i) => i + 1) : [...seqs];
    await until(() => list.every((s) => this.seen.has(s)), timeoutMs, () => `${this.stream} on ${this.node?.id}: seqs ${list.filter((s) => !this.seen.has(s)).slice(0, 20).join(',')} not seen (contiguous ${this.contiguous}; closes ${JSON.stringify(this.closes)})`, 50);
  }

  get isOpen() {
    return !!this.ws?.isOpen;
  }

  async close() {
    this.closing = true;
    await this.ws?.close().catch(() => this.ws?.terminate());
  }

  terminate() {
    this.closing = true;
    this.ws?.terminate();
  }
}

// What a fresh client of `token` connected to `node` is replayed of `stream` with hello
// resume {stream: 0}: the first `count` pushes of that stream (bounded by `timeoutMs`), then any
// further push within `quietMs`. It does not ack. Resolves the push frames in arrival order.
export async function replayFrom0(node, token, stream, count, { quietMs = 300, timeoutMs = 10000, registry } = {}) {
  const { ws } = await connectClient(node, token, { resume: { [stream]: 0 }, registry, timeoutMs });
  try {
    const got = await ws.pushes(stream, count, timeoutMs);
    got.push(...(await ws.quietFor((f) => f.op === 'push' && f.stream === stream, quietMs)));
    return got;
  } finally {
    ws.terminate();
  }
}

// Every entry of `stream` readable with `token` on `node` via GET /api/streams/{stream}/entries,
// oldest first: the newest page, then pages before= its lowest seq.
export async function streamEntries(node, token, stream) {
  const bySeq = new Map();
  // 503 owner_unavailable is the contract's transient answer (a node that just restarted has
  // not reached the owner over the middleman yet): retried, as a client would, for up to 15 s.
  const get = async (q) => {
    const deadline = Date.now() + 15000;
    let res;
    for (;;) {
      res = await sb.request(`${node.url}/api/streams/${encodeURIComponent(stream)}/entries?${q}`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 503 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (res.status !== 200 || !Array.isArray(res.body?.entries)) throw new Error(`GET /api/streams/${stream}/entries?${q} on ${node.id}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.body.entries;
  };
  let page = await get('limit=200');
  for (let i = 0; page.length; i++) {
    if (i > 1000) throw new Error(`${stream}: history did not end after 1000 pages`);
    for (const e of page) {
      if (bySeq.has(e.seq)) throw new Error(`${stream}: seq ${e.seq} on two pages`);
      bySeq.set(e.seq, e);
    }
    page = await get(`before=${Math.min(...page.map((e) => e.seq))}&limit=200`);
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

// Asserts that `entries` (a list of {seq, id}) are exactly seqs 1..expected.length with the ids
// of `expected` (a list of 202 bodies, any order).
export function assertSameEntries(entries, expected, what) {
  const want = [...expected].sort((a, b) => a.seq - b.seq).map((a) => [a.seq, a.id]);
  const got = entries.map((e) => [e.seq, e.id]);
  assert.deepEqual(got, want, `${what}: entries (seq, id) must be exactly the acknowledged ones`);
  assert.deepEqual(want.map(([s]) => s), Array.from({ length: want.length }, (_, i) => i + 1), `${what}: seqs 1..${want.length} without a gap`);
}

// ---------------------------------------------------------------- replication (issue 9)

// The keys [key, rangeEnd) of etcd (just `key` without rangeEnd) through its v3 JSON gateway,
// decoded: [{key, value (a string), mod_revision, version}].
async function etcdRange(etcd, key, { rangeEnd, timeoutMs = 3000 } = {}) {
  const url = typeof etcd === 'string' ? etcd : etcd.url;
  const b64 = (x) => Buffer.from(x).toString('base64');
  const res = await fetch(`${url}/v3/kv/range`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(rangeEnd === undefined ? { key: b64(key) } : { key: b64(key), range_end: b64(rangeEnd) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`etcd range ${key}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return (body.kvs ?? []).map((kv) => ({
    key: Buffer.from(kv.key, 'base64').toString('utf8'),
    value: Buffer.from(kv.value ?? '', 'base64').toString('utf8'),
    mod_revision: Number(kv.mod_revision),
    version: Number(kv.version),
  }));
}

// One key of etcd: {key, value (a string), mod_revision, version} or null when absent. `etcd`
// is the startEtcd() result or its URL.
export async function etcdGet(etcd, key, { timeoutMs = 3000 } = {}) {
  return (await etcdRange(etcd, key, { timeoutMs }))[0] ?? null;
}

// The partition record `<prefix>/parts/<p>` as etcd holds it, parsed
// ({owner, epoch, state, to, replicas: [{node, storage}]}), or null.
export async function partitionRecord(etcd, p, { prefix = '/switchboard' } = {}) {
  const kv = await etcdGet(etcd, `${prefix}/parts/${p}`);
  if (!kv) return null;
  try {
    return { ...JSON.parse(kv.value), mod_revision: kv.mod_revision };
  } catch {
    throw new Error(`${prefix}/parts/${p}: not JSON: ${kv.value.slice(0, 300)}`);
  }
}

// Every partition record under `<prefix>/parts/`, parsed, in one range read.
export async function partitionRecords(etcd, { prefix = '/switchboard', timeoutMs = 3000 } = {}) {
  const from = `${prefix}/parts/`;
  const kvs = await etcdRange(etcd, from, { rangeEnd: `${prefix}/parts0`, timeoutMs }); // '0' follows '/'
  return kvs.map((kv) => ({ partition: Number(kv.key.slice(from.length)), ...JSON.parse(kv.value) }));
}

// The stored history of `stream` as `node` serves it, oldest first: [{seq, id, data}]. Through
// GET /api/streams/{stream}/entries (streamEntries) when the node serves that route, else (404
// "no such endpoint") as a fresh client resuming from 0 is replayed it: pushes until `expect`
// distinct seqs have arrived and then nothing new for `quietMs`, or nothing new for `quietMs`
// at all, or `timeoutMs`. Redeliveries of a seq are dropped here (the first one is kept in
// `entries`, and any that differ are listed in `conflicts`). Resolves {entries, via, conflicts}.
export async function readStream(node, token, stream, { expect = 0, quietMs = 1000, timeoutMs = 20000, registry } = {}) {
  try {
    const entries = await streamEntries(node, token, stream);
    return { entries: entries.map((e) => ({ seq: e.seq, id: e.id, data: e.data })), via: 'entries', conflicts: [] };
  } catch (err) {
    if (!/entries\?limit=200 on \S+: 404 /.test(err.message) || !/no such endpoint/.test(err.message)) throw err;
  }
  const { ws } = await connectClient(node, token, { resume: { [stream]: 0 }, registry, timeoutMs: Math.min(timeoutMs, 8000) });
  try {
    const bySeq = new Map();
    const conflicts = [];
    let taken = 0;
    let lastNew = Date.now();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (; taken < ws.frames.length; taken++) {
        const f = ws.frames[taken];
        if (f.op !== 'push' || f.stream !== stream) continue;
        const had = bySeq.get(f.seq);
        if (!had) {
          bySeq.set(f.seq, { seq: f.seq, id: f.id, data: f.data });
          lastNew = Date.now();
        } else if (had.id !== f.id) conflicts.push({ seq: f.seq, first: had.id, then: f.id });
      }
      const quiet = Date.now() - lastNew >= quietMs;
      if ((bySeq.size >= expect && quiet) || Date.now() >= deadline || !ws.isOpen) break;
      await sleep(25);
    }
    return { entries: [...bySeq.values()].sort((a, b) => a.seq - b.seq), via: 'replay', conflicts, closed: ws.closeInfo };
  } finally {
    ws.terminate();
  }
}
