// Three nodes serve the whole contract for every key, whichever node owns it: an order posted on
// n1 for a merchant owned by n2 reaches dashboards on n3 and on n2 with the same seq and id as
// its 202; a token minted on one node works on another; a customer on n1 chats with an agent on
// n3; every node is ready and lists the same three nodes up.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cl from './lib/cluster.mjs';

const { sb, chat } = cl;

let c;
let A, B, C; // n1, n2, n3
const clients = [];

before(
  cl.withLogs(async () => {
    c = await cl.startCluster(3);
    [A, B, C] = c.nodes;
  }),
  { timeout: 60000 },
);
after(async () => {
  for (const w of clients) w.terminate();
  await c?.stop();
});

cl.test('every node is ready and /admin/nodes lists the same 3 nodes up, partitions summing to partition_count', async () => {
  for (const n of c.nodes) {
    const res = await sb.request(`${n.url}/readyz`);
    assert.equal(res.status, 200, `GET /readyz on ${n.id}: ${res.status} ${res.text}`);
  }
  const table = await cl.waitAgreement(c.nodes, { timeoutMs: 10000 });
  assert.deepEqual(Object.keys(table.nodes).sort(), ['n1', 'n2', 'n3']);
  for (const v of table.views) {
    const body = v.body;
    assert.equal(body.self, v.from, `self in /admin/nodes of ${v.from}: ${JSON.stringify(body)}`);
    assert.ok(['n1', 'n2', 'n3'].includes(body.controller), `controller is one of the nodes: ${JSON.stringify(body)}`);
    for (const x of body.nodes) {
      assert.equal(x.state, 'up', JSON.stringify(x));
      assert.equal(typeof x.address, 'string', `address of ${x.id}: ${JSON.stringify(x)}`);
      assert.equal(typeof x.cluster_address, 'string', `cluster_address of ${x.id}: ${JSON.stringify(x)}`);
    }
    const mine = body.nodes.find((x) => x.id === v.from);
    const node = c.node(v.from);
    assert.equal(mine.cluster_address, node.clusterAddress, `${v.from} advertises its --cluster-listen address`);
  }
  // Nobody may read the admin API without an admin token.
  const merchantTok = await sb.devToken(A.url, 'not-admin', 'merchant', 'm1');
  const noToken = await sb.request(`${B.url}/admin/nodes`);
  assert.equal(noToken.status, 401, `GET /admin/nodes without a token: ${noToken.status} ${noToken.text}`);
  const notAdmin = await cl.adminGet(B, '/admin/nodes', { token: merchantTok });
  assert.equal(notAdmin.status, 403, `GET /admin/nodes with a merchant token: ${notAdmin.status} ${notAdmin.text}`);
});

cl.test('an order posted on n1 for a merchant owned by n2 reaches dashboards on n3 and n2 with the seq and id of its 202', async () => {
  const m = await cl.findMerchantOwnedBy(c.nodes, 'n2', { prefix: 'xm-' });
  for (const n of c.nodes) assert.equal(await cl.ownerOf(n, 'merchant', m), 'n2', `${n.id} agrees that n2 owns ${m}`);
  const stream = `orders:${m}`;

  // A token minted on n1 works on n3; another, minted on n2, on n2.
  const tokOnC = await sb.devToken(A.url, 'dash-c', 'merchant', m);
  const tokOnB = await sb.devToken(B.url, 'dash-b', 'merchant', m);
  const dashC = await cl.connectClient(C, tokOnC, { registry: clients });
  const dashB = await cl.connectClient(B, tokOnB, { registry: clients });
  for (const d of [dashC, dashB]) assert.deepEqual(d.welcome.streams, [stream], JSON.stringify(d.welcome));
  assert.equal(dashC.welcome.principal, 'dash-c', JSON.stringify(dashC.welcome));

  const bodies = [
    sb.order(m, 'X-1', { total: 9.5, note: 'cross node 🚚' }),
    sb.order(m, 'X-2', { total: 1 }),
    sb.order(m, 'X-3', { total: 2 }),
  ];
  // Posted on n1 (not the owner), then on n3, then on the owner itself.
  const accepted = [];
  for (const [i, via] of [A, C, B].entries()) {
    const res = await cl.postOrderTo(via, bodies[i]);
    accepted.push(sb.assertAccepted(res, m, `POST /api/orders on ${via.id}`));
  }
  assert.deepEqual(accepted.map((a) => a.seq), [1, 2, 3], `seqs 1, 2, 3 whichever node took the order: ${JSON.stringify(accepted)}`);
  assert.equal(new Set(accepted.map((a) => a.id)).size, 3, 'ids are unique');

  for (const d of [dashC, dashB]) {
    const pushes = await d.ws.pushes(stream, 3, 8000);
    for (let i = 0; i < 3; i++) sb.assertOrderPush(pushes[i], accepted[i], bodies[i]);
    d.ws.ack(stream, 3);
  }
  assert.deepEqual(await dashC.ws.quietFor((f) => f.op === 'push', 300), [], 'each order pushed once');

  // A fresh client resuming from 0 is replayed the same entries on every node.
  const auditTok = await sb.devToken(C.url, 'audit', 'merchant', m);
  for (const n of c.nodes) cl.assertSameEntries(await cl.replayFrom0(n, auditTok, stream, 3, { registry: clients }), accepted, `replay on ${n.id}`);
});

