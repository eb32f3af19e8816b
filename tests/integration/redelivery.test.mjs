// On a live connection an unacked entry is pushed again after delivery.ack_timeout; once acked
// it never comes again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
const clients = [];

before(async () => {
  // Long enough that an ack sent right after the pushes always lands before the timeout, even
  // on a loaded 2-core machine with a sanitizer build (at 300 ms seq 1 was once retried
  // before its ack was read).
  d = await sb.start({ args: ['--set', 'delivery.ack_timeout=1s'] });
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('an unacked push is redelivered with the same id; after the ack it stops', async () => {
  const token = await sb.devToken(d.url, 'alice', 'merchant', 'm1');
  const { ws } = await sb.connectMerchant(d.url, token);
  clients.push(ws);
  const body = sb.order('m1', 'R-1', { total: 9 });
  const accepted = sb.assertAccepted(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, body), 'm1');

  const first = await ws.next((f) => f.op === 'push' && f.id === accepted.id, 3000);
  const t0 = Date.now();
  sb.assertOrderPush(first, accepted, body);
  const again = await ws.next((f) => f.op === 'push' && f.id === accepted.id, 3000, 'the same id again');
  sb.assertOrderPush(again, accepted, body);
  assert.ok(Date.now() - t0 >= 500, `redelivered after the ack timeout, not at once (${Date.now() - t0} ms)`);

  ws.ack('orders:m1', accepted.seq);
  const late = await ws.quietFor((f) => f.op === 'push' && f.id === accepted.id, 1200);
  assert.deepEqual(late, [], 'acked: never pushed again');
});

test('only the unacked entry is retried', async () => {
  const token = await sb.devToken(d.url, 'bob', 'merchant', 'm2');
  const { ws } = await sb.connectMerchant(d.url, token);
  clients.push(ws);
  const [a1, a2] = await sb.postOrders(d.url, sb.DEV_SERVICE_KEY, [sb.order('m2', 'R-1'), sb.order('m2', 'R-2')]);
  const got = await ws.pushes('orders:m2', 2);
  assert.deepEqual(got.map((f) => f.id), [a1.id, a2.id]);
  ws.ack('orders:m2', a1.seq);

  const retried = await ws.next((f) => f.op === 'push', 3000, 'a retried push');
  assert.equal(retried.id, a2.id, `only seq 2 is retried, got ${JSON.stringify(retried)}`);
  ws.ack('orders:m2', a2.seq);
  assert.deepEqual(await ws.quietFor((f) => f.op === 'push', 1000), []);
});
