#!/usr/bin/env node
// Cluster benchmark (not part of CI; see bench/README.md, "Cluster"). Starts etcd and three
// switchboard nodes n1..n3 on loopback through the cluster tests' harness
// (tests/cluster/lib/cluster.mjs: startCluster → startEtcd, startNode, waitReady, waitAgreement),
// rate limits lifted, and measures:
//   1. Push latency, owner on another node vs on the same node, in the same run: LAT_K merchants
//      owned by n1 ("local") and LAT_K owned by n2 ("remote") (findMerchantOwnedBy), one dashboard
//      per merchant connected to n1 (acks every push). Orders are posted to n1 alternately for a
//      local and a remote merchant, open loop at LAT_RATE/s per class for LAT_S s after LAT_WARM_S
//      s of warm-up. Per order: POST written → 202 read, and POST written → push read.
//   2. Throughput steps: for each total rate in STEP_RATES, STEP_S s (after STEP_WARM_S s not
//      counted) of local-only, remote-only and mixed (half remote) orders, posted to n1 with the
//      same dashboards; a mode stops at its first failing rate. A step passes with push p99 ≤
//      STEP_P99_MS, every order accepted and pushed, and the rate held by this client.
//   3. Drain with DRAIN_N merchants: one order to each of m0..m<N-1> (posted round robin on
//      n1..n3, DRAIN_CONC in flight), then POST /admin/nodes/n2/drain and the time until every
//      node's GET /admin/nodes shows n2 with 0 partitions; how many partitions moved (and that
//      only n2's did); then every merchant answers a new order (fresh Idempotency-Key) with
//      seq 2, the original Idempotency-Key again with seq 1 and the same id, and DRAIN_REPLAY
//      merchants formerly on n2 replay seqs 1, 2 (with those ids) to a dashboard resuming at 0.
//
//   node bench/cluster_bench.mjs                         defaults, about 2.5 min
//   node bench/cluster_bench.mjs --lat-rate=100 STEP_RATES=500,1000   (--name=value or NAME=value)
//
// Parameters (defaults): SWITCHBOARD_BIN (build-rel/switchboard), LAT_RATE (200 per class),
// LAT_S (20), LAT_WARM_S (3), LAT_K (4 merchants per class), STEP_RATES (500,1000,2000,4000 total),
// STEP_S (5), STEP_WARM_S (1), STEP_P99_MS (50), STEP_MODES (local,remote,mixed), STEP_RETRY (1:
// a failing step is run once more before its mode stops, the machine being noisy), DRAIN_N (10000),
// DRAIN_CONC (32), DRAIN_TIMEOUT_S (90), DRAIN_REPLAY (20), VERIFY_IDEM (all: re-post every
// original; a number: that many), SETTLE_S (5: wait for the last pushes), TOTAL_TIMEOUT_S (300),
// OUT (a new /tmp/sb-cluster-bench.* dir: the nodes' and etcd's logs, result.json), SKIP
// (comma list of lat,steps,drain). Prints tables and one line `RESULT {json}`; exit 0 when no
// order of the latency phase was refused or lost, no dashboard was closed and the drain
// finished and verified (a failing throughput step is a result, not an error), 1 otherwise, 3 on TOTAL_TIMEOUT_S. Every
// process it starts is stopped by its pid (cluster.stop()); the harness SIGKILLs them if this
// process dies first.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { procCpuS } from './lib/proc.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const a of process.argv.slice(2)) {
  const m = /^(?:--([a-z0-9-]+)|([A-Z0-9_]+))=(.*)$/.exec(a);
  if (!m) {
    console.error(`cluster_bench: unknown argument ${a} (expected --name=value or NAME=value)`);
    process.exit(2);
  }
  process.env[m[1] ? m[1].toUpperCase().replaceAll('-', '_') : m[2]] = m[3];
}
// The libs read SWITCHBOARD_BIN when they are loaded: set it first, then import them.
process.env.SWITCHBOARD_BIN ??= path.join(ROOT, 'build-rel/switchboard');
const cl = await import('../tests/cluster/lib/cluster.mjs');
const { sb } = cl;

