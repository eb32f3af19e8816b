#!/usr/bin/env node
// Failover benchmark (not part of CI; see bench/README.md, "Failover"). Starts etcd and three
// switchboard nodes on loopback through the cluster tests' harness (tests/cluster/lib/cluster.mjs),
// rate limits lifted, and measures:
//   1. Replication cost: sustained durable orders/s with THR_CONC posters in flight (closed
//      loop, each POST to n1, n2, n3 in turn, merchants tp-0..tp-<THR_MERCHANTS-1> at random),
//      THR_S s after THR_WARM_S s not counted, on a cluster with --replication-factor 1 and on
//      one with --replication-factor R (3), started one after the other in this run; the ratio
//      R/1 of accepted orders/s, the POST→202 latency and the CPU per order of each.
//   2. Failover, ROUNDS times on the R cluster (one cluster for every round): a victim that is
//      not the controller (the non-controllers in turn), MERCHANTS merchants it owns (fresh ones
//      each round), a dashboard of each on the controller node, one poster per merchant (an
//      order every PACE_MS, posted on the two other nodes in turn, its own Idempotency-Key
//      reused on retries every RETRY_MS while refused or unanswered after REQ_TIMEOUT_MS). After WARM_ORDERS 202s per merchant, the
//      victim is killed with SIGKILL; the figure is the time from the kill to the first 202 of
//      a POST sent after the victim exited, per merchant, and per round the slowest merchant
//      (when all the victim's streams are served again). Then MORE_ORDERS more per merchant, a
//      check (the 202 seqs are 1..n with distinct ids, the dashboards were pushed exactly those
//      and kept their sockets), and the victim is restarted on its data dir: the time until it
//      is ready and until the cluster's table agrees and holds still (ownership moved back).
//
//   node bench/failover_bench.mjs                        defaults: 5 rounds, about 3 minutes
//   node bench/failover_bench.mjs --rounds 3             (--name value, --name=value or NAME=value)
//
// Parameters (defaults): SWITCHBOARD_BIN (build-rel/switchboard), ROUNDS (5), R (3), MERCHANTS
// (4), PACE_MS (20), RETRY_MS (25), REQ_TIMEOUT_MS (1000), WARM_ORDERS (10), MORE_ORDERS (10), ROUND_TIMEOUT_S (30),
// THR_CONC (32), THR_S (10), THR_WARM_S (2), THR_MERCHANTS (64), SKIP (comma list of
// throughput,failover), TOTAL_TIMEOUT_S (900), OUT (a new /tmp/sb-failover-bench.* dir: every
// node's and etcd's log, result.json). Prints tables and one line `RESULT {json}`; exit 0 when
// every round's streams were served again, nothing acknowledged was lost and no dashboard was
// closed, 1 otherwise, 3 on TOTAL_TIMEOUT_S. Every process it starts is stopped by its pid
// (cluster.stop()); the harness SIGKILLs them if this process dies first.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { procCpuS } from './lib/proc.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const m = /^(?:--([a-z0-9-]+)(?:=(.*))?|([A-Z0-9_]+)=(.*))$/s.exec(a);
  let name;
  let value;
  if (m?.[1] !== undefined) {
    name = m[1].toUpperCase().replaceAll('-', '_');
    value = m[2];
    if (value === undefined) {
      if (i + 1 >= argv.length) {
        console.error(`failover_bench: ${a} needs a value`);
        process.exit(2);
      }
      value = argv[++i];
    }
  } else if (m?.[3] !== undefined) {
    name = m[3];
    value = m[4];
  } else {
    console.error(`failover_bench: unknown argument ${a} (expected --name value, --name=value or NAME=value)`);
    process.exit(2);
  }
  process.env[name] = value;
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
  rounds: num('ROUNDS', 5),
  r: Math.max(2, num('R', 3)),
  merchants: Math.max(1, num('MERCHANTS', 4)),
  pace_ms: num('PACE_MS', 20),
  retry_ms: Math.max(1, num('RETRY_MS', 25)),
  warm_orders: Math.max(1, num('WARM_ORDERS', 10)),
  more_orders: num('MORE_ORDERS', 10),
  round_timeout_s: num('ROUND_TIMEOUT_S', 30),
  req_timeout_ms: Math.max(1, num('REQ_TIMEOUT_MS', 1000)),
  thr_conc: Math.max(1, num('THR_CONC', 32)),
  thr_s: num('THR_S', 10),
  thr_warm_s: num('THR_WARM_S', 2),
  thr_merchants: Math.max(1, num('THR_MERCHANTS', 64)),
  skip: list('SKIP', ''),
  total_timeout_s: num('TOTAL_TIMEOUT_S', 900),
};
const OUT = process.env.OUT || mkdtempSync(path.join(os.tmpdir(), 'sb-failover-bench.'));
const RUN = `${process.pid}-${Date.now().toString(36)}`; // makes order ids and keys unique
// One IP, one service key: lift the per-IP and per-principal limits, as cluster_bench.mjs does.
const LIMITS = [
  '--set', 'limits.principal_rate=1000000', '--set', 'limits.principal_burst=1000000',
  '--set', 'limits.ip_rate=1000000', '--set', 'limits.ip_burst=1000000',
  '--set', 'limits.max_connections_per_ip=20000',
];
const nodeArgs = (r) => ['--replication-factor', String(r), ...LIMITS];

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
const countBy = (arr) => arr.reduce((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {});

const selfCpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
// CPU seconds of every node, etcd and this process between start() and the call.
function cpuMeter(c) {
  const procs = [...c.nodes.map((n) => [n.id, n.pid]), ['etcd', c.etcd.pid]];
  const c0 = procs.map(([, pid]) => procCpuS(pid));
  const s0 = selfCpuS();
  return () => {
    const out = {};
    procs.forEach(([id, pid], i) => (out[id] = r2(procCpuS(pid) - c0[i])));
    out.client = r2(selfCpuS() - s0);
    return out;
  };
}

function printTable(head, rows) {
  const all = [head, ...rows].map((r) => r.map((x) => String(x ?? '-')));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  for (const [j, r] of all.entries()) {
    console.log(r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  '));
    if (j === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '));
  }
}

// node:http on keep-alive connections, one agent per node URL (cheaper for this process than
// fetch, which shares the two cores with three daemons and etcd).
const agents = new Map();
function post(node, target, headers, body, timeoutMs = 10000) {
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
          resolve({ status: res.statusCode, text, body: json, retryAfter: res.headers['retry-after'] });
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
function postOrder(node, body, idempotencyKey, timeoutMs) {
  const h = idempotencyKey ? { ...SERVICE_HEADERS, 'idempotency-key': idempotencyKey } : SERVICE_HEADERS;
  return post(node, '/api/orders', h, JSON.stringify(body), timeoutMs);
}
// About the size of loadgen's orders (~170 bytes).
const orderBody = (merchant, orderId) => ({ merchant, order_id: orderId, total: 42.5, currency: 'CNY', items: [{ sku: 'A-17', qty: 2 }, { sku: 'B-3', qty: 1 }], table: 't12' });
// A node's connections to the others are dropped when it is killed; so are ours to it.
function dropAgent(node) {
  agents.get(node.url)?.destroy();
  agents.delete(node.url);
}

// ---------------------------------------------------------------- 1. replication cost

// THR_CONC closed-loop posters for THR_WARM_S + THR_S s; counts the 202s answered in the last
// THR_S s.
async function throughput(c, r) {
  const ms = Array.from({ length: P.thr_merchants }, (_, i) => `tp-${i}`);
  let stop = false;
  let measuring = false;
  let seq = 0;
  const lat = [];
  let accepted = 0;
  const refused = [];
  const worker = async (k) => {
    for (let j = 0; !stop; j++) {
      const node = c.nodes[(k + j) % c.nodes.length];
      const i = seq++;
      const t0 = now();
      let status;
      try {
        const res = await postOrder(node, orderBody(ms[Math.floor(Math.random() * ms.length)], `tp${r}-${RUN}-${i}`));
        status = res.status;
        if (status !== 202 && refused.length < 1000) refused.push(`${res.status} ${res.body?.error ?? res.text.slice(0, 60)}`);
      } catch (err) {
        status = 'network';
        if (refused.length < 1000) refused.push(`network ${err.message.slice(0, 60)}`);
      }
      if (measuring && status === 202) {
        accepted++;
        lat.push(now() - t0);
      }
    }
  };
  const workers = Promise.all(Array.from({ length: P.thr_conc }, (_, k) => worker(k)));
  await cl.sleep(P.thr_warm_s * 1000);
  measuring = true;
  const cpu = cpuMeter(c);
  const t0 = now();
  const load0 = os.loadavg()[0];
  await cl.sleep(P.thr_s * 1000);
  measuring = false;
  const seconds = (now() - t0) / 1000;
  const cpuS = cpu();
  stop = true;
  await workers;
  const daemonCpuS = c.nodes.reduce((a, n) => a + (cpuS[n.id] || 0), 0);
  const res = {
    r,
    concurrency: P.thr_conc,
    seconds: r2(seconds),
    accepted,
    per_s: Math.round(accepted / seconds),
    refused: countBy(refused),
    ack_ms: stats(lat),
    cpu_s: cpuS,
    daemon_cpu_ms_per_order: accepted ? r2((1000 * daemonCpuS) / accepted) : null,
    loadavg_1m_at_start: r2(load0),
  };
  log(`throughput R=${r}: ${res.per_s} orders/s (${accepted} in ${fmt(seconds)} s, ${P.thr_conc} in flight), POST→202 p50/p99 ${fmt(res.ack_ms.p50)}/${fmt(res.ack_ms.p99)} ms, refused ${JSON.stringify(res.refused)}, daemons ${fmt(res.daemon_cpu_ms_per_order)} CPU ms/order`);
  return res;
}

// ---------------------------------------------------------------- 2. failover rounds

// One poster per merchant: an order every PACE_MS on `targets()` in turn; a refused order is
// retried with the same Idempotency-Key every RETRY_MS until a 202; a POST unanswered after
// REQ_TIMEOUT_MS is abandoned and retried the same way.
class Poster {
  constructor(tag, m, targets) {
    this.tag = tag;
    this.m = m;
    this.targets = targets;
    this.acked = []; // {seq, id, order_id, invokedAt, at, node}
    this.refusals = [];
    this.unexpected = [];
    this.gaveUp = [];
    this.stopping = false;
  }

  start() {
    this.done = (async () => {
      for (let i = 0; !this.stopping; i++) {
        await this.order(i);
        await cl.sleep(P.pace_ms);
      }
    })();
    return this;
  }

  async stop() {
    this.stopping = true;
    await this.done;
  }

  firstAckSince(t) {
    return this.acked.find((a) => a.invokedAt >= t);
  }

  async order(i) {
    const orderId = `${this.tag}-${RUN}-${this.m}-${i}`;
    const key = `fb-${orderId}`;
    const body = orderBody(this.m, orderId);
    const deadline = now() + P.round_timeout_s * 1000;
    for (let attempt = 0; ; attempt++) {
      const list = this.targets();
      const node = list[(i + attempt) % list.length];
      const invokedAt = now();
      let res;
      let error;
      try {
        // A POST in flight when the owner dies can stay unanswered for a long time (the
        // daemon's own request timeout): give up on it after REQ_TIMEOUT_MS and retry with the
        // same key, so that a hung request does not hide the takeover.
        res = await postOrder(node, body, key, P.req_timeout_ms);
      } catch (err) {
        error = /timed out after/.test(err.message) ? `timed out after ${P.req_timeout_ms} ms` : err.message.slice(0, 160);
      }
      const at = now();
      if (res?.status === 202 && Number.isInteger(res.body?.seq) && typeof res.body?.id === 'string') {
        this.acked.push({ seq: res.body.seq, id: res.body.id, order_id: orderId, invokedAt, at, node: node.id });
        return;
      }
      if (res) {
        this.refusals.push({ at, status: res.status, error: res.body?.error });
        const retryable = res.status === 429 || (res.status === 503 && ['owner_unavailable', 'unavailable'].includes(res.body?.error));
        if (!retryable) {
          this.unexpected.push({ order: orderId, node: node.id, status: res.status, text: res.text.slice(0, 200) });
          this.gaveUp.push(orderId);
          return;
        }
      } else this.refusals.push({ at, status: 'network', error });
      if (now() > deadline) {
        this.gaveUp.push(orderId);
        return;
      }
      await cl.sleep(P.retry_ms);
    }
  }
}

async function controllerOf(c) {
  const via = c.nodes.find((n) => n.alive);
  const res = await cl.adminGet(via, '/admin/nodes');
  if (res.status !== 200 || typeof res.body?.controller !== 'string') throw new Error(`GET /admin/nodes on ${via.id}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.body.controller;
}

const savedLogs = {}; // node id → output of its earlier incarnations (before restarts)

async function failoverRound(c, round) {
  const ctl = await controllerOf(c);
  const candidates = c.nodes.filter((n) => n.id !== ctl);
  const victim = candidates[round % candidates.length];
  const survivors = c.nodes.filter((n) => n !== victim);
  const dashNode = c.node(ctl);
  const res = { round: round + 1, victim: victim.id, controller: ctl };

  // MERCHANTS merchants owned by the victim, fresh this round; their partitions' records.
  const merchants = [];
  let start = 0;
  for (let k = 0; k < P.merchants; k++) {
    const m = await cl.findMerchantOwnedBy(c.nodes, victim.id, { prefix: `fo${round + 1}-`, start });
    merchants.push(m);
    start = Number(m.slice(m.indexOf('-') + 1)) + 1;
  }
  const partitions = {};
  for (const m of merchants) partitions[m] = (await cl.inspect(dashNode, 'merchant', m)).partition;
  const recordsBefore = {};
  for (const p of new Set(Object.values(partitions))) recordsBefore[p] = await cl.partitionRecord(c.etcd, p).catch((err) => ({ error: err.message }));
  res.merchants = merchants;

  const dashboards = [];
  const clients = [];
  const posters = [];
  try {
    for (const m of merchants) dashboards.push(await cl.Dashboard.open(dashNode, m, await sb.devToken(dashNode.url, `fb-${m}`, 'merchant', m), { registry: clients }));
    for (const m of merchants) posters.push(new Poster(`r${round + 1}`, m, () => survivors).start());
    await cl.until(() => posters.every((p) => p.acked.length >= P.warm_orders) || posters.some((p) => p.gaveUp.length), P.round_timeout_s * 1000, () => `${P.warm_orders} orders per merchant before the kill (${posters.map((p) => p.acked.length).join(',')})`);

    // kill -9 the owner.
    const tKill = now();
    const wall = Date.now();
    const killed = await victim.kill('SIGKILL');
    const tExit = now();
    dropAgent(victim);
    res.killed = { signal: killed?.signal, exit_ms: r2(tExit - tKill), at: new Date(wall).toISOString() };
    await cl
      .until(() => posters.every((p) => p.firstAckSince(tExit)) || posters.some((p) => p.gaveUp.length), P.round_timeout_s * 1000, 'a 202 for every merchant after the kill', 10)
      .catch(() => {});
    const per = posters.map((p) => {
      const a = p.firstAckSince(tExit);
      const firstRefusal = p.refusals.find((x) => x.at >= tKill);
      return { m: p.m, first_202_ms: a ? r2(a.at - tKill) : null, via: a?.node, seq: a?.seq, first_refusal_ms: firstRefusal ? r2(firstRefusal.at - tKill) : null };
    });
    res.per_merchant = per;
    res.served_again = per.every((x) => x.first_202_ms !== null);
    res.takeover_ms = res.served_again ? Math.max(...per.map((x) => x.first_202_ms)) : null;
    res.first_202_min_ms = per.some((x) => x.first_202_ms !== null) ? Math.min(...per.filter((x) => x.first_202_ms !== null).map((x) => x.first_202_ms)) : null;
    const refusedNow = posters.flatMap((p) => p.refusals.filter((x) => x.at >= tKill).map((x) => `${x.status} ${x.error ?? ''}`.trim()));
    res.refusals_after_kill = countBy(refusedNow);
    log(`round ${round + 1}: killed ${victim.id} (controller ${ctl}); ${res.served_again ? `every merchant served again ${fmt(res.takeover_ms)} ms after the kill (first ${fmt(res.first_202_min_ms)} ms)` : 'NOT served again'}; per merchant ${per.map((x) => `${x.m} ${fmt(x.first_202_ms)} via ${x.via}`).join(', ')}; refusals ${JSON.stringify(res.refusals_after_kill)}`);

    // A few more orders, then the check.
    const base = posters.map((p) => p.acked.length);
    if (res.served_again) await cl.until(() => posters.every((p, k) => p.acked.length >= base[k] + P.more_orders) || posters.some((p) => p.gaveUp.length), P.round_timeout_s * 1000, 'orders after the takeover').catch(() => {});
    await Promise.all(posters.map((p) => p.stop()));
    const recordsAfter = {};
    for (const p of new Set(Object.values(partitions))) recordsAfter[p] = await cl.partitionRecord(c.etcd, p).catch((err) => ({ error: err.message }));
    res.partitions = Object.fromEntries(
      Object.keys(recordsBefore).map((p) => [p, `${recordsBefore[p]?.owner}@${recordsBefore[p]?.epoch} → ${recordsAfter[p]?.owner}@${recordsAfter[p]?.epoch} [${(recordsAfter[p]?.replicas ?? []).map((x) => x.node).join(',')}]`]),
    );
    const problems = [];
    for (const [k, p] of posters.entries()) {
      const seqs = p.acked.map((a) => a.seq).sort((a, b) => a - b);
      if (seqs.some((s, i) => s !== i + 1)) problems.push(`${p.m}: 202 seqs not 1..${seqs.length}: ${seqs.slice(0, 50).join(',')}`);
      if (new Set(p.acked.map((a) => a.id)).size !== p.acked.length) problems.push(`${p.m}: an id acknowledged twice`);
      if (p.gaveUp.length) problems.push(`${p.m}: ${p.gaveUp.length} order(s) never acknowledged; unexpected answers ${JSON.stringify(p.unexpected.slice(0, 3))}`);
      const d = dashboards[k];
      await d.waitSeen(p.acked.length, 15000).catch(() => {});
      const lost = p.acked.filter((a) => d.seen.get(a.seq) !== a.id);
      if (lost.length) problems.push(`${p.m}: ${lost.length} acknowledged order(s) not pushed as acknowledged to the dashboard on ${dashNode.id}, e.g. ${JSON.stringify(lost.slice(0, 3).map((a) => [a.seq, a.id, d.seen.get(a.seq)]))}`);
      if (d.conflicts.length) problems.push(`${p.m}: a seq pushed with two ids ${JSON.stringify(d.conflicts.slice(0, 3))}`);
      if (d.closes.length) problems.push(`${p.m}: the dashboard's socket closed ${JSON.stringify(d.closes)}`);
    }
    res.acknowledged = posters.reduce((a, p) => a + p.acked.length, 0);
    res.problems = problems;
    res.ok = res.served_again && problems.length === 0 && killed?.signal === 'SIGKILL';
    if (problems.length) log(`round ${round + 1}: PROBLEMS ${problems.join(' | ')}`);
  } finally {
    for (const p of posters) p.stopping = true;
    await Promise.all(posters.map((p) => p.done));
    for (const d of dashboards) d.terminate();
    for (const w of clients) w.terminate();
  }

  // The victim returns on its data dir; the table agrees and holds still (handoffs back done).
  savedLogs[victim.id] = (savedLogs[victim.id] ?? '') + victim.log() + `\n===== ${victim.id} killed (round ${round + 1}), restarted =====\n`;
  const t0 = now();
  await cl.restartNode(victim);
  await cl.waitReady(victim, 60000);
  res.rejoin_ready_ms = r2(now() - t0);
  await cl.waitAgreement(c.nodes, { timeoutMs: 90000, stableMs: 1000, minPartitions: 1 });
  res.rejoin_agreed_ms = r2(now() - t0);
  log(`round ${round + 1}: ${victim.id} ready ${fmt(res.rejoin_ready_ms)} ms after its restart, table agreed and still ${fmt(res.rejoin_agreed_ms)} ms after; partitions ${JSON.stringify(res.partitions)}`);
  return res;
}

// ---------------------------------------------------------------- main

let cluster;
const result = { params: P, out: OUT, started: new Date().toISOString(), loadavg_start: os.loadavg().map((x) => r2(x)) };
let exitCode = 0;

const killer = setTimeout(async () => {
  console.error(`failover_bench: TOTAL_TIMEOUT_S=${P.total_timeout_s} reached; stopping everything`);
  result.timed_out = true;
  await finish(3);
}, P.total_timeout_s * 1000);

async function stopCluster(tag) {
  if (!cluster) return;
  const c = cluster;
  cluster = undefined;
  try {
    for (const n of c.nodes) writeFileSync(path.join(OUT, `${tag}-${n.id}.log`), (savedLogs[n.id] ?? '') + n.log());
    writeFileSync(path.join(OUT, `${tag}-etcd.log`), c.etcd.log());
  } catch (err) {
    console.error(`failover_bench: saving logs: ${err.message}`);
  }
  for (const k of Object.keys(savedLogs)) delete savedLogs[k];
  for (const n of c.nodes) dropAgent(n);
  await c.stop();
}

let finishing = false;
let clusterTag = '';
async function finish(code) {
  if (finishing) return;
  finishing = true;
  clearTimeout(killer);
  try {
    await stopCluster(clusterTag);
  } catch (err) {
    console.error(`failover_bench: ${err.message.slice(0, 3000)}`);
    code = code || 1;
  }
  for (const a of agents.values()) a.destroy();
  result.finished = new Date().toISOString();
  result.loadavg_end = os.loadavg().map((x) => r2(x));
  writeFileSync(path.join(OUT, 'result.json'), JSON.stringify(result, null, 2));
  console.log(`\nlogs and result.json in ${OUT}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(code);
}

async function startCluster(r) {
  const t = now();
  clusterTag = `r${r}`;
  cluster = await cl.startCluster(3, { extraArgs: nodeArgs(r) });
  log(`cluster R=${r} up in ${fmt((now() - t) / 1000)} s: ${cluster.nodes.map((n) => `${n.id} pid ${n.pid}`).join(', ')}`);
  return cluster;
}

try {
  log(`binary ${P.bin}; out ${OUT}; load average ${result.loadavg_start.join(' ')}`);
  const doThr = !P.skip.includes('throughput');
  const doFail = !P.skip.includes('failover') && P.rounds > 0;

  // 1. Replication cost: R=1, then R (each on a fresh cluster).
  if (doThr) {
    await startCluster(1);
    result.throughput_r1 = await throughput(cluster, 1);
    await stopCluster('r1');
  }
  if (doThr || doFail) await startCluster(P.r);
  if (doThr) result[`throughput_r${P.r}`] = await throughput(cluster, P.r);

  // 2. Failover rounds on the same cluster.
  if (doFail) {
    result.rounds = [];
    for (let i = 0; i < P.rounds; i++) result.rounds.push(await failoverRound(cluster, i));
  }
  await stopCluster(`r${P.r}`);

  if (doThr) {
    const a = result.throughput_r1;
    const b = result[`throughput_r${P.r}`];
    result.replication_cost = { ratio_per_s: a.per_s ? r2(b.per_s / a.per_s) : null, cpu_ratio_per_order: a.daemon_cpu_ms_per_order ? r2(b.daemon_cpu_ms_per_order / a.daemon_cpu_ms_per_order) : null };
    console.log(`\n== 1. replication cost: ${P.thr_conc} posters in flight, ${P.thr_s} s after ${P.thr_warm_s} s, POSTs on n1..n3 in turn, ${P.thr_merchants} merchants ==`);
    printTable(['', 'R=1', `R=${P.r}`, `R=${P.r} / R=1`], [
      ['accepted orders/s', a.per_s, b.per_s, result.replication_cost.ratio_per_s],
      ['POST→202 p50 ms', fmt(a.ack_ms.p50), fmt(b.ack_ms.p50), a.ack_ms.p50 ? r2(b.ack_ms.p50 / a.ack_ms.p50) : '-'],
      ['POST→202 p99 ms', fmt(a.ack_ms.p99), fmt(b.ack_ms.p99), a.ack_ms.p99 ? r2(b.ack_ms.p99 / a.ack_ms.p99) : '-'],
      ['POST→202 max ms', fmt(a.ack_ms.max), fmt(b.ack_ms.max), '-'],
      ['daemons CPU ms per order', fmt(a.daemon_cpu_ms_per_order), fmt(b.daemon_cpu_ms_per_order), result.replication_cost.cpu_ratio_per_order],
      ['refused', JSON.stringify(a.refused), JSON.stringify(b.refused), ''],
      ['load average (1 min) at start', a.loadavg_1m_at_start, b.loadavg_1m_at_start, ''],
    ]);
  }
  if (doFail) {
    const rs = result.rounds;
    const served = rs.filter((x) => x.served_again);
    result.failover = {
      rounds: rs.length,
      served_again: served.length,
      takeover_ms: stats(served.map((x) => x.takeover_ms)),
      per_merchant_first_202_ms: stats(rs.flatMap((x) => x.per_merchant.filter((y) => y.first_202_ms !== null).map((y) => y.first_202_ms))),
      rejoin_agreed_ms: stats(rs.map((x) => x.rejoin_agreed_ms)),
      goal_p99_le_2000ms: served.length === rs.length ? stats(served.map((x) => x.takeover_ms)).p99 <= 2000 : false,
    };
    console.log(`\n== 2. failover: kill -9 of the owner of ${P.merchants} merchants (an order every ${P.pace_ms} ms each, retried every ${P.retry_ms} ms, a POST unanswered after ${P.req_timeout_ms} ms abandoned and retried), R=${P.r}, ${rs.length} round(s) ==`);
    printTable(['round', 'victim', 'first refusal ms', 'first 202 ms (fastest merchant)', 'all served ms', 'refusals after kill', 'acked', 'partition: owner@epoch before → after [replicas]', 'rejoin ready / agreed ms', 'check'], rs.map((x) => [
      x.round, x.victim,
      fmt(Math.min(...x.per_merchant.map((y) => y.first_refusal_ms ?? Infinity))),
      fmt(x.first_202_min_ms), x.served_again ? fmt(x.takeover_ms) : 'NOT',
      JSON.stringify(x.refusals_after_kill), x.acknowledged,
      Object.entries(x.partitions ?? {}).map(([p, v]) => `${p}: ${v}`).join('; '),
      `${fmt(x.rejoin_ready_ms)} / ${fmt(x.rejoin_agreed_ms)}`,
      x.ok ? 'ok' : `FAIL ${x.problems?.length ?? ''}`,
    ]));
    const f = result.failover;
    console.log(`kill → every merchant of the victim accepted again (ms, per round): p50 ${fmt(f.takeover_ms.p50)}, p99 ${fmt(f.takeover_ms.p99)}, max ${fmt(f.takeover_ms.max)} over ${f.takeover_ms.n} round(s); per merchant p50 ${fmt(f.per_merchant_first_202_ms.p50)}, p99 ${fmt(f.per_merchant_first_202_ms.p99)}; goal p99 ≤ 2000 ms: ${f.goal_p99_le_2000ms ? 'met' : 'NOT met'}`);
    if (rs.some((x) => !x.ok)) exitCode = 1;
  }
} catch (err) {
  console.error(`failover_bench: ${err.stack ?? err}`);
  result.error = String(err.message ?? err).slice(0, 4000);
  exitCode = 1;
}
await finish(exitCode);
