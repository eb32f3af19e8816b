// An order posted to POST /api/orders reaches every open tab of its merchant, and only those;
// 20 concurrent orders get seqs 1..20 exactly once and are pushed in seq order.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
const clients = [];
const track = (c) => (clients.push(c.ws ?? c), c);

before(async () => {
  d = await sb.start();
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

test('order with the dev service key is pushed to both tabs of m1 and not to m2', async () => {
  const alice = await sb.devToken(d.url, 'alice', 'merchant', 'm1');
  const bob = await sb.devToken(d.url, 'bob', 'merchant', 'm2');
  const tab1 = track(await sb.connectMerchant(d.url, alice));
  const tab2 = track(await sb.connectMerchant(d.url, alice));
  const other = track(await sb.connectMerchant(d.url, bob));
  for (const t of [tab1, tab2]) {
    assert.equal(t.welcome.principal, 'alice', JSON.stringify(t.welcome));
    assert.equal(typeof t.welcome.node, 'string', JSON.stringify(t.welcome));
    assert.deepEqual(t.welcome.streams, ['orders:m1'], JSON.stringify(t.welcome));
  }
  assert.deepEqual(other.welcome.streams, ['orders:m2'], JSON.stringify(other.welcome));

  const body = { merchant: 'm1', order_id: 'A-1', total: 12.5, items: [{ sku: 'noodles', qty: 2 }], note: '加辣 🌶', paid: true, coupon: null };
  const res = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, body);
  const accepted = sb.assertAccepted(res, 'm1');
  assert.equal(accepted.seq, 1, res.text);

  for (const t of [tab1, tab2]) sb.assertOrderPush(await t.ws.nextPush('orders:m1'), accepted, body);
  assert.deepEqual(await other.ws.quietFor((f) => f.op === 'push', 300), [], 'm2 must not see an order of m1');
});

test('order with a service JWT from /api/dev/token is pushed the same way', async () => {
  const svc = await sb.devToken(d.url, 'order-system', 'service', 'm1');
  const svcAll = await sb.devToken(d.url, 'order-hub', 'service', '*');
  const alice = await sb.devToken(d.url, 'alice', 'merchant', 'm1');
  const bob = await sb.devToken(d.url, 'bob', 'merchant', 'm2');
  // Acked earlier pushes are not the point here: match the new order by its id.
  const tab = track(await sb.connectMerchant(d.url, alice));
  const other = track(await sb.connectMerchant(d.url, bob));

  const body = sb.order('m1', 'A-2', { total: 3 });
  const accepted = sb.assertAccepted(await sb.postOrder(d.url, svc, body), 'm1');
  assert.equal(accepted.seq, 2);
  sb.assertOrderPush(await tab.ws.next((f) => f.op === 'push' && f.id === accepted.id), accepted, body);

  const body2 = sb.order('m2', 7, { total: 4 });
  const accepted2 = sb.assertAccepted(await sb.postOrder(d.url, svcAll, body2), 'm2');
  assert.equal(accepted2.seq, 1);
  sb.assertOrderPush(await other.ws.next((f) => f.op === 'push' && f.id === accepted2.id), accepted2, body2);
  assert.deepEqual(await tab.ws.quietFor((f) => f.op === 'push' && f.stream !== 'orders:m1', 300), []);
});

test('20 concurrent orders get seqs 1..20 exactly once and are pushed in seq order', async () => {
  const carol = await sb.devToken(d.url, 'carol', 'merchant', 'm3');
  const tab = track(await sb.connectMerchant(d.url, carol));
  const bodies = Array.from({ length: 20 }, (_, i) => sb.order('m3', `C-${i + 1}`, { n: i + 1 }));
  const results = await Promise.all(bodies.map((b) => sb.postOrder(d.url, sb.DEV_SERVICE_KEY, b)));
  const accepted = results.map((r) => sb.assertAccepted(r, 'm3'));

  const seqs = accepted.map((a) => a.seq).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
  assert.equal(new Set(accepted.map((a) => a.id)).size, 20, 'ids are unique');

  const bySeq = new Map(accepted.map((a, i) => [a.seq, { a, body: bodies[i] }]));
  const pushes = await tab.ws.pushes('orders:m3', 20, 10000);
  assert.deepEqual(pushes.map((p) => p.seq), seqs, 'pushes in seq order');
  for (const p of pushes) sb.assertOrderPush(p, bySeq.get(p.seq).a, bySeq.get(p.seq).body);
  assert.deepEqual(await tab.ws.quietFor((f) => f.op === 'push', 300), [], 'each order pushed once');
});
