// A 202 means durable: kill -9 right after it, restart on the same data dir, and the order is
// delivered with its seq and id; the next order continues the seq; its Idempotency-Key holds.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
const clients = [];

before(async () => {
  d = await sb.start();
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('orders acknowledged with 202 survive kill -9', async () => {
  const bodies = [sb.order('m1', 'K-1', { total: 1 }), sb.order('m1', 'K-2', { total: 2 }), sb.order('m1', 'K-3', { total: 3 })];
  const accepted = await sb.postOrders(d.url, sb.DEV_SERVICE_KEY, bodies.slice(0, 2));
  const r3 = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, bodies[2], { 'Idempotency-Key': 'crash-key' });
  const killed = await d.kill9(); // right after the 202
  accepted.push(sb.assertAccepted(r3, 'm1'));
  assert.equal(killed.signal, 'SIGKILL', JSON.stringify(killed));
  assert.deepEqual(accepted.map((a) => a.seq), [1, 2, 3]);

  await d.restart();
  const token = await sb.devToken(d.url, 'alice', 'merchant', 'm1');
  const { ws } = await sb.connectMerchant(d.url, token);
  clients.push(ws);
  const replay = await ws.pushes('orders:m1', 3);
  for (let i = 0; i < 3; i++) sb.assertOrderPush(replay[i], accepted[i], bodies[i]);
  assert.deepEqual(await ws.quietFor((f) => f.op === 'push', 300), []);

  const retry = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, bodies[2], { 'Idempotency-Key': 'crash-key' });
  assert.equal(retry.status, 202, retry.text);
  assert.deepEqual(retry.body, r3.body, 'the Idempotency-Key survives the crash');
  assert.equal(retry.headers.get('idempotent-replayed'), 'true');

  const next = sb.assertAccepted(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m1', 'K-4')), 'm1');
  assert.equal(next.seq, 4, 'the seq continues');
  assert.ok(!accepted.some((a) => a.id === next.id), 'ids stay unique across restarts');
  assert.equal((await ws.nextPush('orders:m1')).id, next.id);
});

test('acks survive kill -9 too', async () => {
  const token = await sb.devToken(d.url, 'bob', 'merchant', 'm2');
  let { ws } = await sb.connectMerchant(d.url, token);
  clients.push(ws);
  const accepted = await sb.postOrders(d.url, sb.DEV_SERVICE_KEY, [sb.order('m2', 'A-1'), sb.order('m2', 'A-2')]);
  await ws.pushes('orders:m2', 2);
  ws.ack('orders:m2', 1);
  await ws.close();
  await d.kill9();
  await d.restart();
  ({ ws } = await sb.connectMerchant(d.url, token));
  clients.push(ws);
  // At-least-once allows seq 1 again only if its ack was not yet durable; seq 2 must come.
  const got = await ws.next((f) => f.op === 'push' && f.seq === 2, 3000);
  assert.equal(got.id, accepted[1].id);
});
