// The long-poll fallback for chat: a customer's GET /api/poll?stream=conv:<id> (Bearer) blocks
// until the agent writes, answers with that message, and the returned cursor acks it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';

let d;
const clients = [];
let conv;
let stream;
let custTok;
let agent;

before(async () => {
  d = await chat.startChat({ privacy: { mask_phone: 'true' } });
  const agentTok = await chat.agentToken(d.url, 'alice', 'm1');
  custTok = await chat.customerToken(d.url, 'cust-p', 'm1');
  agent = (await chat.participant(d.url, agentTok, { registry: clients, autoAck: true })).ws;
  conv = (await chat.mustOpen(d.url, custTok, 'm1', { status: 201 })).id;
  stream = `conv:${conv}`;
  await chat.nextEntry(agent, 'inbox:alice', 'assigned', { conv });
  await chat.nextEntry(agent, stream, 'status', { status: 'in_progress', agent: 'alice' });

  // The customer has seen and acked everything so far (the assignment's status entries), so
  // a poll has nothing to answer at once.
  const c = (await chat.participant(d.url, custTok, { registry: clients })).ws;
  const st = await chat.nextEntry(c, stream, 'status', { status: 'in_progress', agent: 'alice' });
  c.ack(stream, st.seq);
  await c.close();
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('a poll on conv:<id> blocks until the agent writes, then returns that message; the cursor acks it', async () => {
  const pending = chat.poll(d.url, custTok, { stream, timeout: 10 }, 20000);
  await sb.sleep(300);
  const reply = 'your parcel left the depot, call 13812345678 if needed';
  const sent = await chat.send(agent, conv, 'a-poll-1', reply);
  const res = await pending;
  assert.equal(res.status, 200, res.text);
  assert.ok(res.ms >= 250, `the poll waited for the message (${res.ms} ms)`);
  assert.ok(res.ms < 5000, `answered as soon as the message existed, not at the timeout (${res.ms} ms)`);
  assert.ok(Array.isArray(res.body?.entries), res.text);
  assert.equal(res.body.entries.length, 1, res.text);
  const [e] = res.body.entries;
  assert.equal(e.stream, stream, res.text);
  assert.equal(e.seq, sent.seq, res.text);
  assert.equal(e.kind, 'message', res.text);
  assert.ok(typeof e.id === 'string' && e.id.length > 0, res.text);
  assert.ok(Number.isInteger(e.ts), res.text);
  assert.equal(e.data.from, 'alice', res.text);
  assert.equal(e.data.role, 'agent', res.text);
  assert.equal(e.data.text, reply, `the customer gets the text as written; ${res.text}`);
  assert.equal(e.data.client_id, 'a-poll-1', res.text);
  assert.equal(typeof res.body.cursor, 'string', res.text);
  assert.ok(res.body.cursor.length > 0, res.text);

  // The returned cursor acks: polling with it waits for the timeout and answers [].
  const t0 = Date.now();
  const empty = await chat.poll(d.url, custTok, { cursor: res.body.cursor, timeout: 1 }, 10000);
  const ms = Date.now() - t0;
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.body.entries, [], empty.text);
  assert.ok(ms >= 800 && ms < 3000, `answered [] after about 1 s (${ms} ms)`);

  // …and a WebSocket hello without resume replays nothing of it.
  const { ws } = await chat.participant(d.url, custTok, { registry: clients });
  assert.deepEqual(await ws.quietFor((f) => f.op === 'push' && f.stream === stream, 400), [], ws.describe());
  await ws.close();
});

test('the next poll with the cursor returns the following message, and only it', async () => {
  const first = await chat.poll(d.url, custTok, { stream, timeout: 1 }, 10000);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.body.entries, [], `everything was acked; ${first.text}`);
  const pending = chat.poll(d.url, custTok, { cursor: first.body.cursor, timeout: 10 }, 20000);
  await sb.sleep(200);
  const sent = await chat.send(agent, conv, 'a-poll-2', 'anything else?');
  const res = await pending;
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.entries.map((e) => [e.seq, e.kind, e.data?.text]), [[sent.seq, 'message', 'anything else?']], res.text);
});

test('a poll with ?token= works too, and one without a token is refused with 401', async () => {
  const res = await sb.request(`${d.url}/api/poll?stream=${encodeURIComponent(stream)}&timeout=1&token=${encodeURIComponent(custTok)}`, { timeoutMs: 10000 });
  assert.equal(res.status, 200, res.text);
  sb.assertError(await chat.poll(d.url, null, { stream, timeout: 1 }), 401, 'unauthorized');
});
