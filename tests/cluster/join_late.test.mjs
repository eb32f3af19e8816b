// A node joining a running cluster takes over partitions without losing, duplicating or
// re-numbering any entry, and connected dashboards stay connected and keep receiving.
// Two nodes take 2 orders for each of 40 merchants; a third joins; every node agrees on the
// table with n3 owning partitions; the merchants that moved to n3 (and all the others) still
// have exactly their acknowledged entries, and their next order continues the seq.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cl from './lib/cluster.mjs';

const { sb } = cl;

const MERCHANTS = Array.from({ length: 40 }, (_, i) => `jl-${i}`);
const PER_MERCHANT = 2;

let c;
const clients = [];
const dashboards = [];

before(
  cl.withLogs(async () => {
    c = await cl.startCluster(2);
  }),
  { timeout: 60000 },
);
after(async () => {
  for (const d of dashboards) d.terminate();
  for (const w of clients) w.terminate();
  await c?.stop();
});

cl.test('a third node joins: the table moves, nothing acknowledged is lost or renumbered', async (t) => {
  const [n1, n2] = c.nodes;

  // Before the join: every merchant on n1 or n2, 2 orders each, posted alternately on n1 and n2.
  const before = await cl.ownersOf(c.nodes, MERCHANTS);
  for (const [m, owner] of before) assert.ok(['n1', 'n2'].includes(owner), `${m} owned by ${owner} before the join`);
  const accepted = new Map(MERCHANTS.map((m) => [m, []]));
  const bodies = new Map();
  await cl.chat.inBatches(MERCHANTS, 8, async (m, i) => {
    for (let k = 1; k <= PER_MERCHANT; k++) {
      const body = sb.order(m, `J-${k}`, { k });
      const via = (i + k) % 2 ? n1 : n2;
      const a = sb.assertAccepted(await cl.postOrderTo(via, body), m, `order ${k} of ${m} on ${via.id}`);
      accepted.get(m).push(a);
      bodies.set(a.id, body);
    }
  });
  for (const [m, list] of accepted) assert.deepEqual(list.map((a) => a.seq), [1, 2], `${m}: ${JSON.stringify(list)}`);

  // A dashboard per merchant, on n1 and n2 alternately, seeing its two orders (and acking them).
  const token = new Map();
  for (const [i, m] of MERCHANTS.entries()) {
    token.set(m, await sb.devToken(n1.url, `dash-${m}`, 'merchant', m));
    dashboards.push(await cl.Dashboard.open(c.nodes[i % 2], m, token.get(m), { registry: clients }));
  }
  await Promise.all(dashboards.map((d) => d.waitSeen(PER_MERCHANT, 10000)));

  // n3 joins.
  const t0 = Date.now();
  const n3 = await c.addNode('n3');
  await cl.waitReady(n3, 30000);
  const table = await cl.waitAgreement(c.nodes, { timeoutMs: 40000, stableMs: 1000, check: (tb) => tb.nodes.n3.partitions > 0 });
  t.diagnostic(`n3 ready and agreed after ${Date.now() - t0} ms: ${JSON.stringify(Object.fromEntries(Object.entries(table.nodes).map(([id, x]) => [id, x.partitions])))} of ${table.partition_count}`);

  const afterJoin = await cl.ownersOf(c.nodes, MERCHANTS);
  // Every node answers the same owner.
  for (const n of c.nodes) {
    const view = await cl.ownersOf(n, MERCHANTS.slice(0, 10));
    for (const [m, o] of view) assert.equal(o, afterJoin.get(m), `${n.id} and ${c.nodes[0].id} disagree on the owner of ${m}`);
  }
  const moved = MERCHANTS.filter((m) => afterJoin.get(m) === 'n3');
  t.diagnostic(`${moved.length} of ${MERCHANTS.length} merchants moved to n3`);
  assert.ok(moved.length > 0, `some of the ${MERCHANTS.length} merchants moved to n3 (n3 owns ${table.nodes.n3.partitions} of ${table.partition_count} partitions)`);

  // Nothing lost, nothing renumbered: a fresh client of every merchant resuming from 0, on the
  // new node and on an old one, is replayed exactly its acknowledged entries, once, in seq
  // order, with their ids and bodies.
  await cl.chat.inBatches(MERCHANTS, 10, async (m, i) => {
    const tok = await sb.devToken(n1.url, `audit-${m}`, 'merchant', m);
    for (const n of [n3, c.nodes[i % 2]]) {
      const replay = await cl.replayFrom0(n, tok, `orders:${m}`, PER_MERCHANT, { registry: clients });
      const what = `orders:${m} replayed on ${n.id} (owner ${afterJoin.get(m)})`;
      cl.assertSameEntries(replay, accepted.get(m), what);
      replay.forEach((p, k) => sb.assertOrderPush(p, accepted.get(m)[k], bodies.get(accepted.get(m)[k].id)));
    }
  });

  // The next order of every merchant continues its seq and reaches its dashboard, which stayed
  // connected through the join.
  await cl.chat.inBatches(MERCHANTS, 8, async (m, i) => {
    const body = sb.order(m, 'J-3', { k: 3 });
    const a = sb.assertAccepted(await cl.postOrderTo(c.nodes[i % 3], body), m, `order 3 of ${m} after the join`);
    assert.equal(a.seq, PER_MERCHANT + 1, `${m} (owner ${afterJoin.get(m)}) continues its seq: ${JSON.stringify(a)}`);
    assert.ok(!accepted.get(m).some((x) => x.id === a.id), 'a new id');
    accepted.get(m).push(a);
  });
  await Promise.all(dashboards.map((d) => d.waitSeen(PER_MERCHANT + 1, 10000)));
  for (const d of dashboards) {
    assert.deepEqual(d.closes, [], `the dashboard of ${d.merchant} on ${d.node.id} stayed connected`);
    assert.deepEqual(d.conflicts, [], `${d.merchant}: a seq delivered with two ids`);
    const want = accepted.get(d.merchant);
    assert.deepEqual([...d.seen].sort((a, b) => a[0] - b[0]), want.map((a) => [a.seq, a.id]), `${d.merchant}: the dashboard saw exactly the acknowledged entries`);
  }
});
