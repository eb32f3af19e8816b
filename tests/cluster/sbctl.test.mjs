// sbctl against a 3-node cluster: `nodes` (JSON and the human table), `inspect merchant/<m>`
// (owner, last seq, a dashboard principal's acked/unacked, gathered from whichever node owns
// it), an unknown merchant, a non-admin token (exit 1, forbidden), and `drain`.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cl from './lib/cluster.mjs';

const { sb } = cl;

let c;
let A, B, C; // n1, n2, n3
let admin;
let partitionCount;
let owner; // of merchant m1
const clients = [];

before(
  cl.withLogs(async () => {
    c = await cl.startCluster(3);
    [A, B, C] = c.nodes;
    admin = await cl.adminToken(A);
  }),
  { timeout: 60000 },
);
after(async () => {
  for (const w of clients) w.terminate();
  await c?.stop();
});

const run = (args, node = C, token = admin) => cl.sbctl(args, { node, token });
const shown = (r) => `sbctl ${r.args.join(' ')} → code ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${r.stdout.slice(0, 2000)}\n--- stderr ---\n${r.stderr.slice(0, 2000)}`;

cl.test('sbctl --json nodes lists the 3 nodes up, partitions summing to partition_count', async () => {
  const table = await cl.waitAgreement(c.nodes, { timeoutMs: 10000 });
  partitionCount = table.partition_count;
  const r = await run(['--json', 'nodes']);
  assert.equal(r.code, 0, shown(r));
  assert.ok(Array.isArray(r.json?.nodes), `{"nodes":[...]} on stdout; ${shown(r)}`);
  assert.deepEqual(r.json.nodes.map((x) => x.id).sort(), ['n1', 'n2', 'n3'], shown(r));
  let sum = 0;
  for (const x of r.json.nodes) {
    assert.equal(x.state, 'up', JSON.stringify(x));
    assert.equal(typeof x.address, 'string', JSON.stringify(x));
    assert.ok(Number.isInteger(x.connections) && x.connections >= 0, `connections: ${JSON.stringify(x)}`);
    const p = Array.isArray(x.partitions) ? x.partitions.length : x.partitions;
    assert.ok(Number.isInteger(p) && p >= 0, `partitions: ${JSON.stringify(x)}`);
    assert.equal(p, table.nodes[x.id].partitions, `sbctl and /admin/nodes agree on ${x.id}`);
    sum += p;
  }
  assert.equal(sum, partitionCount, `partitions sum to partition_count ${partitionCount}; ${shown(r)}`);
});

cl.test('sbctl nodes prints a table naming every node', async () => {
  const r = await run(['nodes']);
  assert.equal(r.code, 0, shown(r));
  for (const id of ['n1', 'n2', 'n3']) assert.match(r.stdout, new RegExp(`\\b${id}\\b`), `${id} in the table; ${shown(r)}`);
  assert.match(r.stdout, /\bup\b/i, `the states are shown; ${shown(r)}`);
});

