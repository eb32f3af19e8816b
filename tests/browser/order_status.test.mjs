// The per-order status a merchant sets on the dashboard: new → accepted → done, stored on the
// server (another dashboard sees each step live, a reload reads it from history), and the
// endpoint refusing everyone but the merchant and every bad input with a JSON error.
// Run: cd tests/browser && npm ci && node --test order_status.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { devToken, openPage, postJson, requestJson, useDaemonAndBrowser } from './lib/harness.mjs';
import { loginAs } from './lib/login.mjs';

const MERCHANT = 'm5';

const fx = useDaemonAndBrowser();

async function postOrder(orderId) {
  const service = await devToken(fx.daemon, 'shop', 'service', MERCHANT);
  const r = await postJson(fx.daemon, '/api/orders', { merchant: MERCHANT, order_id: orderId, total: 3 },
    { Authorization: `Bearer ${service}` });
  assert.equal(r.status, 202, JSON.stringify(r));
  return r.body;
}

async function dashboard(user) {
  const person = await openPage(fx.browser, { viewport: { width: 1280, height: 800 } });
  await person.page.goto(`${fx.daemon.base}/dashboard.html`);
  await loginAs(person.page, 'merchant', { merchant: MERCHANT, user });
  return person;
}

const statusCell = (page, order) => page.locator(`#orders tr.order-row[data-order="${order}"] .order-status`);

test('the merchant accepts an order, then marks it done; every dashboard sees it, a reload too', { timeout: 40_000 }, async () => {
  const alice = await dashboard('alice');
  const bob = await dashboard('bob');
  try {
    await postOrder('S-1');
    for (const { page } of [alice, bob]) await statusCell(page, 'S-1').locator('.sb-status', { hasText: 'New' }).waitFor();

    await statusCell(alice.page, 'S-1').getByRole('button', { name: 'Accept' }).click();
    for (const { page } of [alice, bob]) await statusCell(page, 'S-1').locator('.sb-status', { hasText: 'Accepted' }).waitFor();
    assert.equal(await alice.page.locator('#orders tr.order-detail').count(), 0, 'the button does not open the details');

    await statusCell(bob.page, 'S-1').getByRole('button', { name: 'Mark done' }).click();
    for (const { page } of [alice, bob]) await page.locator('#orders tr[data-order="S-1"] .order-status[data-status="done"]').waitFor();
    assert.equal(await statusCell(alice.page, 'S-1').locator('button').count(), 0, 'done is final: no button');

    // A step taken elsewhere (another user of the merchant, through the API) shows live.
    await postOrder('S-2');
    await statusCell(alice.page, 'S-2').locator('.sb-status', { hasText: 'New' }).waitFor();
    const token = await devToken(fx.daemon, 'carol', 'merchant', MERCHANT);
    const direct = await requestJson(fx.daemon, 'POST', '/api/orders/S-2/status', { status: 'accepted' },
      { Authorization: `Bearer ${token}` });
    assert.equal(direct.status, 200, JSON.stringify(direct));
    assert.equal(direct.body.status, 'accepted');
    await statusCell(alice.page, 'S-2').locator('.sb-status', { hasText: 'Accepted' }).waitFor();

    // A fresh page reads every status from the stream's history.
    await bob.page.reload();
    await bob.page.locator('#orders tr[data-order="S-1"] .order-status[data-status="done"]').waitFor();
    await bob.page.locator('#orders tr[data-order="S-2"] .order-status[data-status="accepted"]').waitFor();
    assert.deepEqual([...alice.seen.pageErrors, ...bob.seen.pageErrors], []);
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test('only the merchant sets a status; bad input gets a status code and a JSON error', { timeout: 20_000 }, async () => {
  await postOrder('S-9');
  const as = (token, order, body) => requestJson(fx.daemon, 'POST', `/api/orders/${order}/status`, body,
    token ? { Authorization: `Bearer ${token}` } : {});
  const boss = await devToken(fx.daemon, 'boss', 'merchant', MERCHANT);
  const other = await devToken(fx.daemon, 'boss', 'merchant', 'm6');
  const agent = await devToken(fx.daemon, 'a1', 'agent', MERCHANT);
  const expect = (r, status, error) => {
    assert.equal(r.status, status, JSON.stringify(r));
    assert.equal(r.body?.error, error, JSON.stringify(r));
    assert.equal(typeof r.body?.message, 'string');
  };
  expect(await as(null, 'S-9', { status: 'accepted' }), 401, 'unauthorized');
  expect(await as(agent, 'S-9', { status: 'accepted' }), 403, 'forbidden');
  expect(await as(other, 'S-9', { status: 'accepted' }), 404, 'not_found'); // another merchant's order
  expect(await as(boss, 'NOPE-1', { status: 'accepted' }), 404, 'not_found');
  expect(await as(boss, 'S-9', { status: 'shipped' }), 400, 'invalid_field');
  expect(await as(boss, 'S-9', {}), 400, 'invalid_field');
  expect(await as(boss, 'S-9', { status: 'done' }), 400, 'invalid_field'); // accept first
  const stepMessage = (await as(boss, 'S-9', { status: 'done' })).body.message;
  assert.match(stepMessage, /is new; its next status is accepted/);
  const plain = await fetch(`${fx.daemon.base}/api/orders/S-9/status`, {
    method: 'POST', body: 'status=accepted', headers: { Authorization: `Bearer ${boss}`, 'Content-Type': 'text/plain' },
  });
  expect({ status: plain.status, body: await plain.json() }, 415, 'unsupported_media_type');
  assert.equal((await as(boss, 'S-9', { status: 'accepted' })).status, 200);
  expect(await as(boss, 'S-9', { status: 'accepted' }), 400, 'invalid_field'); // once
});