cl.test('a customer on n1 chats with an agent on n3', async () => {
  const m = await cl.findMerchantOwnedBy(c.nodes, 'n2', { prefix: 'xc-' });
  const agentTok = await chat.agentToken(A.url, 'agent-x', m); // minted on n1, used on n3
  const custTok = await chat.customerToken(C.url, 'cust-x', m); // minted on n3, used on n1
  const INBOX = 'inbox:agent-x';

  const agent = await cl.connectClient(C, agentTok, { registry: clients });
  assert.ok(agent.welcome.streams.includes(INBOX), `the agent reads its inbox; ${JSON.stringify(agent.welcome)}`);

  const opened = await chat.mustOpen(A.url, custTok, m, { status: 201 });
  const conv = opened.id;
  const stream = `conv:${conv}`;

  const assigned = await chat.nextEntry(agent.ws, INBOX, 'assigned', { conv }, 10000);
  chat.assertPush(assigned, INBOX, 'assigned');
  assert.equal(assigned.data.customer, 'cust-x', JSON.stringify(assigned));
  await chat.nextEntry(agent.ws, stream, 'status', { status: 'in_progress', agent: 'agent-x' }, 8000);

  const customer = await cl.connectClient(A, custTok, { registry: clients });
  assert.ok(customer.welcome.streams.includes(stream), `the customer's welcome lists ${stream}; ${JSON.stringify(customer.welcome)}`);

  const text = 'hello from node one';
  const sent = await chat.send(customer.ws, conv, 'cx-1', text, 8000);
  const atAgent = await chat.messageAt(agent.ws, stream, sent.seq, 8000);
  chat.assertMessagePush(atAgent, conv, { seq: sent.seq, from: 'cust-x', role: 'customer', text, channel: 'web', client_id: 'cx-1' });
  const own = await chat.messageAt(customer.ws, stream, sent.seq, 8000);
  assert.equal(own.id, atAgent.id, 'one entry, one id, on both nodes');

  const reply = 'hello from node three';
  const replied = await chat.send(agent.ws, conv, 'ax-1', reply, 8000);
  assert.ok(replied.seq > sent.seq, `seqs grow: ${sent.seq} then ${replied.seq}`);
  const atCustomer = await chat.messageAt(customer.ws, stream, replied.seq, 8000);
  chat.assertMessagePush(atCustomer, conv, { seq: replied.seq, from: 'agent-x', role: 'agent', text: reply, channel: 'web', client_id: 'ax-1' });
  const atAgentToo = await chat.messageAt(agent.ws, stream, replied.seq, 8000);
  assert.equal(atAgentToo.id, atCustomer.id);

  const h = await chat.fullHistory(B.url, custTok, conv);
  assert.deepEqual(
    h.filter((x) => x.seq === sent.seq || x.seq === replied.seq).map((x) => [x.seq, x.id, x.from, x.text]),
    [
      [sent.seq, atAgent.id, 'cust-x', text],
      [replied.seq, atCustomer.id, 'agent-x', reply],
    ],
    `history read on n2: ${JSON.stringify(h)}`,
  );
});
