// A service principal over limits.principal_rate/burst gets 429 rate_limited with Retry-After,
// and the refused orders are not stored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
let ws;

before(async () => {
  d = await sb.start({ args: ['--set', 'limits.principal_rate=5', '--set', 'limits.principal_burst=5'] });
});
after(async () => {
  ws?.terminate();
  await d?.close();
});

test('a burst of 20 orders: some 429 with Retry-After, only the accepted ones stored', async () => {
  ({ ws } = await sb.connectMerchant(d.url, await sb.devToken(d.url, 'alice', 'merchant', 'm1')));
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m1', `B-${i + 1}`))),
  );
  const ok = results.filter((r) => r.status === 202);
  const limited = results.filter((r) => r.status === 429);
  assert.equal(ok.length + limited.length, 20, results.map((r) => `${r.status} ${r.text}`).join('\n'));
  assert.ok(limited.length >= 1, 'some are rate limited');
  assert.ok(ok.length >= 1 && ok.length <= 10, `about the burst of 5 accepted, got ${ok.length}`);
  for (const r of limited) {
    sb.assertError(r, 429, 'rate_limited');
    const retry = r.headers.get('retry-after');
    assert.match(retry ?? '', /^\d+$/, `Retry-After in seconds, got ${retry}`);
  }

  const seqs = ok.map((r) => r.body.seq).sort((a, b) => a - b);
  assert.deepEqual(seqs, Array.from({ length: ok.length }, (_, i) => i + 1), 'accepted orders have seqs 1..n');
  const pushes = await ws.pushes('orders:m1', ok.length);
  assert.deepEqual(pushes.map((p) => p.seq), seqs);
  assert.deepEqual(await ws.quietFor((f) => f.op === 'push', 300), [], 'refused orders are not pushed');

  // Once the bucket refills, the next order continues right after the accepted ones.
  const retryAfter = Math.max(...limited.map((r) => Number(r.headers.get('retry-after'))));
  let next;
  for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
    next = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m1', 'B-next'));
    if (next.status !== 429) break;
    await sb.sleep(Math.min(1000, Math.max(200, retryAfter * 1000)));
  }
  assert.equal(sb.assertAccepted(next, 'm1').seq, ok.length + 1);
});

test('another principal is not limited by the first one\'s burst', async () => {
  const svc = await sb.devToken(d.url, 'other-system', 'service', 'm2');
  const res = await sb.postOrder(d.url, svc, sb.order('m2', 'X-1'));
  sb.assertAccepted(res, 'm2');
});