const num = (name, def) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative number`);
  return n;
};
const list = (name, def) => (process.env[name] ?? def).split(',').map((s) => s.trim()).filter(Boolean);
const P = {
  bin: cl.BIN,
  lat_rate: num('LAT_RATE', 200),
  lat_s: num('LAT_S', 20),
  lat_warm_s: num('LAT_WARM_S', 3),
  lat_k: Math.max(1, num('LAT_K', 4)),
  step_rates: list('STEP_RATES', '500,1000,2000,4000').map(Number),
  step_s: num('STEP_S', 5),
  step_warm_s: num('STEP_WARM_S', 1),
  step_p99_ms: num('STEP_P99_MS', 50),
  step_modes: list('STEP_MODES', 'local,remote,mixed'),
  step_retry: num('STEP_RETRY', 1),
  drain_n: num('DRAIN_N', 10000),
  drain_conc: Math.max(1, num('DRAIN_CONC', 32)),
  drain_timeout_s: num('DRAIN_TIMEOUT_S', 90),
  drain_replay: num('DRAIN_REPLAY', 20),
  verify_idem: process.env.VERIFY_IDEM && process.env.VERIFY_IDEM !== 'all' ? num('VERIFY_IDEM', 0) : 'all',
  settle_s: num('SETTLE_S', 5),
  total_timeout_s: num('TOTAL_TIMEOUT_S', 300),
  skip: list('SKIP', ''),
};
const OUT = process.env.OUT || mkdtempSync(path.join(os.tmpdir(), 'sb-cluster-bench.'));
const RUN = `${process.pid}-${Date.now().toString(36)}`; // makes order ids and keys unique
// One IP, one service key and a few principals carry everything: lift the per-IP and
// per-principal limits (defaults 2,000 and 200 requests/s), as bench/run.sh does.
const NODE_ARGS = [
  '--set', 'limits.principal_rate=1000000', '--set', 'limits.principal_burst=1000000',
  '--set', 'limits.ip_rate=1000000', '--set', 'limits.ip_burst=1000000',
  '--set', 'limits.max_connections_per_ip=20000',
];

// ---------------------------------------------------------------- small helpers

const now = () => performance.now();
const r2 = (x) => (x === undefined || x === null || Number.isNaN(x) ? null : Math.round(x * 100) / 100);
const fmt = (ms) => (ms === undefined || ms === null || Number.isNaN(ms) ? '-' : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
function pct(sorted, p) {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
function stats(values) {
  const s = Float64Array.from(values).sort();
  return { n: s.length, p50: r2(pct(s, 50)), p90: r2(pct(s, 90)), p99: r2(pct(s, 99)), max: r2(s[s.length - 1]) };
}
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);

const selfCpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
// CPU (% of one core) of every node, etcd and this process between start() and the call.
function cpuMeter(c) {
  const procs = [...c.nodes.map((n) => [n.id, n.pid]), ['etcd', c.etcd.pid]];
  const t0 = now();
  const c0 = procs.map(([, pid]) => procCpuS(pid));
  const s0 = selfCpuS();
  return () => {
    const wall = (now() - t0) / 1000;
    const out = {};
    procs.forEach(([id, pid], i) => (out[id] = Math.round((100 * (procCpuS(pid) - c0[i])) / wall)));
    out.client = Math.round((100 * (selfCpuS() - s0)) / wall);
    return out;
  };
}

// node:http on keep-alive connections, one agent per node (the libs' fetch costs this process
// about twice the CPU per request, and it shares the two cores with three daemons and etcd).
const agents = new Map();
function post(node, target, headers, body, timeoutMs = 15000) {
  if (!agents.has(node.url)) agents.set(node.url, new http.Agent({ keepAlive: true, maxSockets: 256 }));
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: node.host, port: node.port, path: target, method: 'POST', agent: agents.get(node.url), headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, text, body: json });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms: POST ${target} on ${node.id}`)));
    req.on('error', reject);
    req.end(body);
  });
}
const SERVICE_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${cl.DEV_SERVICE_KEY}` };
function postOrder(node, body, idempotencyKey) {
  const h = idempotencyKey ? { ...SERVICE_HEADERS, 'idempotency-key': idempotencyKey } : SERVICE_HEADERS;
  return post(node, '/api/orders', h, JSON.stringify(body));
}
// About the size of loadgen's orders (~170 bytes).
const orderBody = (merchant, orderId) => ({ merchant, order_id: orderId, total: 42.5, currency: 'CNY', items: [{ sku: 'A-17', qty: 2 }, { sku: 'B-3', qty: 1 }], table: 't12' });

// Runs fn(i) for i in [0, n) with `width` calls in flight.
async function pool(n, width, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

// Posts until a 202 with the same Idempotency-Key on every try, like the harness's
// postUntilAccepted (a 503 owner_unavailable/unavailable or 429 waits its Retry-After, at most
// 3 s; a network error 200 ms), but over postOrder's keep-alive connections (the harness's
// fetch made this process the limit at ~400 orders/s). Resolves {accepted, res, retries}.
async function postRetrying(node, body, idempotencyKey, deadlineMs = 20000) {
  const deadline = Date.now() + deadlineMs;
  const retries = [];
  for (;;) {
    let res;
    let waitMs = 200;
    try {
      res = await postOrder(node, body, idempotencyKey);
    } catch (err) {
      retries.push({ error: err.message.slice(0, 200) });
    }
    if (res) {
      if (res.status === 202) return { accepted: res.body, res, retries };
      const retryable = (res.status === 503 && ['owner_unavailable', 'unavailable'].includes(res.body?.error)) || res.status === 429;
      if (!retryable) return { accepted: undefined, res, retries };
      const ra = cl.retryAfterSeconds(res);
      waitMs = Math.min(3000, ra === undefined ? 1000 : Math.max(ra * 1000, 50));
      retries.push({ status: res.status, error: res.body?.error, waitMs });
    }
    if (Date.now() + waitMs > deadline) return { accepted: undefined, res, retries, gaveUp: true };
    await cl.sleep(waitMs);
  }
}

const countBy = (arr) => arr.reduce((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {});

// The stream key's partition as base/partition.hpp computes it: FNV-1a 64 mod 256, with the
// offset basis written there (1469598103934665603, not FNV's 14695981039346656037: stable all
// the same). Checked against the daemon's answer for every partition used.
function partitionOf(key) {
  let h = 1469598103934665603n;
  for (const b of Buffer.from(key, 'utf8')) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h % 256n);
}

function printTable(head, rows) {
  const all = [head, ...rows].map((r) => r.map((x) => String(x ?? '-')));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const [j, r] of all.entries()) {
    console.log(r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  '));
    if (j === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '));
  }
}

// ---------------------------------------------------------------- paced orders with dashboards

// Every order posted by a paced run, by order_id: {cls, m, sched, t0, t202, status, tp, pushes}.
const orders = new Map();
const unknownPushes = { n: 0 };

function onPush(f) {
  const rec = orders.get(f.data?.order_id);
  if (!rec) return void unknownPushes.n++;
  rec.pushes++;
  if (rec.tp === undefined) rec.tp = now();
}

// Posts `total` orders to `node` open loop at `rate`/s (each at its scheduled time, whatever
// is still outstanding); pick(i) → {cls, m}. Resolves the records once every answer is in and
// every accepted order was pushed, or SETTLE_S after the last answer.
async function paced(node, { tag, rate, seconds, warmS, pick }) {
  const total = Math.round(rate * (seconds + warmS));
  const warmN = Math.round(rate * warmS);
  const recs = [];
  const answers = [];
  const t0 = now();
  let sent = 0;
  let maxLag = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((now() - t0) * rate) / 1000) + 1);
      while (sent < due) {
        const i = sent++;
        const { cls, m } = pick(i);
        const id = `${tag}-${RUN}-${i}`;
        const sched = t0 + (i * 1000) / rate;
        const rec = { cls, m, sched, t0: now(), t202: undefined, status: undefined, tp: undefined, pushes: 0, warm: i < warmN };
        maxLag = Math.max(maxLag, rec.t0 - sched);
        orders.set(id, rec);
        recs.push(rec);
        answers.push(
          postOrder(node, orderBody(m, id)).then(
            (res) => {
              rec.t202 = now();
              rec.status = res.status;
              if (res.status !== 202) rec.error = res.text.slice(0, 200);
            },
            (err) => {
              rec.t202 = now();
              rec.status = 'network';
              rec.error = err.message.slice(0, 200);
            },
          ),
        );
      }
      if (sent >= total) return resolve();
      setTimeout(tick, Math.max(0, t0 + (sent * 1000) / rate - now()));
    };
    tick();
  });
  const sendS = (now() - t0) / 1000;
  await Promise.all(answers);
  await cl.until(() => recs.every((r) => r.status !== 202 || r.tp !== undefined), P.settle_s * 1000, 'pushes', 20).catch(() => {});
  return { recs, sendS, maxLagMs: maxLag, offered: total / sendS };
}

// Per class: 202 and push latency of the measured (not warm-up) orders, refusals, losses, dups.
function summarize(recs, cls) {
  const mine = recs.filter((r) => !r.warm && (!cls || r.cls === cls));
  const ok = mine.filter((r) => r.status === 202);
  return {
    orders: mine.length,
    accepted: ok.length,
    refused: countBy(mine.filter((r) => r.status !== 202).map((r) => String(r.status))),
    first_errors: mine.filter((r) => r.status !== 202).slice(0, 3).map((r) => `${r.status} ${r.error}`),
    lost: ok.filter((r) => r.tp === undefined).length,
    redelivered: ok.filter((r) => r.pushes > 1).length,
    ack_ms: stats(ok.map((r) => r.t202 - r.t0)),
    push_ms: stats(ok.filter((r) => r.tp !== undefined).map((r) => r.tp - r.t0)),
  };
}

// ---------------------------------------------------------------- phases

const diff = (a, b) => (a == null || b == null ? null : r2(a - b));
const complete = (s) => s.orders > 0 && s.accepted === s.orders && s.lost === 0;

async function latencyPhase(c, merchants) {
  const [n1] = c.nodes;
  const { local, remote } = merchants;
  log(`latency: ${P.lat_rate}/s per class for ${P.lat_s} s after ${P.lat_warm_s} s warm-up, posted to n1, alternately local/remote`);
  const cpu = cpuMeter(c);
  const run = await paced(n1, {
    tag: 'lat',
    rate: 2 * P.lat_rate,
    seconds: P.lat_s,
    warmS: P.lat_warm_s,
    pick: (i) => (i % 2 === 0 ? { cls: 'local', m: local[(i >> 1) % local.length] } : { cls: 'remote', m: remote[(i >> 1) % remote.length] }),
  });
  const cpuPct = cpu();
  const L = summarize(run.recs, 'local');
  const R = summarize(run.recs, 'remote');
  const res = {
    rate_per_class: P.lat_rate,
    seconds: P.lat_s,
    warmup_s: P.lat_warm_s,
    offered_total_per_s: Math.round(run.offered),
    client_max_lag_ms: r2(run.maxLagMs),
    local: L,
    remote: R,
    push_p99_diff_ms: diff(R.push_ms.p99, L.push_ms.p99),
    push_p50_diff_ms: diff(R.push_ms.p50, L.push_ms.p50),
    ack_p99_diff_ms: diff(R.ack_ms.p99, L.ack_ms.p99),
    // Only meaningful when both classes had every order accepted and pushed.
    goal_remote_p99_le_local_plus_1ms: complete(L) && complete(R) ? R.push_ms.p99 <= L.push_ms.p99 + 1 : null,
    cpu_pct: cpuPct,
  };
  console.log(`\n== 1. push latency: ${P.lat_k} merchants owned by n1 (local) vs ${P.lat_k} owned by n2 (remote), dashboards and POSTs on n1, ${P.lat_rate}/s each, ${P.lat_s} s ==`);
  const row = (what, key, k) => [what, fmt(L[key][k]), fmt(R[key][k]), fmt(diff(R[key][k], L[key][k])), L[key][k] && R[key][k] != null ? (R[key][k] / L[key][k]).toFixed(2) : '-'];
  printTable(['ms', 'local', 'remote', 'remote-local', 'ratio'], [
    ...['p50', 'p90', 'p99', 'max'].map((k) => row(`POST→202 ${k}`, 'ack_ms', k)),
    ...['p50', 'p90', 'p99', 'max'].map((k) => row(`POST→push ${k}`, 'push_ms', k)),
  ]);
  console.log(`orders measured local/remote: ${L.orders}/${R.orders}; refused ${JSON.stringify(L.refused)}/${JSON.stringify(R.refused)}; lost ${L.lost}/${R.lost}; redelivered ${L.redelivered}/${R.redelivered}; client max lag ${fmt(run.maxLagMs)} ms; CPU % ${JSON.stringify(cpuPct)}`);
  const goal = res.goal_remote_p99_le_local_plus_1ms;
  console.log(`goal remote p99 ≤ local p99 + 1 ms: ${goal === null ? 'not measurable (orders refused or lost)' : goal ? 'met' : 'NOT met'} (difference ${fmt(res.push_p99_diff_ms)} ms)`);
  return res;
}

// One throughput step: `rate` orders/s to n1 for STEP_S s after STEP_WARM_S s; passes with push
// p99 ≤ STEP_P99_MS per class, nothing refused or lost, and the rate held by this client.
async function runStep(c, n1, mode, rate, attempt, pick) {
  const cpu = cpuMeter(c);
  const run = await paced(n1, { tag: `st-${mode}-${rate}-${attempt}`, rate, seconds: P.step_s, warmS: P.step_warm_s, pick });
  const cpuPct = cpu();
  const classes = mode === 'mixed' ? ['local', 'remote'] : [mode];
  const per = Object.fromEntries(classes.map((k) => [k, summarize(run.recs, k)]));
  const all = summarize(run.recs);
  const held = run.offered >= 0.95 * rate && run.maxLagMs < 100;
  const why = [];
  if (!held) why.push(`client did not hold the rate (${Math.round(run.offered)}/s, lag ${Math.round(run.maxLagMs)} ms)`);
  for (const [k, s] of Object.entries(per)) {
    if (s.accepted !== s.orders) why.push(`${k}: ${s.orders - s.accepted} refused ${JSON.stringify(s.refused)}`);
    if (s.lost) why.push(`${k}: ${s.lost} lost`);
    if (!(s.push_ms.p99 <= P.step_p99_ms)) why.push(`${k}: push p99 ${fmt(s.push_ms.p99)} ms`);
  }
  const pass = why.length === 0;
  log(`step ${mode} ${rate}/s${attempt > 1 ? ` (try ${attempt})` : ''}: ${pass ? 'pass' : 'FAIL'} push p50/p99 ${fmt(all.push_ms.p50)}/${fmt(all.push_ms.p99)} ms${why.length ? ' — ' + why.join('; ') : ''}; CPU % ${JSON.stringify(cpuPct)}`);
  return { mode, rate, attempt, pass, why, offered_per_s: Math.round(run.offered), client_max_lag_ms: r2(run.maxLagMs), per_class: per, all_push_ms: all.push_ms, all_ack_ms: all.ack_ms, cpu_pct: cpuPct };
}

async function stepPhase(c, merchants) {
  const [n1] = c.nodes;
  const { local, remote } = merchants;
  const steps = [];
  const failed = new Set();
  const best = {};
  for (const rate of P.step_rates) {
    for (const mode of P.step_modes) {
      if (failed.has(mode)) continue;
      const pick =
        mode === 'local'
          ? (i) => ({ cls: 'local', m: local[i % local.length] })
          : mode === 'remote'
            ? (i) => ({ cls: 'remote', m: remote[i % remote.length] })
            : (i) => (i % 2 === 0 ? { cls: 'local', m: local[(i >> 1) % local.length] } : { cls: 'remote', m: remote[(i >> 1) % remote.length] });
      for (let attempt = 1; attempt <= 1 + P.step_retry; attempt++) {
        const step = await runStep(c, n1, mode, rate, attempt, pick);
        steps.push(step);
        const last = step.pass || attempt > P.step_retry;
        if (step.pass) best[mode] = rate;
        else if (last) failed.add(mode);
        await cl.sleep(500);
        if (last) break;
      }
    }
  }
  console.log(`\n== 2. throughput steps (orders/s posted to n1, ${P.step_s} s each after ${P.step_warm_s} s; pass: push p99 ≤ ${P.step_p99_ms} ms, nothing refused or lost, rate held; a failed step is tried ${P.step_retry} more time(s)) ==`);
  const rows = [];
  for (const s of steps)
    for (const [k, x] of Object.entries(s.per_class))
      rows.push([`${s.mode} ${s.rate}/s${s.attempt > 1 ? ` (try ${s.attempt})` : ''}`, k, s.offered_per_s, x.accepted, x.lost, fmt(x.ack_ms.p50), fmt(x.ack_ms.p99), fmt(x.push_ms.p50), fmt(x.push_ms.p99), fmt(x.push_ms.max), s.pass ? 'pass' : 'FAIL', `n1 ${s.cpu_pct.n1} n2 ${s.cpu_pct.n2} n3 ${s.cpu_pct.n3} etcd ${s.cpu_pct.etcd} client ${s.cpu_pct.client}`]);
  printTable(['step', 'class', 'offered/s', 'accepted', 'lost', '202 p50', '202 p99', 'push p50', 'push p99', 'push max', '', 'CPU % of a core'], rows);
  console.log(`highest passing total rate: ${P.step_modes.map((m) => `${m} ${best[m] ?? 'none'}`).join(', ')}`);
  return { steps, best };
}

async function drainPhase(c) {
  const [n1, n2] = c.nodes;
  const N = P.drain_n;
  const res = { merchants: N, concurrency: P.drain_conc };
  const ms = Array.from({ length: N }, (_, i) => `m${i}`);
  const key1 = (i) => `cb-${RUN}-m${i}-1`;

  // One order per merchant, round robin over the nodes.
  log(`drain: one order to each of ${N} merchants, ${P.drain_conc} in flight`);
  const first = new Array(N);
  const bad = [];
  let t = now();
  await pool(N, P.drain_conc, async (i) => {
    const node = c.nodes[i % c.nodes.length];
    const r = await postRetrying(node, orderBody(ms[i], `d1-${i}`), key1(i)).catch((err) => ({ error: err.message }));
    if (r.accepted?.seq === 1) first[i] = r.accepted;
    else bad.push({ m: ms[i], status: r.res?.status, text: r.res?.text?.slice(0, 200) ?? r.error, seq: r.accepted?.seq });
  });
  res.load = { seconds: r2((now() - t) / 1000), per_s: Math.round((N * 1000) / (now() - t)), not_seq1: bad.length, first_bad: bad.slice(0, 5) };
  log(`  ${N} orders in ${res.load.seconds} s (${res.load.per_s}/s); not accepted as seq 1: ${bad.length}`);

  // Partition → owner, through one merchant of each partition (the daemon's partition checked).
  const rep = new Map();
  ms.forEach((m) => {
    const p = partitionOf(`orders:${m}`);
    if (!rep.has(p)) rep.set(p, m);
  });
  const owners = async () => {
    const out = new Map();
    const entries = [...rep];
    await pool(entries.length, 16, async (k) => {
      const [p, m] = entries[k];
      const body = await cl.inspect(n1, 'merchant', m);
      if (body.partition !== p) throw new Error(`partition of orders:${m}: daemon says ${body.partition}, local FNV-1a says ${p}`);
      out.set(p, body.owner);
    });
    return out;
  };
  const before = await owners();
  const nodesBefore = (await cl.adminGet(n1, '/admin/nodes')).body;
  const parts = Object.fromEntries(nodesBefore.nodes.map((x) => [x.id, x.partitions]));
  const merchantsOn = (own, id) => ms.filter((m) => own.get(partitionOf(`orders:${m}`)) === id).length;
  res.before = { partitions: parts, partition_count: nodesBefore.partition_count, partitions_seen: before.size, merchants_on_n2: merchantsOn(before, 'n2') };
  log(`  before: partitions ${JSON.stringify(parts)}; ${res.before.merchants_on_n2} of the ${N} merchants on n2`);

  // Drain n2 and poll every node until each shows n2 with 0 partitions.
  const doneAt = {};
  const timeline = [];
  let lastN2 = parts.n2;
  const t0 = now();
  const logFrom = n2.log().length;
  const answer = await cl.adminPost(n1, '/admin/nodes/n2/drain');
  res.drain_post = { status: answer.status, body: answer.body ?? answer.text.slice(0, 200), ms: r2(now() - t0) };
  if (answer.status !== 202) log(`  POST /admin/nodes/n2/drain: ${answer.status} ${answer.text}`);
  const deadline = t0 + P.drain_timeout_s * 1000;
  const lastViews = {};
  while (Object.keys(doneAt).length < c.nodes.length && now() < deadline) {
    await Promise.all(
      c.nodes.map(async (n) => {
        if (doneAt[n.id] !== undefined) return;
        try {
          const v = await cl.adminGet(n, '/admin/nodes', { timeoutMs: 3000 });
          lastViews[n.id] = v.body ?? v.text;
          const x = v.body?.nodes?.find((y) => y.id === 'n2');
          if (n.id === 'n1' && x && x.partitions !== lastN2) timeline.push([Math.round(now() - t0), (lastN2 = x.partitions)]);
          if (x && x.partitions === 0) doneAt[n.id] = now() - t0;
        } catch (err) {
          lastViews[n.id] = err.message;
        }
      }),
    );
    await cl.sleep(25);
  }
  const finished = Object.keys(doneAt).length === c.nodes.length;
  res.drain = {
    finished,
    ms_until_every_node_shows_0: finished ? r2(Math.max(...Object.values(doneAt))) : null,
    per_node_ms: Object.fromEntries(Object.entries(doneAt).map(([k, v]) => [k, r2(v)])),
    n2_partitions_on_n1_timeline_ms: timeline,
  };
  if (!finished) {
    res.drain.last_views = lastViews;
    log(`  DRAIN DID NOT FINISH within ${P.drain_timeout_s} s: ${JSON.stringify(lastViews).slice(0, 1500)}`);
  }
  // n2 logs each handoff it made: "handoff: partition P moved to X at epoch E in N ms".
  const handoffs = [...n2.log().slice(logFrom).matchAll(/handoff: partition (\d+) moved to (\S+) at epoch (\d+) in (\d+) ms/g)].map((m) => Number(m[4]));
  res.drain.handoffs_logged_by_n2 = { n: handoffs.length, ms: stats(handoffs), sum_ms: handoffs.reduce((a, b) => a + b, 0) };
  const table = await cl.waitAgreement(c.nodes, { states: { n2: 'draining' }, timeoutMs: 20000, check: (tb) => tb.nodes.n2.partitions === 0 }).catch((err) => ({ error: err.message }));
  res.after_nodes = table.error ? table : Object.fromEntries(Object.entries(table.nodes).map(([k, x]) => [k, `${x.state}/${x.partitions}`]));
  const after = await owners();
  const moved = [...before].filter(([p, o]) => after.get(p) !== o);
  res.moved = {
    partitions: moved.length,
    from: countBy(moved.map(([, o]) => o)),
    to: countBy(moved.map(([p]) => after.get(p))),
    still_on_n2: [...after].filter(([, o]) => o === 'n2').length,
    merchants_moved: ms.filter((m) => moved.some(([p]) => p === partitionOf(`orders:${m}`))).length,
  };
  log(`  drain: ${finished ? `${res.drain.ms_until_every_node_shows_0} ms until every node shows n2 with 0 partitions` : 'NOT finished'}; moved ${moved.length} partitions ${JSON.stringify(res.moved.from)} → ${JSON.stringify(res.moved.to)}`);

  // Every merchant: a new order (fresh key) gets seq 2; the first one's key again answers seq 1
  // with the same id.
  t = now();
  const second = new Array(N);
  const wrong2 = [];
  let retried2 = 0;
  await pool(N, P.drain_conc, async (i) => {
    if (!first[i]) return;
    const node = c.nodes[i % c.nodes.length];
    const r = await postRetrying(node, orderBody(ms[i], `d2-${i}`), `cb-${RUN}-m${i}-2`).catch((err) => ({ error: err.message }));
    if (r.retries?.length) retried2++;
    if (r.accepted?.seq === 2) second[i] = r.accepted;
    else wrong2.push({ m: ms[i], status: r.res?.status, seq: r.accepted?.seq, text: r.res?.text?.slice(0, 200) ?? r.error, retries: r.retries?.slice(-2) });
  });
  const nIdem = P.verify_idem === 'all' ? N : Math.min(N, P.verify_idem);
  const wrongIdem = [];
  await pool(nIdem, P.drain_conc, async (k) => {
    const i = nIdem === N ? k : Math.floor((k * N) / nIdem);
    if (!first[i]) return;
    const node = c.nodes[(i + 1) % c.nodes.length];
    const r = await postRetrying(node, orderBody(ms[i], `d1-${i}`), key1(i)).catch((err) => ({ error: err.message }));
    if (r.accepted?.seq !== 1 || r.accepted?.id !== first[i].id) wrongIdem.push({ m: ms[i], status: r.res?.status, got: r.accepted, want: first[i], text: r.res?.text?.slice(0, 200) ?? r.error });
  });
  res.verify = {
    seconds: r2((now() - t) / 1000),
    new_order_not_seq2: wrong2.length,
    new_order_retried: retried2,
    first_not_seq2: wrong2.slice(0, 5),
    idempotent_reposts: nIdem,
    idempotent_wrong: wrongIdem.length,
    first_idempotent_wrong: wrongIdem.slice(0, 5),
  };

  // A sample of merchants formerly on n2: a dashboard on n1 resuming at 0 gets seqs 1, 2 with
  // the ids of their 202s.
  const formerly = ms.filter((m, i) => before.get(partitionOf(`orders:${m}`)) === 'n2' && first[i] && second[i]);
  const sample = formerly.filter((_, k) => k % Math.max(1, Math.floor(formerly.length / Math.max(1, P.drain_replay))) === 0).slice(0, P.drain_replay);
  const wrongReplay = [];
  for (const m of sample) {
    const i = Number(m.slice(1));
    try {
      const token = await sb.devToken(n1.url, `audit-${m}`, 'merchant', m);
      const got = await cl.replayFrom0(n1, token, `orders:${m}`, 2, { quietMs: 100, timeoutMs: 5000 });
      const want = [first[i], second[i]].map((a) => [a.seq, a.id]);
      if (JSON.stringify(got.map((f) => [f.seq, f.id])) !== JSON.stringify(want)) wrongReplay.push({ m, got: got.map((f) => [f.seq, f.id]), want });
    } catch (err) {
      wrongReplay.push({ m, error: err.message.slice(0, 300) });
    }
  }
  res.verify.replayed_from_0 = sample.length;
  res.verify.replay_wrong = wrongReplay.length;
  res.verify.first_replay_wrong = wrongReplay.slice(0, 5);
  log(`  after the drain: new order → seq 2 for ${N - wrong2.length - bad.length}/${N - bad.length}; original key → seq 1 and same id: ${nIdem - wrongIdem.length}/${nIdem}; replay from 0 on n1 of ${sample.length} merchants formerly on n2: ${sample.length - wrongReplay.length} right`);

  console.log(`\n== 3. drain of n2 with ${N} merchants (one order each) ==`);
  printTable(['what', 'value'], [
    ['orders posted (round robin on n1..n3, ' + P.drain_conc + ' in flight)', `${N - bad.length}/${N} seq 1 in ${res.load.seconds} s (${res.load.per_s}/s)`],
    ['partitions before (n1/n2/n3)', `${parts.n1}/${parts.n2}/${parts.n3} of ${nodesBefore.partition_count}`],
    ['merchants on n2 before', res.before.merchants_on_n2],
    ['POST /admin/nodes/n2/drain', `${answer.status} in ${fmt(res.drain_post.ms)} ms`],
    ['until every node shows n2 with 0 partitions', finished ? `${fmt(res.drain.ms_until_every_node_shows_0)} ms (${Object.entries(res.drain.per_node_ms).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')})` : 'NOT finished'],
    ['handoffs logged by n2: count, p50 / p99 / max, sum (ms)', `${handoffs.length}, ${fmt(res.drain.handoffs_logged_by_n2.ms.p50)} / ${fmt(res.drain.handoffs_logged_by_n2.ms.p99)} / ${fmt(res.drain.handoffs_logged_by_n2.ms.max)}, ${res.drain.handoffs_logged_by_n2.sum_ms}`],
    ['partitions moved (from → to)', `${moved.length}: ${JSON.stringify(res.moved.from)} → ${JSON.stringify(res.moved.to)}`],
    ['merchants whose partition moved', res.moved.merchants_moved],
    ['after (state/partitions)', JSON.stringify(res.after_nodes)],
    ['new order (fresh key) answered seq 2', `${N - bad.length - wrong2.length}/${N - bad.length}`],
    ['original key again: seq 1, same id', `${nIdem - wrongIdem.length}/${nIdem}`],
    ['replay from 0 (n1) of merchants formerly on n2', `${sample.length - wrongReplay.length}/${sample.length}`],
  ]);
  res.ok = finished && !bad.length && !wrong2.length && !wrongIdem.length && !wrongReplay.length && res.moved.still_on_n2 === 0;
  return res;
}

