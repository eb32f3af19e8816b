// /healthz, /readyz and /metrics answer; SIGTERM closes WebSockets with 1001 and exits 0 fast.
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

test('/healthz and /readyz answer 200', async () => {
  const h = await sb.request(`${d.url}/healthz`);
  assert.equal(h.status, 200, h.text);
  assert.deepEqual(h.body, { status: 'ok' });
  const r = await sb.request(`${d.url}/readyz`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { status: 'ready' });
});

test('/metrics counts received orders in sb_orders_received_total', async () => {
  const res = await sb.request(`${d.url}/metrics`);
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const before = (await sb.metric(d.url, 'sb_orders_received_total')) ?? 0;
  assert.equal(before, 0, 'no order yet');
  await sb.postOrders(d.url, sb.DEV_SERVICE_KEY, [sb.order('m1', 'M-1'), sb.order('m1', 'M-2'), sb.order('m2', 'M-3')]);
  assert.equal(await sb.metric(d.url, 'sb_orders_received_total'), 3);
});

test('SIGTERM: WebSocket clients see close 1001, the process exits 0 within 5 s', async () => {
  const ws1 = (await sb.connectMerchant(d.url, await sb.devToken(d.url, 'alice', 'merchant', 'm1'))).ws;
  const ws2 = (await sb.connectMerchant(d.url, await sb.devToken(d.url, 'bob', 'merchant', 'm2'))).ws;
  clients.push(ws1, ws2);
  const exit = await d.stop('SIGTERM', 5000);
  const closes = await Promise.all([ws1, ws2].map((ws) => sb.withTimeout(ws.closed, 1000, 'websocket close')));
  assert.deepEqual(closes.map((c) => c.code), [1001, 1001], JSON.stringify(closes));
  assert.equal(exit.timedOut, false, `still running 5 s after SIGTERM; stderr: ${d.stderr()}`);
  assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}; stderr: ${d.stderr()}`);
  assert.ok(exit.elapsedMs < 5000, `${exit.elapsedMs} ms`);
});
