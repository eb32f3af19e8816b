// Ownership moves under load: while orders for 20 merchants are posted round-robin on every
// node, a 4th node joins and then n2 is drained (POST /admin/nodes/n2/drain) down to 0
// partitions. Every acknowledged order reaches its merchant's dashboard; per stream the seqs
// are exactly 1..max, each with the id of its 202 everywhere (no loss, no duplicate entry, no
// renumbering); redelivery of the same (seq, id) is allowed; no dashboard is disconnected,
// except that those connected to n2 itself may be closed with 1001 and resume elsewhere.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cl from './lib/cluster.mjs';

const { sb } = cl;

const MERCHANTS_ON_N2 = 7; // of the 20, owned by n2 before the drain
const MERCHANTS = 20;
const WORKERS = 3;
const PACE_MS = 15; // between two orders of one worker
// The load must not be rate limited (a 429 would only be retried, but it slows the test).
const ARGS = ['--set', 'limits.principal_rate=100000', '--set', 'limits.principal_burst=100000', '--set', 'limits.ip_rate=100000', '--set', 'limits.ip_burst=100000'];
const RESTART_CODES = [1001, 1012, 1013]; // a node going away / restarting / try again later

let c;
const clients = [];
const dashboards = [];
let abort = false;

before(
  cl.withLogs(async () => {
    c = await cl.startCluster(3, { extraArgs: ARGS });
  }),
  { timeout: 60000 },
);
after(async () => {
  abort = true;
  for (const d of dashboards) d.terminate();
  for (const w of clients) w.terminate();
  await c?.stop();
});

