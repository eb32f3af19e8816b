// GET /api/poll: blocks until an entry exists, times out with [] after `timeout` seconds, and
// the cursor passed back is the ack.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
let token;
const clients = [];
const poll = (query, auth = token) =>
  sb.request(`${d.url}/api/poll?${query}`, { headers: auth ? { authorization: `Bearer ${auth}` } : {}, timeoutMs: 20000 });

before(async () => {
  d = await sb.start();
  token = await sb.devToken(d.url, 'pat', 'merchant', 'm1');
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('a poll blocks until an order arrives, then the cursor acks it', async () => {
  const body = sb.order('m1', 'P-1', { total: 8 });
  const pending = poll('timeout=10');
  await sb.sleep(200);
  const accepted = sb.assertAccepted(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, body), 'm1');
  const res = await pending;
  assert.equal(res.status, 200, res.text);
  assert.ok(res.ms >= 150, `the poll waited for the order (${res.ms} ms)`);
  assert.ok(res.ms < 5000, `answered as soon as the order existed, not at the timeout (${res.ms} ms)`);
  assert.equal(res.body.entries.length, 1, res.text);
  const [e] = res.body.entries;
  assert.equal(e.stream, 'orders:m1');
  assert.equal(e.seq, accepted.seq);
  assert.equal(e.id, accepted.id);
  assert.equal(e.kind, 'order');
  assert.ok(Number.isInteger(e.ts), res.text);
  assert.deepEqual(e.data, body);
  assert.equal(typeof res.body.cursor, 'string', res.text);
  assert.ok(res.body.cursor.length > 0, res.text);

  const t0 = Date.now();
  const empty = await poll(`cursor=${encodeURIComponent(res.body.cursor)}&timeout=1`);
  const ms = Date.now() - t0;
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.body.entries, [], empty.text);
  assert.ok(ms >= 800 && ms < 3000, `answered [] after about 1 s (${ms} ms)`);
  assert.equal(typeof empty.body.cursor, 'string', empty.text);

  // The cursor was the ack: a WebSocket hello without resume replays nothing.
  const { ws } = await sb.connectMerchant(d.url, token);
  clients.push(ws);
  assert.deepEqual(await ws.quietFor((f) => f.op === 'push', 300), [], ws.describe());
  await ws.close();
});

test('a poll without a cursor starts after the principal\'s last ack', async () => {
  const a2 = sb.assertAccepted(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m1', 'P-2')), 'm1');
  const res = await poll('timeout=5');
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.entries.map((e) => e.id), [a2.id], res.text);
  assert.ok(res.ms < 2000, `entries existed: no waiting (${res.ms} ms)`);
});

test('a poll accepts ?token= and refuses a missing token with 401', async () => {
  const other = await sb.devToken(d.url, 'quinn', 'merchant', 'm9');
  const res = await sb.request(`${d.url}/api/poll?timeout=1&token=${encodeURIComponent(other)}`, { timeoutMs: 10000 });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.entries, []);
  sb.assertError(await poll('timeout=1', null), 401, 'unauthorized');
});
