// No capacity → FIFO queue: one agent with max_concurrent 1 (set by the admin API) takes the
// first of three conversations; the other two wait at positions 1 and 2, pushed to their
// customers as `queue` events; resolving the first hands the second to the agent and moves the
// third up to position 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';
import { chatFixture } from './lib/fixture.mjs';

const fx = chatFixture({ admin: ['admin'] });
const { clients, tok } = fx;

const assertQueueEvent = (f, conv, position) => {
  const got = JSON.stringify(f);
  assert.equal(f.op, 'event', got);
  assert.equal(f.kind, 'queue', got);
  assert.equal(f.conv, conv, got);
  assert.equal(f.data.position, position, got);
  assert.ok(typeof f.data.estimated_wait_s === 'number' && f.data.estimated_wait_s >= 0, `estimated_wait_s; ${got}`);
};

test('PUT /admin/merchants/{m}/agents/{agent} needs an admin', async () => {
  const agentTok = await chat.agentToken(fx.url, 'solo', 'm1');
  sb.assertError(await chat.putAgent(fx.url, agentTok, 'm1', 'solo', { weight: 1, max_concurrent: 9 }), 403, 'forbidden');
  const merchantTok = await chat.merchantToken(fx.url, 'boss', 'm1');
  sb.assertError(await chat.putAgent(fx.url, merchantTok, 'm1', 'solo', { weight: 1, max_concurrent: 9 }), 403, 'forbidden');
  sb.assertError(await chat.putAgent(fx.url, null, 'm1', 'solo', { weight: 1, max_concurrent: 9 }), 401, 'unauthorized');
});

test('max_concurrent 1: the first conversation is assigned, the next two queue at 1 and 2, and move up on resolve', async () => {
  const put = await chat.putAgent(fx.url, tok.admin, 'm1', 'solo', { weight: 1, max_concurrent: 1 });
  assert.equal(put.status, 200, put.text);
  assert.deepEqual(
    { merchant: put.body.merchant, agent: put.body.agent, weight: put.body.weight, max_concurrent: put.body.max_concurrent },
    { merchant: 'm1', agent: 'solo', weight: 1, max_concurrent: 1 },
    put.text,
  );

  const agentTok = await chat.agentToken(fx.url, 'solo', 'm1');
  const { ws: agent } = await chat.participant(fx.url, agentTok, { registry: clients, autoAck: true });

  const custToks = [];
  const convs = [];
  for (let i = 1; i <= 3; i++) {
    custToks[i] = await chat.customerToken(fx.url, `q-cust-${i}`, 'm1');
    const c = await chat.mustOpen(fx.url, custToks[i], 'm1', { status: 201 });
    convs[i] = c.id;
    if (i > 1) assert.equal(c.status, 'unassigned', `conversation ${i} is queued; got ${JSON.stringify(c)}`);
  }
  const a1 = await chat.nextEntry(agent, 'inbox:solo', 'assigned', { conv: convs[1] });
  assert.equal(a1.data.customer, 'q-cust-1');
  assert.deepEqual(
    await agent.quietFor((f) => f.op === 'push' && f.stream === 'inbox:solo' && f.kind === 'assigned', 300),
    [],
    `nothing else assigned beyond max_concurrent 1; ${agent.describe()}`,
  );

  // The agent sees the queued ones (its pool) and its own.
  const mine = await chat.conversations(fx.url, agentTok, 'in_progress');
  assert.deepEqual(mine.map((c) => c.id), [convs[1]], JSON.stringify(mine));
  const queued = await chat.conversations(fx.url, agentTok, 'unassigned');
  assert.deepEqual(queued.map((c) => c.id).sort(), [convs[2], convs[3]].sort(), JSON.stringify(queued));
  for (const c of queued) assert.ok(c.status === 'unassigned' && c.agent == null, JSON.stringify(c));

  // Waiting customers get their position on hello.
  const c2 = (await chat.participant(fx.url, custToks[2], { registry: clients, autoAck: true })).ws;
  const c3 = (await chat.participant(fx.url, custToks[3], { registry: clients, autoAck: true })).ws;
  assertQueueEvent(await chat.nextEvent(c2, 'queue', convs[2]), convs[2], 1);
  assertQueueEvent(await chat.nextEvent(c3, 'queue', convs[3]), convs[3], 2);

  // Resolving the first hands the second to the agent; the third moves up.
  agent.send({ op: 'resolve', conv: convs[1] });
  const a2 = await chat.nextEntry(agent, 'inbox:solo', 'assigned', { conv: convs[2] });
  assert.equal(a2.data.customer, 'q-cust-2');
  await chat.nextEntry(c2, `conv:${convs[2]}`, 'status', { status: 'in_progress', agent: 'solo' });
  assertQueueEvent(await chat.nextEvent(c3, 'queue', convs[3], { position: 1 }), convs[3], 1);
  assert.deepEqual(
    await c3.quietFor((f) => f.op === 'push' && f.kind === 'status' && f.data?.status === 'in_progress', 300),
    [],
    `the third still waits; ${c3.describe()}`,
  );

  const now = await chat.conversations(fx.url, agentTok, 'in_progress');
  assert.deepEqual(now.map((c) => c.id), [convs[2]], JSON.stringify(now));
  const still = await chat.conversations(fx.url, agentTok, 'unassigned');
  assert.deepEqual(still.map((c) => c.id), [convs[3]], JSON.stringify(still));
});