// ---------------------------------------------------------------- main

let cluster;
const dashboards = [];
const clients = [];
const result = { params: P, out: OUT, started: new Date().toISOString(), loadavg_start: os.loadavg().map((x) => r2(x)) };
let exitCode = 0;

const killer = setTimeout(async () => {
  console.error(`cluster_bench: TOTAL_TIMEOUT_S=${P.total_timeout_s} reached; stopping everything`);
  result.timed_out = true;
  await finish(3);
}, P.total_timeout_s * 1000);

let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  clearTimeout(killer);
  for (const d of dashboards) d.terminate();
  for (const w of clients) w.terminate();
  for (const a of agents.values()) a.destroy();
  if (cluster) {
    try {
      for (const n of cluster.nodes) writeFileSync(path.join(OUT, `${n.id}.log`), n.log());
      writeFileSync(path.join(OUT, 'etcd.log'), cluster.etcd.log());
      result.crashes = cluster.nodes.filter((n) => n.crashes.length).map((n) => ({ node: n.id, crashes: n.crashes.map((x) => ({ code: x.code, signal: x.signal })) }));
    } catch (err) {
      console.error(`cluster_bench: saving logs: ${err.message}`);
    }
    try {
      await cluster.stop();
    } catch (err) {
      console.error(`cluster_bench: ${err.message.slice(0, 3000)}`);
      code = code || 1;
    }
  }
  result.finished = new Date().toISOString();
  result.loadavg_end = os.loadavg().map((x) => r2(x));
  writeFileSync(path.join(OUT, 'result.json'), JSON.stringify(result, null, 2));
  console.log(`\nlogs and result.json in ${OUT}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(code);
}

try {
  log(`binary ${P.bin}; out ${OUT}; load average ${result.loadavg_start.join(' ')}`);
  let t = now();
  cluster = await cl.startCluster(3, { extraArgs: NODE_ARGS });
  const [n1] = cluster.nodes;
  result.pids = Object.fromEntries([...cluster.nodes.map((n) => [n.id, n.pid]), ['etcd', cluster.etcd.pid]]);
  result.startup_s = r2((now() - t) / 1000);
  log(`cluster up in ${result.startup_s} s: ${cluster.nodes.map((n) => `${n.id} ${n.url} pid ${n.pid}`).join(', ')}`);

  // LAT_K merchants per class; a dashboard for each on n1 that acks every push.
  const merchants = { local: [], remote: [] };
  for (const [cls, owner] of [['local', 'n1'], ['remote', 'n2']]) {
    let start = 0;
    for (let k = 0; k < P.lat_k; k++) {
      const m = await cl.findMerchantOwnedBy(cluster.nodes, owner, { prefix: 'lat-', start });
      merchants[cls].push(m);
      start = Number(m.slice(4)) + 1;
    }
  }
  result.merchants = merchants;
  for (const m of [...merchants.local, ...merchants.remote]) {
    const token = await sb.devToken(n1.url, `bench-${m}`, 'merchant', m);
    const d = await cl.Dashboard.open(n1, m, token, { registry: clients });
    d.events.on('push', onPush);
    dashboards.push(d);
  }
  log(`local (n1) ${merchants.local.join(' ')}; remote (n2) ${merchants.remote.join(' ')}; ${dashboards.length} dashboards on n1`);

  if (!P.skip.includes('lat')) result.latency = await latencyPhase(cluster, merchants);
  if (!P.skip.includes('steps')) result.steps = await stepPhase(cluster, merchants);
  result.dashboards = {
    closes: dashboards.flatMap((d) => d.closes.map((x) => ({ m: d.merchant, ...x }))),
    error_frames: dashboards.flatMap((d) => d.errors.map((x) => ({ m: d.merchant, ...x }))).slice(0, 10),
    conflicts: dashboards.reduce((a, d) => a + d.conflicts.length, 0),
    unknown_pushes: unknownPushes.n,
  };
  for (const d of dashboards) d.terminate();
  if (!P.skip.includes('drain')) result.drain = await drainPhase(cluster);

  const lossy = [result.latency?.local, result.latency?.remote].some((s) => s && (s.lost || s.accepted !== s.orders));
  if (lossy || (result.drain && !result.drain.ok) || result.dashboards.closes.length || result.dashboards.conflicts) exitCode = 1;
} catch (err) {
  console.error(`cluster_bench: ${err.stack ?? err}`);
  result.error = String(err.message ?? err).slice(0, 4000);
  exitCode = 1;
}
await finish(exitCode);