cl.test('sbctl --json inspect merchant/m1: stream, owner, seq and the dashboard principal acked 2, unacked 1', async () => {
  const bodies = [1, 2, 3].map((k) => sb.order('m1', `S-${k}`, { k }));
  const accepted = [];
  for (const b of bodies) accepted.push(sb.assertAccepted(await cl.postOrderTo(A, b), 'm1'));
  assert.deepEqual(accepted.map((a) => a.seq), [1, 2, 3]);

  const dash = await cl.connectClient(B, await sb.devToken(B.url, 'dash-m1', 'merchant', 'm1'), { registry: clients });
  const pushes = await dash.ws.pushes('orders:m1', 3, 8000);
  assert.deepEqual(pushes.map((p) => p.seq), [1, 2, 3]);
  dash.ws.ack('orders:m1', 2);

  owner = await cl.ownerOf(A, 'merchant', 'm1');
  assert.ok(['n1', 'n2', 'n3'].includes(owner), `owner ${owner}`);

  // The ack travels to the owner asynchronously: poll until sbctl shows it.
  let r;
  const mine = (x) => x?.principals?.find?.((p) => p.principal === 'dash-m1');
  await cl.until(
    async () => {
      r = await run(['--json', 'inspect', 'merchant/m1']);
      return r.code === 0 && mine(r.json)?.acked === 2;
    },
    5000,
    () => `sbctl inspect to show dash-m1 acked 2; last: ${shown(r)}`,
    200,
  );
  const got = r.json;
  assert.equal(got.stream, 'orders:m1', shown(r));
  assert.equal(got.owner, owner, `the owner /admin/actors names; ${shown(r)}`);
  assert.equal(got.seq, 3, shown(r));
  assert.ok(Array.isArray(got.principals), shown(r));
  assert.deepEqual({ acked: mine(got).acked, unacked: mine(got).unacked }, { acked: 2, unacked: 1 }, shown(r));

  // The same from every node (each gathers it from the owner), and from the admin API.
  for (const n of c.nodes) {
    const x = await run(['--json', 'inspect', 'merchant/m1'], n);
    assert.equal(x.code, 0, shown(x));
    assert.equal(x.json?.owner, owner, shown(x));
    assert.equal(x.json?.seq, 3, shown(x));
  }
  const viaApi = await cl.inspect(C, 'merchant', 'm1');
  assert.equal(viaApi.owner, owner);
  assert.equal(viaApi.seq, 3);
  assert.equal(viaApi.stream, 'orders:m1');

  const list = await cl.adminGet(C, '/admin/actors?kind=merchant');
  assert.equal(list.status, 200, list.text);
  const row = list.body?.actors?.find((x) => x.kind === 'merchant' && x.id === 'm1');
  assert.ok(row, `m1 in GET /admin/actors?kind=merchant; got ${list.text.slice(0, 500)}`);
  assert.equal(row.node, owner, JSON.stringify(row));
  assert.equal(row.stream, 'orders:m1', JSON.stringify(row));
});

cl.test('sbctl inspect of an unknown merchant still answers, with seq 0', async () => {
  const r = await run(['--json', 'inspect', 'merchant/nope-unknown']);
  assert.equal(r.code, 0, shown(r));
  assert.equal(r.json?.stream, 'orders:nope-unknown', shown(r));
  assert.equal(r.json?.seq, 0, shown(r));
  assert.ok(['n1', 'n2', 'n3'].includes(r.json?.owner), `an owner node; ${shown(r)}`);
  const human = await run(['inspect', 'merchant/nope-unknown']);
  assert.equal(human.code, 0, shown(human));
});

cl.test('sbctl with a non-admin token exits 1 with the error code forbidden', async () => {
  const merchantTok = await sb.devToken(A.url, 'not-admin', 'merchant', 'm1');
  for (const args of [['nodes'], ['--json', 'inspect', 'merchant/m1']]) {
    const r = await run(args, C, merchantTok);
    assert.equal(r.code, 1, shown(r));
    assert.match(r.stdout + r.stderr, /forbidden/, shown(r));
  }
});

cl.test('sbctl drain n3: n3 reaches 0 partitions and is listed draining', async (t) => {
  assert.ok(partitionCount, 'the first test read partition_count');
  const t0 = Date.now();
  const r = await run(['drain', 'n3'], A);
  assert.equal(r.code, 0, shown(r));
  let last;
  await cl.until(
    async () => {
      last = await run(['--json', 'nodes'], A);
      const n3 = last.json?.nodes?.find((x) => x.id === 'n3');
      const p = Array.isArray(n3?.partitions) ? n3.partitions.length : n3?.partitions;
      return last.code === 0 && n3?.state === 'draining' && p === 0;
    },
    30000,
    () => `sbctl --json nodes to show n3 draining with 0 partitions; last: ${shown(last)}`,
    250,
  );
  t.diagnostic(`n3 drained in ${Date.now() - t0} ms`);
  const table = await cl.waitAgreement(c.nodes, { states: { n3: 'draining' }, timeoutMs: 10000, check: (tb) => tb.nodes.n3.partitions === 0 });
  assert.equal(table.partition_count, partitionCount);
  for (const x of last.json.nodes) if (x.id !== 'n3') assert.equal(x.state, 'up', JSON.stringify(last.json));

  // m1 lives on: same seq, not on n3.
  const x = await run(['--json', 'inspect', 'merchant/m1'], C);
  assert.equal(x.code, 0, shown(x));
  assert.equal(x.json?.seq, 3, shown(x));
  assert.notEqual(x.json?.owner, 'n3', shown(x));
});
