// A retried POST /api/orders with the same Idempotency-Key answers the first 202 again, marked
// Idempotent-Replayed, and stores nothing: one push, and the next order's seq is +1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
const clients = [];
const listen = async (sub, merchant) => {
  const token = await sb.devToken(d.url, sub, 'merchant', merchant);
  const { ws } = await sb.connectMerchant(d.url, token);
  clients.push(ws);
  return ws;
};
const isPush = (f) => f.op === 'push';

before(async () => {
  d = await sb.start();
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('the same Idempotency-Key twice: same 202, replay header, one push, next seq +1', async () => {
  const ws = await listen('alice', 'm1');
  const body = sb.order('m1', 'I-1', { total: 1 });
  const r1 = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, body, { 'Idempotency-Key': 'key-I-1' });
  const first = sb.assertAccepted(r1, 'm1');
  assert.notEqual(r1.headers.get('idempotent-replayed'), 'true', 'the first answer is not a replay');

  const r2 = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, body, { 'Idempotency-Key': 'key-I-1' });
  assert.equal(r2.status, 202, r2.text);
  assert.deepEqual(r2.body, r1.body);
  assert.equal(r2.headers.get('idempotent-replayed'), 'true');

  sb.assertOrderPush(await ws.nextPush('orders:m1'), first, body);
  assert.deepEqual(await ws.quietFor(isPush, 300), [], 'one push only');

  const r3 = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m1', 'I-2'), { 'Idempotency-Key': 'key-I-2' });
  assert.equal(sb.assertAccepted(r3, 'm1').seq, first.seq + 1);
  assert.equal((await ws.nextPush('orders:m1')).seq, first.seq + 1);
});

test('concurrent requests with one Idempotency-Key store one order', async () => {
  const ws = await listen('bob', 'm2');
  const body = sb.order('m2', 'I-1');
  const results = await Promise.all(
    Array.from({ length: 10 }, () => sb.postOrder(d.url, sb.DEV_SERVICE_KEY, body, { 'Idempotency-Key': 'key-same' })),
  );
  const shown = results.map((r) => `${r.status} replayed=${r.headers.get('idempotent-replayed')} ${r.text}`).join('\n');
  for (const r of results) assert.equal(r.status, 202, shown);
  for (const r of results) assert.deepEqual(r.body, results[0].body, `all answers are the first order's 202:\n${shown}`);
  assert.equal(results.filter((r) => r.headers.get('idempotent-replayed') !== 'true').length, 1, `exactly one original:\n${shown}`);
  assert.equal(results[0].body.seq, 1);
  await ws.nextPush('orders:m2');
  assert.deepEqual(await ws.quietFor(isPush, 300), [], 'one push only');
  const next = sb.assertAccepted(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m2', 'I-2')), 'm2');
  assert.equal(next.seq, 2);
});

test('an Idempotency-Key is scoped to its merchant', async () => {
  const r1 = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m3', 'S-1'), { 'Idempotency-Key': 'shared-key' });
  const r2 = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m4', 'S-1'), { 'Idempotency-Key': 'shared-key' });
  const a1 = sb.assertAccepted(r1, 'm3');
  const a2 = sb.assertAccepted(r2, 'm4');
  assert.notEqual(a1.id, a2.id);
  assert.notEqual(r2.headers.get('idempotent-replayed'), 'true');
});
