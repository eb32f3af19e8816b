// Routing follows the agents' weights (weighted_least_load, the default): agents of weight 3 and
// 1 (enrolled by chat.agents) share 40 new conversations 30/10. A merchant configured for
// round_robin (routing.strategies) alternates in enrolment order whatever the weights. Every
// assignment is an `assigned` entry on the agent's inbox, pushed to its connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as chat from './lib/chat.mjs';

let d;
const clients = [];

before(async () => {
  d = await chat.startChat({
    chat: { agents: 'm1:heavy:3:40,m1:light:1:40,m2:rr1:3:40,m2:rr2:1:40' },
    routing: { strategy: 'weighted_least_load', strategies: 'm2:round_robin', offline_grace: '30s' },
  });
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

// The conversations pushed to `agent` as assigned so far (from its inbox pushes).
const assignedPushes = (ws, agent) =>
  ws.frames.filter((f) => f.op === 'push' && f.stream === `inbox:${agent}` && f.kind === 'assigned').map((f) => f.data?.conv);

// Connects the agents, opens `n` conversations (one customer each, one after another) and waits
// until all are in progress (the merchant's list). Returns {opened: [ids in order], agentOf:
// Map(id → agent), lists: {agent: [ids] from its own in_progress list}, ws: {agent: WsClient}}.
async function route(merchant, agents, n) {
  const ws = {};
  const tokens = {};
  for (const a of agents) {
    tokens[a] = await chat.agentToken(d.url, a, merchant);
    const p = await chat.participant(d.url, tokens[a], { registry: clients, autoAck: true });
    assert.ok(p.welcome.streams.includes(`inbox:${a}`), JSON.stringify(p.welcome));
    ws[a] = p.ws;
  }
  const opened = [];
  for (let i = 0; i < n; i++) {
    const tok = await chat.customerToken(d.url, `${merchant}-cust-${i}`, merchant);
    const c = await chat.mustOpen(d.url, tok, merchant, { status: 201 });
    assert.ok(!opened.includes(c.id), `a new conversation per customer; ${c.id} twice`);
    opened.push(c.id);
  }
  const boss = await chat.merchantToken(d.url, `${merchant}-boss`, merchant);
  let rows = [];
  await chat
    .eventually(async () => {
      rows = await chat.conversations(d.url, boss, 'in_progress');
      return rows.length >= n;
    }, 10000, `${n} conversations in progress`)
    .catch((e) => {
      throw new Error(`${e.message}; the merchant lists ${JSON.stringify(rows).slice(0, 500)}`);
    });
  assert.deepEqual(rows.map((r) => r.id).sort(), [...opened].sort(), 'exactly the opened conversations are in progress');
  const agentOf = new Map(rows.map((r) => [r.id, r.agent]));
  const lists = {};
  for (const a of agents) {
    const mine = await chat.conversations(d.url, tokens[a], 'in_progress');
    lists[a] = mine.map((c) => c.id);
    for (const c of mine) assert.equal(c.agent, a, JSON.stringify(c));
    assert.deepEqual([...lists[a]].sort(), opened.filter((id) => agentOf.get(id) === a).sort(), `${a}'s list agrees with the merchant's`);
  }
  for (const id of opened) assert.ok(agents.includes(agentOf.get(id)), `${id} went to ${agentOf.get(id)}`);
  return { opened, agentOf, lists, ws };
}

let m1; // route('m1', …) result

test('weights 3 and 1: 40 conversations split 30/10 (±1)', async () => {
  m1 = await route('m1', ['heavy', 'light'], 40);
  const heavy = m1.lists.heavy.length;
  const light = m1.lists.light.length;
  assert.ok(Math.abs(heavy - 30) <= 1 && Math.abs(light - 10) <= 1, `heavy ${heavy}, light ${light}: expected 30/10 ±1`);
});

test('every one of those assignments was pushed to the agent\'s inbox as `assigned`, once', async () => {
  assert.ok(m1, 'the previous test routed them');
  for (const a of ['heavy', 'light']) {
    const want = [...m1.lists[a]].sort();
    let got = [];
    await chat
      .eventually(() => (got = assignedPushes(m1.ws[a], a)).length >= want.length, 5000, `${want.length} assigned pushes to ${a}`)
      .catch(() => {});
    const missing = want.filter((id) => !got.includes(id));
    assert.deepEqual(
      [...got].sort(),
      want,
      `${a}: ${want.length} assigned, ${got.length} assigned pushes (inbox seqs ${m1.ws[a].frames.filter((f) => f.op === 'push' && f.stream === `inbox:${a}`).map((f) => f.seq).join(',')}); never pushed: ${missing.join(' ')}`,
    );
  }
});

test('routing.strategies m2:round_robin: 20 conversations alternate between the two agents, 10/10', async () => {
  const { opened, agentOf, lists } = await route('m2', ['rr1', 'rr2'], 20);
  assert.equal(lists.rr1.length, 10, `rr1 ${lists.rr1.length}, rr2 ${lists.rr2.length}`);
  assert.equal(lists.rr2.length, 10, `rr1 ${lists.rr1.length}, rr2 ${lists.rr2.length}`);
  const order = opened.map((id) => agentOf.get(id));
  for (let i = 1; i < order.length; i++) assert.notEqual(order[i], order[i - 1], `alternates in enrolment order: ${order.join(' ')}`);
});
