// GET /api/streams/{stream}/entries (who may read which stream, cursor paging, the caller's
// acked cursor, bad cursors) and the agents' queue: the live `waiting` event, `take` (agents
// only, within capacity) and resolve without a false error (the agent still lists and acks it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';
import { chatFixture } from './lib/fixture.mjs';

const fx = chatFixture({
  boss: ['merchant', 'boss', 'm1'],
  boss2: ['merchant', 'boss2', 'm2'],
  alice: ['agent', 'alice', 'm1'],
  dave: ['agent', 'dave', 'm2'],
  a: ['customer', 'cust-a', 'm1'],
  b: ['customer', 'cust-b', 'm1'],
  admin: ['admin'],
});
const { clients, tok } = fx;

const entries = (token, stream, query = '') =>
  sb.request(`${fx.url}/api/streams/${stream}/entries${query}`, { headers: chat.bearer(token) });

test('entries of orders:<m>: newest first, cursor paging, the caller\'s acked seq', async () => {
  for (let i = 1; i <= 5; i++) {
    const res = await sb.request(`${fx.url}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sb.DEV_SERVICE_KEY}` },
      body: JSON.stringify({ merchant: 'm1', order_id: `E-${i}`, total: i }),
    });
    assert.equal(res.status, 202, res.text);
  }
  const newest = await entries(tok.boss, 'orders:m1', '?limit=2');
  assert.equal(newest.status, 200, newest.text);
  assert.deepEqual(newest.body.entries.map((e) => e.seq), [5, 4]);
  assert.equal(newest.body.entries[0].kind, 'order');
  assert.equal(newest.body.entries[0].data.order_id, 'E-5');
  assert.ok(Number.isInteger(newest.body.entries[0].ts) && typeof newest.body.entries[0].id === 'string');
  assert.equal(newest.body.acked, 0);
  assert.equal(newest.body.last_seq, 5);
  const older = await entries(tok.boss, 'orders:m1', '?before=4&limit=10');
  assert.deepEqual(older.body.entries.map((e) => e.seq), [3, 2, 1]);
  const forward = await entries(tok.boss, 'orders:m1', '?after=3');
  assert.deepEqual(forward.body.entries.map((e) => e.seq), [4, 5]);

  const { ws } = await chat.participant(fx.url, tok.boss, { registry: clients });
  ws.ack('orders:m1', 3);
  await chat.eventually(async () => (await entries(tok.boss, 'orders:m1', '?limit=1')).body.acked === 3,
    3000, 'acked 3');

  for (const q of ['?before=x', '?limit=0', '?limit=201', '?before=2&after=1', '?after=-1'])
    assert.equal((await entries(tok.boss, 'orders:m1', q)).status, 400, q);
  assert.equal((await entries(tok.boss2, 'orders:m1')).status, 403, 'another merchant');
  assert.equal((await entries(tok.alice, 'orders:m1')).status, 403, 'an agent');
  assert.equal((await entries(null, 'orders:m1')).status, 401);
  assert.equal((await entries(tok.alice, 'inbox:alice')).status, 200, 'an agent reads its inbox');
  assert.equal((await entries(tok.alice, 'inbox:bob')).status, 403);
});

test('a queued conversation: pushed live to agents, taken by one, refused to customers', async () => {
  // alice can hold one conversation: cust-a's fills it, cust-b's waits.
  await sb.request(`${fx.url}/admin/merchants/m1/agents/alice`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...chat.bearer(tok.admin) },
    body: JSON.stringify({ weight: 1, max_concurrent: 1 }),
  });
  const alice = chat.autoAck((await chat.participant(fx.url, tok.alice, { registry: clients })).ws);
  const convA = (await chat.mustOpen(fx.url, tok.a, 'm1', { status: 201 })).id;
  await chat.nextEntry(alice, 'inbox:alice', 'assigned', { conv: convA });
  // bob is away: routing gives him nothing, but he may take.
  const bob = chat.autoAck((await chat.participant(fx.url, await chat.agentToken(fx.url, 'bob', 'm1'), { registry: clients })).ws);
  bob.send({ op: 'presence', status: 'away' });
  await sb.sleep(200);
  const customerB = (await chat.participant(fx.url, tok.b, { registry: clients })).ws;
  const convB = (await chat.mustOpen(fx.url, tok.b, 'm1', { status: 201 })).id;
  assert.equal((await chat.conversations(fx.url, tok.boss, 'unassigned')).some((c) => c.id === convB), true, 'queued');
  const waiting = await chat.nextEvent(alice, 'waiting', '', (data) => data.waiting?.some((w) => w.conv === convB));
  const item = waiting.data.waiting.find((w) => w.conv === convB);
  assert.equal(item.customer, 'cust-b');
  assert.ok(Math.abs(item.since - Date.now()) < 60_000, 'since is ms UTC');

  customerB.send({ op: 'take', conv: convB });
  chat.assertErrorFrame(await customerB.next((f) => f.op === 'error' && f.ref === 'take'), 'forbidden', 'take');
  const dave = (await chat.participant(fx.url, tok.dave, { registry: clients })).ws;
  dave.send({ op: 'take', conv: convB });
  chat.assertErrorFrame(await dave.next((f) => f.op === 'error' && f.ref === 'take'), 'not_found', 'take');
  alice.send({ op: 'take', conv: convB });
  chat.assertErrorFrame(await alice.next((f) => f.op === 'error' && f.ref === 'take'), 'agent_unavailable', 'take');
  bob.send({ op: 'take', conv: convB });
  await chat.nextEntry(bob, 'inbox:bob', 'assigned', { conv: convB });
  await chat.nextEntry(bob, `conv:${convB}`, 'status', { status: 'in_progress', agent: 'bob' });
  await chat.nextEvent(alice, 'waiting', '', (data) => Array.isArray(data.waiting) && !data.waiting.some((w) => w.conv === convB));

  // Resolve raises no error (the agent's acks of A's last entries are fine) and A stays in
  // alice's resolved list, its history readable.
  alice.send({ op: 'resolve', conv: convA });
  await chat.nextEntry(alice, 'inbox:alice', 'unassigned', { conv: convA });
  await sb.sleep(300);
  assert.deepEqual(alice.frames.filter((f) => f.op === 'error' && f.ref !== 'take'), [], 'no error frame');
  const resolved = await chat.conversations(fx.url, tok.alice, 'resolved');
  assert.ok(resolved.some((c) => c.id === convA), JSON.stringify(resolved));
  assert.equal((await chat.getMessages(fx.url, tok.alice, convA)).status, 200, 'its history stays readable');
  const conv = await entries(tok.alice, `conv:${convA}`);
  assert.equal(conv.status, 200, conv.text);
  assert.ok(conv.body.entries.some((e) => e.kind === 'status' && e.data.status === 'resolved'), 'status entries are history');
  assert.equal((await entries(tok.dave, `conv:${convA}`)).status, 404, 'another merchant\'s agent');
  assert.equal((await entries(tok.b, `conv:${convA}`)).status, 404, 'another customer');
});
