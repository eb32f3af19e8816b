// Reconnecting replays exactly what the client has not got: after `resume` seqs, or, without
// resume, after the principal's last ack; unacked entries come again on every reconnect.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
const clients = [];
const connect = async (token, resume) => {
  const c = await sb.connectMerchant(d.url, token, resume);
  clients.push(c.ws);
  return c.ws;
};
const post = (merchant, from, to) =>
  sb.postOrders(
    d.url,
    sb.DEV_SERVICE_KEY,
    Array.from({ length: to - from + 1 }, (_, i) => sb.order(merchant, `O-${from + i}`, { n: from + i })),
  );
const seqsOf = (frames) => frames.map((f) => f.seq);
const idsOf = (frames) => frames.map((f) => f.id);
const isPush = (f) => f.op === 'push';

before(async () => {
  d = await sb.start();
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('hello with resume {"orders:m1":3} replays exactly 4, 5, 6', async () => {
  const token = await sb.devToken(d.url, 'alice', 'merchant', 'm1');
  let ws = await connect(token);
  const first = await post('m1', 1, 3);
  assert.deepEqual(seqsOf(first), [1, 2, 3]);
  assert.deepEqual(seqsOf(await ws.pushes('orders:m1', 3)), [1, 2, 3]);
  ws.ack('orders:m1', 3);
  await ws.close();

  const later = await post('m1', 4, 6);
  ws = await connect(token, { 'orders:m1': 3 });
  const replay = await ws.pushes('orders:m1', 3);
  assert.deepEqual(seqsOf(replay), [4, 5, 6]);
  assert.deepEqual(idsOf(replay), idsOf(later));
  assert.deepEqual(replay.map((p) => p.data.order_id), ['O-4', 'O-5', 'O-6']);
  assert.deepEqual(await ws.quietFor(isPush, 300), [], 'nothing beyond 4..6');
  await ws.close();
});

test('resume wins over the ack cursor: acked 1, resume {"orders:m5":3} → exactly 4, 5, 6', async () => {
  const token = await sb.devToken(d.url, 'erin', 'merchant', 'm5');
  let ws = await connect(token);
  await post('m5', 1, 3);
  assert.deepEqual(seqsOf(await ws.pushes('orders:m5', 3)), [1, 2, 3]);
  ws.ack('orders:m5', 1);
  await ws.close();

  const later = await post('m5', 4, 6);
  ws = await connect(token, { 'orders:m5': 3 });
  const replay = await ws.pushes('orders:m5', 3);
  assert.deepEqual(seqsOf(replay), [4, 5, 6], ws.describe());
  assert.deepEqual(idsOf(replay), idsOf(later));
  assert.deepEqual(await ws.quietFor(isPush, 300), [], 'nothing beyond 4..6');
  await ws.close();
});

test('hello without resume replays exactly what follows the principal\'s ack (4, 5, 6)', async () => {
  const token = await sb.devToken(d.url, 'bob', 'merchant', 'm2');
  let ws = await connect(token);
  await post('m2', 1, 3);
  assert.deepEqual(seqsOf(await ws.pushes('orders:m2', 3)), [1, 2, 3]);
  ws.ack('orders:m2', 3);
  await ws.close();

  const later = await post('m2', 4, 6);
  ws = await connect(token);
  const replay = await ws.pushes('orders:m2', 3);
  assert.deepEqual(seqsOf(replay), [4, 5, 6]);
  assert.deepEqual(idsOf(replay), idsOf(later));
  assert.deepEqual(await ws.quietFor(isPush, 300), [], 'nothing beyond 4..6');
  await ws.close();
});

test('unacked entries are redelivered on every reconnect, acked ones never', async () => {
  const token = await sb.devToken(d.url, 'carol', 'merchant', 'm3');
  let ws = await connect(token);
  const posted = await post('m3', 1, 3);
  assert.deepEqual(seqsOf(await ws.pushes('orders:m3', 3)), [1, 2, 3]);
  ws.ack('orders:m3', 1);
  await ws.close();

  for (let round = 0; round < 2; round++) {
    ws = await connect(token);
    const again = await ws.pushes('orders:m3', 2);
    assert.deepEqual(seqsOf(again), [2, 3], `reconnect ${round + 1}`);
    assert.deepEqual(idsOf(again), idsOf(posted.slice(1)));
    assert.deepEqual(await ws.quietFor(isPush, 300), [], `reconnect ${round + 1}: only 2 and 3`);
    await ws.close(); // no ack
  }

  ws = await connect(token);
  assert.deepEqual(seqsOf(await ws.pushes('orders:m3', 2)), [2, 3]);
  ws.ack('orders:m3', 3);
  await ws.close();
  ws = await connect(token);
  assert.deepEqual(await ws.quietFor(isPush, 300), [], 'everything acked: no replay');
  await ws.close();
});

test('an ack from one tab counts for the principal: another tab reconnecting does not get it', async () => {
  const token = await sb.devToken(d.url, 'dave', 'merchant', 'm4');
  const tab1 = await connect(token);
  const tab2 = await connect(token);
  await post('m4', 1, 2);
  assert.deepEqual(seqsOf(await tab1.pushes('orders:m4', 2)), [1, 2]);
  assert.deepEqual(seqsOf(await tab2.pushes('orders:m4', 2)), [1, 2]);
  tab1.ack('orders:m4', 2);
  await tab1.close();
  await tab2.close();
  const ws = await connect(token);
  assert.deepEqual(await ws.quietFor(isPush, 300), []);
  await ws.close();
});

test('an ack above the last seq is clamped: later orders are still delivered', async () => {
  const token = await sb.devToken(d.url, 'fred', 'merchant', 'm6');
  let ws = await connect(token);
  await post('m6', 1, 1);
  assert.deepEqual(seqsOf(await ws.pushes('orders:m6', 1)), [1]);
  ws.ack('orders:m6', 999);
  await ws.close();
  const later = await post('m6', 2, 2);
  ws = await connect(token);
  const replay = await ws.pushes('orders:m6', 1);
  assert.deepEqual(idsOf(replay), idsOf(later), 'seq 2 was not acked by the ack of 999');
  assert.deepEqual(await ws.quietFor(isPush, 300), []);
  await ws.close();
});
