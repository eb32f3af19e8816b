// The customer-service chat end to end: a customer opens a conversation, it is routed to the
// online agent (dev mode: unenrolled agents get weight 1, max_concurrent 5), both exchange
// messages over WebSocket, the agent misses messages while disconnected and gets exactly those
// on resume, resolves, and a later customer message reopens and routes it again. A repeated
// `send` id answers the first seq and stores nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';

let d;
const clients = [];
let agentTok;
let custTok;
let conv; // conversation id
let stream; // conv:<id>
let agent; // alice's WsClient
let customer; // cust-a's WsClient
const INBOX = 'inbox:alice';
const isConvPush = (f) => f.op === 'push' && f.stream === stream;

before(async () => {
  d = await chat.startChat({
    routing: { strategy: 'weighted_least_load', offline_grace: '30s' },
    privacy: { mask_phone: 'true' },
    // Nothing is pushed again on a live connection during this file: every push seen is new.
    delivery: { ack_timeout: '60s' },
  });
  agentTok = await chat.agentToken(d.url, 'alice', 'm1');
  custTok = await chat.customerToken(d.url, 'cust-a', 'm1');
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('a new conversation is routed to the online agent, whose connection receives it at once', async () => {
  const a = await chat.participant(d.url, agentTok, { registry: clients });
  agent = a.ws;
  assert.ok(a.welcome.streams.includes(INBOX), `the agent reads its inbox; ${JSON.stringify(a.welcome)}`);
  assert.equal(a.welcome.principal, 'alice', JSON.stringify(a.welcome));

  const opened = await chat.mustOpen(d.url, custTok, 'm1', { status: 201 });
  conv = opened.id;
  stream = `conv:${conv}`;

  const assigned = await chat.nextEntry(agent, INBOX, 'assigned', { conv });
  chat.assertPush(assigned, INBOX, 'assigned');
  assert.equal(assigned.data.customer, 'cust-a', JSON.stringify(assigned));

  // Without a new hello the agent's connection now gets the conversation's entries.
  const status = await chat.nextEntry(agent, stream, 'status', { status: 'in_progress', agent: 'alice' });
  chat.assertPush(status, stream, 'status');

  const mine = await chat.conversations(d.url, agentTok, 'in_progress');
  const row = mine.find((c) => c.id === conv);
  assert.ok(row, `the agent lists it as in_progress; got ${JSON.stringify(mine)}`);
  assert.equal(row.status, 'in_progress');
  assert.equal(row.agent, 'alice');
  assert.equal(row.customer, 'cust-a');
  assert.ok(Number.isInteger(row.last_seq) && row.last_seq >= status.seq, JSON.stringify(row));

  // Opening again answers the open one with 200.
  const again = await chat.mustOpen(d.url, custTok, 'm1', { status: 200 });
  assert.equal(again.id, conv);
  assert.equal(again.status, 'in_progress');
});

test('customer and agent exchange messages over WebSocket', async () => {
  assert.ok(conv, 'the previous test opened the conversation');
  const c = await chat.participant(d.url, custTok, { registry: clients });
  customer = c.ws;
  assert.ok(c.welcome.streams.includes(stream), `the customer's welcome lists ${stream}; ${JSON.stringify(c.welcome)}`);
  assert.equal(c.welcome.principal, 'cust-a', JSON.stringify(c.welcome));

  const text = 'hello, my order has not arrived';
  const sent = await chat.send(customer, conv, 'm-1', text);
  const atAgent = await chat.messageAt(agent, stream, sent.seq);
  chat.assertMessagePush(atAgent, conv, { seq: sent.seq, from: 'cust-a', role: 'customer', text, channel: 'web', client_id: 'm-1' });
  const own = await chat.messageAt(customer, stream, sent.seq);
  chat.assertMessagePush(own, conv, { seq: sent.seq, from: 'cust-a', role: 'customer', text, channel: 'web', client_id: 'm-1' });
  assert.equal(own.id, atAgent.id, 'one entry, one id, whoever reads it');

  const reply = 'sorry about that, let me check';
  const replied = await chat.send(agent, conv, 'a-1', reply);
  assert.ok(replied.seq > sent.seq, `seqs grow: ${sent.seq} then ${replied.seq}`);
  const atCustomer = await chat.messageAt(customer, stream, replied.seq);
  chat.assertMessagePush(atCustomer, conv, { seq: replied.seq, from: 'alice', role: 'agent', text: reply, channel: 'web', client_id: 'a-1' });

  const h = await chat.fullHistory(d.url, custTok, conv);
  const msgs = h.filter((m) => m.seq === sent.seq || m.seq === replied.seq);
  assert.deepEqual(
    msgs.map((m) => [m.seq, m.from, m.role, m.text, m.channel]),
    [
      [sent.seq, 'cust-a', 'customer', text, 'web'],
      [replied.seq, 'alice', 'agent', reply, 'web'],
    ],
    JSON.stringify(h),
  );
  assert.equal(msgs[0].id, atAgent.id, 'the history carries the entry id');
  assert.ok(Number.isInteger(msgs[0].ts), JSON.stringify(msgs[0]));
});

test('the agent reconnects with resume and gets exactly the messages it missed', async () => {
  assert.ok(customer, 'the previous tests connected both');
  // Everything so far has arrived at the agent.
  await chat.eventually(() => chat.lastSeq(agent, stream) >= chat.lastSeq(customer, stream), 3000, 'the agent caught up');
  const convSeen = chat.lastSeq(agent, stream);
  const inboxSeen = chat.lastSeq(agent, INBOX);
  assert.ok(convSeen >= 1 && inboxSeen >= 1, `seen conv ${convSeen}, inbox ${inboxSeen}`);
  await agent.close();

  const m2 = await chat.send(customer, conv, 'm-2', 'are you there?');
  const m3 = await chat.send(customer, conv, 'm-3', 'hello?');

  const a = await chat.participant(d.url, agentTok, { registry: clients, resume: { [stream]: convSeen, [INBOX]: inboxSeen } });
  agent = a.ws;
  assert.ok(a.welcome.streams.includes(stream), `still assigned: the welcome lists ${stream}; ${JSON.stringify(a.welcome)}`);
  assert.ok(a.welcome.streams.includes(INBOX), JSON.stringify(a.welcome));
  const replay = await agent.pushes(stream, 2);
  assert.deepEqual(replay.map((f) => f.seq), [m2.seq, m3.seq], agent.describe());
  chat.assertMessagePush(replay[0], conv, { seq: m2.seq, from: 'cust-a', role: 'customer', text: 'are you there?', channel: 'web', client_id: 'm-2' });
  chat.assertMessagePush(replay[1], conv, { seq: m3.seq, from: 'cust-a', role: 'customer', text: 'hello?', channel: 'web', client_id: 'm-3' });
  assert.deepEqual(await agent.quietFor((f) => f.op === 'push', 400), [], `exactly the missed ones; ${agent.describe()}`);

  // Both ack what they have: later replays start from here.
  agent.ack(stream, m3.seq);
  customer.ack(stream, chat.lastSeq(customer, stream));
});

let resolvedSeq; // seq of the `resolved` status entry
let inboxBeforeResolve;

test('resolve: the customer gets status resolved, and the conversation is no longer in progress', async () => {
  assert.ok(agent && customer, 'the previous tests connected both');
  const before = chat.lastSeq(customer, stream);
  inboxBeforeResolve = chat.lastSeq(agent, INBOX);
  agent.send({ op: 'resolve', conv });
  const atCustomer = await chat.entryAfter(customer, stream, 'status', before, { status: 'resolved' });
  chat.assertPush(atCustomer, stream, 'status');
  resolvedSeq = atCustomer.seq;
  const open = await chat.conversations(d.url, agentTok, 'in_progress');
  assert.ok(!open.some((c) => c.id === conv), `no longer in progress; got ${JSON.stringify(open)}`);
  customer.ack(stream, chat.lastSeq(customer, stream));
});

test('resolve: the agent\'s connection gets the same status resolved entry', async () => {
  assert.ok(resolvedSeq, 'the previous test resolved the conversation');
  const atAgent = await chat.entryAfter(agent, stream, 'status', resolvedSeq - 1, { status: 'resolved' });
  assert.equal(atAgent.seq, resolvedSeq);
  const atCustomer = customer.frames.find((f) => f.op === 'push' && f.stream === stream && f.seq === resolvedSeq);
  assert.equal(atAgent.id, atCustomer.id);
});

test('a customer message after resolved reopens the conversation (unassigned) and routes it again', async () => {
  assert.ok(resolvedSeq, 'the conversation was resolved');
  agent.ack(stream, resolvedSeq);
  const reopening = await chat.send(customer, conv, 'm-4', 'one more thing');
  assert.ok(reopening.seq > resolvedSeq, `${reopening.seq} after ${resolvedSeq}`);
  const unassigned = await chat.entryAfter(customer, stream, 'status', resolvedSeq, (s) => s.status === 'unassigned' && s.agent === null);
  const routed = await chat.entryAfter(customer, stream, 'status', resolvedSeq, { status: 'in_progress', agent: 'alice' });
  assert.ok(routed.seq > unassigned.seq, `resolved ${resolvedSeq} → unassigned ${unassigned.seq} → in_progress ${routed.seq}`);
  const assigned = await chat.entryAfter(agent, INBOX, 'assigned', inboxBeforeResolve, { conv });
  assert.equal(assigned.data.customer, 'cust-a', JSON.stringify(assigned));
  const msg = await chat.messageAt(agent, stream, reopening.seq);
  chat.assertMessagePush(msg, conv, { seq: reopening.seq, from: 'cust-a', role: 'customer', text: 'one more thing', channel: 'web', client_id: 'm-4' });
  await chat.entryAfter(agent, stream, 'status', resolvedSeq, { status: 'in_progress', agent: 'alice' });
  const mine = await chat.conversations(d.url, agentTok, 'in_progress');
  assert.ok(mine.some((c) => c.id === conv && c.agent === 'alice'), `in progress again; got ${JSON.stringify(mine)}`);
  agent.ack(stream, chat.lastSeq(agent, stream));
  customer.ack(stream, chat.lastSeq(customer, stream));
});

test('POST /api/conversations on a resolved conversation reopens it with 201 and routes it again', async () => {
  assert.ok(agent && customer, 'the previous tests connected both');
  const before = chat.lastSeq(customer, stream);
  const inboxBefore = chat.lastSeq(agent, INBOX);
  agent.send({ op: 'resolve', conv });
  const resolved = await chat.entryAfter(customer, stream, 'status', before, { status: 'resolved' });
  const reopened = await chat.mustOpen(d.url, custTok, 'm1', { status: 201 });
  assert.equal(reopened.id, conv);
  await chat.entryAfter(customer, stream, 'status', resolved.seq, (s) => s.status === 'unassigned' && s.agent === null);
  await chat.entryAfter(customer, stream, 'status', resolved.seq, { status: 'in_progress', agent: 'alice' });
  await chat.entryAfter(agent, INBOX, 'assigned', inboxBefore, { conv });
  await chat.entryAfter(agent, stream, 'status', resolved.seq, { status: 'in_progress', agent: 'alice' });
  agent.ack(stream, chat.lastSeq(agent, stream));
  customer.ack(stream, chat.lastSeq(customer, stream));
});

test('a repeated send id answers the first seq and stores nothing (WebSocket and HTTP)', async () => {
  // A conversation of its own, so that this does not depend on the tests above.
  const tokD = await chat.customerToken(d.url, 'cust-d', 'm1');
  const agentD = (await chat.participant(d.url, agentTok, { registry: clients, autoAck: true })).ws;
  const convD = (await chat.mustOpen(d.url, tokD, 'm1', { status: 201 })).id;
  const streamD = `conv:${convD}`;
  await chat.nextEntry(agentD, INBOX, 'assigned', { conv: convD });
  const cust = (await chat.participant(d.url, tokD, { registry: clients, autoAck: true })).ws;
  const isPushD = (f) => f.op === 'push' && f.stream === streamD;

  const first = await chat.send(cust, convD, 'dup-1', 'only once');
  await chat.messageAt(agentD, streamD, first.seq);
  await chat.messageAt(cust, streamD, first.seq);

  const again = await chat.send(cust, convD, 'dup-1', 'only once');
  assert.equal(again.seq, first.seq, 'the same sent seq');
  const http = chat.assertPosted(await chat.postMessage(d.url, tokD, convD, 'dup-1', 'only once'), convD, 'the same id over HTTP');
  assert.equal(http.seq, first.seq, 'the same seq over HTTP');
  const newer = (f) => isPushD(f) && f.seq > first.seq;
  assert.deepEqual(await agentD.quietFor(newer, 400), [], `nothing new pushed to the agent; ${agentD.describe()}`);
  assert.deepEqual(await cust.quietFor(newer, 0), [], `nothing new pushed to the customer; ${cust.describe()}`);

  // The same over HTTP first.
  const h1 = chat.assertPosted(await chat.postMessage(d.url, tokD, convD, 'dup-h', 'http once'), convD);
  assert.equal(h1.seq, first.seq + 1, 'nothing was stored by the repeats');
  const h2 = chat.assertPosted(await chat.postMessage(d.url, tokD, convD, 'dup-h', 'http once'), convD);
  assert.equal(h2.seq, h1.seq);
  const viaWs = await chat.send(cust, convD, 'dup-h', 'http once');
  assert.equal(viaWs.seq, h1.seq, 'a WebSocket send with an id used over HTTP answers the first seq');
  const pushed = await chat.messageAt(agentD, streamD, h1.seq);
  assert.equal(pushed.data.client_id, 'dup-h', JSON.stringify(pushed));

  // The next new message follows at once: nothing was stored in between.
  const next = await chat.send(cust, convD, 'dup-2', 'next');
  assert.equal(next.seq, h1.seq + 1, `seq after ${h1.seq}`);
  const h = await chat.fullHistory(d.url, tokD, convD);
  assert.equal(h.filter((m) => m.text === 'only once').length, 1, JSON.stringify(h));
  assert.equal(h.filter((m) => m.text === 'http once').length, 1, JSON.stringify(h));
  assert.equal(agentD.frames.filter((f) => isPushD(f) && f.kind === 'message').length, 3, `three messages pushed; ${agentD.describe()}`);
  await agentD.close();
});