cl.test('a node joins and n2 is drained under load: no loss, no duplicate, no renumbering, dashboards stay connected', { timeout: 150000 }, async (t) => {
  const [n1] = c.nodes;

  // 20 merchants, 7 of them owned by n2 (so that the drain moves live streams).
  const onN2 = [];
  const others = [];
  for (let i = 0; onN2.length < MERCHANTS_ON_N2 || others.length < MERCHANTS - MERCHANTS_ON_N2; i++) {
    assert.ok(i < 2000, 'not enough merchants found');
    const m = `dl-${i}`;
    const owner = await cl.ownerOf(n1, 'merchant', m);
    if (owner === 'n2' && onN2.length < MERCHANTS_ON_N2) onN2.push(m);
    else if (owner !== 'n2' && others.length < MERCHANTS - MERCHANTS_ON_N2) others.push(m);
  }
  const merchants = [...onN2, ...others];

  // A dashboard per merchant on n1, n2, n3 in turn. One connected to n2 may be closed by the
  // drain (1001): it resumes on another node. Any other close is recorded, and fails the test.
  let rr = 0;
  const elsewhere = () => {
    const live = c.nodes.filter((n) => n.id !== 'n2' && n.alive);
    return live[rr++ % live.length];
  };
  const reconnectTo = (dash, info) => (dash.node.id === 'n2' && RESTART_CODES.includes(info.code) && !abort ? elsewhere : null);
  for (const [i, m] of merchants.entries()) {
    const token = await sb.devToken(n1.url, `dash-${m}`, 'merchant', m);
    dashboards.push(await cl.Dashboard.open(c.nodes[i % 3], m, token, { registry: clients, reconnectTo }));
  }

  // The load: WORKERS loops posting orders for the merchants in turn, on every live node in
  // turn (the 4th too once it is there). Each order has its own Idempotency-Key, reused on
  // every retry (503 owner_unavailable or 429 after Retry-After, network errors): counted once.
  const acked = new Map(merchants.map((m) => [m, []])); // m → [202 body]
  const sentBody = new Map(); // id → body
  const failures = [];
  const stats = { orders: 0, retried: 0, retries: {} };
  let stop = false;
  let next = 0;
  let target = 0;
  const pickNode = () => {
    const live = c.nodes.filter((n) => n.alive && n.url);
    return live[target++ % live.length];
  };
  const worker = async () => {
    while (!stop && !abort) {
      const i = next++;
      const m = merchants[i % merchants.length];
      const body = sb.order(m, `o-${i}`, { i });
      const r = await cl.postUntilAccepted(pickNode, body, { idempotencyKey: `dl-${process.pid}-${i}`, deadlineMs: 20000, abort: () => abort });
      for (const x of r.retries) {
        const k = x.status ? `${x.status} ${x.error ?? ''}`.trim() : 'network';
        stats.retries[k] = (stats.retries[k] ?? 0) + 1;
      }
      if (r.retries.length) stats.retried++;
      if (!r.accepted) {
        if (!abort) failures.push({ m, i, status: r.res?.status, text: r.res?.text?.slice(0, 200), retries: r.retries.slice(-3) });
        continue;
      }
      if (r.accepted.stream !== `orders:${m}` || !Number.isInteger(r.accepted.seq) || typeof r.accepted.id !== 'string') {
        failures.push({ m, i, bad202: r.accepted });
        continue;
      }
      acked.get(m).push(r.accepted);
      sentBody.set(r.accepted.id, body);
      stats.orders++;
      await cl.sleep(PACE_MS);
    }
  };
  const total = () => stats.orders;
  const load = Promise.all(Array.from({ length: WORKERS }, worker));

  let phaseError;
  try {
    await cl.until(() => total() >= 40 || failures.length, 20000, 'the first 40 orders');
    assert.deepEqual(failures, [], 'orders refused before any move');

    // A 4th node joins under load.
    const tJoin = Date.now();
    const n4 = await c.addNode('n4');
    await cl.waitReady(n4, 30000);
    const joined = await cl.waitAgreement(c.nodes, { timeoutMs: 40000, stableMs: 1000, check: (tb) => tb.nodes.n4.partitions > 0 });
    t.diagnostic(`n4 joined in ${Date.now() - tJoin} ms: ${JSON.stringify(Object.fromEntries(Object.entries(joined.nodes).map(([id, x]) => [id, x.partitions])))} of ${joined.partition_count}`);
    const afterJoin = total();
    await cl.until(() => total() >= afterJoin + 20 || failures.length, 20000, 'orders after the join');

    // Drain n2 under load, until it owns nothing.
    const tDrain = Date.now();
    const res = await cl.adminPost(n1, '/admin/nodes/n2/drain');
    assert.equal(res.status, 202, `POST /admin/nodes/n2/drain: ${res.status} ${res.text}`);
    const drained = await cl.waitAgreement(c.nodes, { states: { n2: 'draining' }, timeoutMs: 40000, check: (tb) => tb.nodes.n2.partitions === 0 });
    t.diagnostic(`n2 drained in ${Date.now() - tDrain} ms: ${JSON.stringify(Object.fromEntries(Object.entries(drained.nodes).map(([id, x]) => [id, `${x.state}/${x.partitions}`])))}`);
    const owners = await cl.ownersOf(c.nodes, merchants);
    for (const [m, o] of owners) assert.notEqual(o, 'n2', `${m} is still owned by the drained n2`);
    const afterDrain = total();
    await cl.until(() => total() >= afterDrain + 20 || failures.length, 20000, 'orders after the drain');
  } catch (err) {
    phaseError = err;
    abort = true; // the loops give up their retries at once
  } finally {
    stop = true;
    try {
      await cl.sb.withTimeout(load, 30000, 'the load loops to finish their last order');
    } catch (err) {
      phaseError ??= err;
    }
  }
  if (phaseError) throw phaseError;
  t.diagnostic(`${stats.orders} orders acknowledged; ${stats.retried} needed a retry: ${JSON.stringify(stats.retries)}`);
  assert.deepEqual(failures, [], 'every order was acknowledged (after retries)');

  // Per stream, the 202s are exactly seqs 1..max, one id each.
  for (const [m, list] of acked) {
    const seqs = list.map((a) => a.seq).sort((a, b) => a - b);
    assert.deepEqual(seqs, Array.from({ length: list.length }, (_, i) => i + 1), `orders:${m}: the 202 seqs are 1..${list.length} once each`);
    assert.equal(new Set(list.map((a) => a.id)).size, list.length, `orders:${m}: ids unique`);
  }

  // Every acknowledged order reaches its dashboard.
  await Promise.all(dashboards.map((d) => (d.reconnecting ?? Promise.resolve()).then(() => d.waitSeen(acked.get(d.merchant).length, 20000))));

  let dups = 0;
  let reconnects = 0;
  for (const d of dashboards) {
    const list = acked.get(d.merchant).slice().sort((a, b) => a.seq - b.seq);
    assert.deepEqual(d.conflicts, [], `orders:${d.merchant}: a seq delivered with two ids (renumbering)`);
    // Nothing but the acknowledged entries, with the ids of their 202s.
    assert.deepEqual(
      [...d.seen].sort((a, b) => a[0] - b[0]),
      list.map((a) => [a.seq, a.id]),
      `orders:${d.merchant}: the dashboard saw exactly the acknowledged (seq, id)`,
    );
    const unexpected = d.closes.filter((x) => x.node !== 'n2' || !RESTART_CODES.includes(x.code));
    assert.deepEqual(unexpected, [], `orders:${d.merchant}: a dashboard socket closed (connections ${d.connections.join(' → ')})`);
    for (const x of d.closes) assert.ok(x.reconnected, `orders:${d.merchant}: resumed after the close on n2: ${JSON.stringify(x)}`);
    assert.ok(d.isOpen, `orders:${d.merchant}: the dashboard is connected at the end`);
    dups += d.dups;
    reconnects += d.closes.length;
  }
  t.diagnostic(`${dups} redelivery(ies) of the same (seq, id); ${reconnects} dashboard(s) on n2 reconnected`);

  // What is stored agrees: a fresh client resuming from 0, on the new node or on the drained
  // one, is replayed exactly the acknowledged entries, once each, in seq order, as posted.
  const n4 = c.node('n4');
  const n2 = c.node('n2');
  await cl.chat.inBatches(merchants, 5, async (m, i) => {
    const via = i % 2 ? n4 : n2;
    const tok = await sb.devToken(n1.url, `audit-${m}`, 'merchant', m);
    const replay = await cl.replayFrom0(via, tok, `orders:${m}`, acked.get(m).length, { registry: clients, timeoutMs: 20000 });
    cl.assertSameEntries(replay, acked.get(m), `orders:${m} replayed on ${via.id}`);
    for (const e of replay) assert.deepEqual(e.data, sentBody.get(e.id), `orders:${m} seq ${e.seq}: the stored order`);
  });
});
