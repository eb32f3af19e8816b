// The merchant dashboard in Debian's Chromium against a real switchboard daemon: live orders,
// resuming after the daemon restarts, order fields shown as text, never as HTML, and the history
// a fresh browser reads from the server (nothing spuriously new), on a phone too.
// Run: cd tests/browser && npm install && node --test   (SWITCHBOARD_BIN overrides the binary)

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WAIT, b64url, freshDataDir, launchBrowser, postJson, removeDir, startDaemon, stopDaemon, waitFor,
  watchPage,
} from './lib/harness.mjs';
import { loginAs } from './lib/login.mjs';

const MERCHANT = 'm1';
const STREAM = `orders:${MERCHANT}`;

let dataDir;
let daemon; // {proc, port, base}
let browser;
let context;
let page;
let dialogs; // what the page did: see watchPage
let pageErrors;
let sockets; // every WebSocket the page opened: {ws, sent: [frame], received: [frame]}

let serviceToken;
async function postOrder(order) {
  const claims = { sub: 'test-shop', role: 'service', mid: MERCHANT };
  serviceToken ??= (await postJson(daemon, '/api/dev/token', claims)).body.token;
  const { status, body } = await postJson(daemon, '/api/orders', { merchant: MERCHANT, ...order }, {
    Authorization: `Bearer ${serviceToken}`,
    'Idempotency-Key': `browser-test-${order.order_id}`,
  });
  assert.equal(status, 202, `POST /api/orders answered ${status}: ${JSON.stringify(body)}`);
  assert.equal(body.stream, STREAM);
  return body; // {stream, seq, id}
}

// ---- the page ---------------------------------------------------------------------------------

const row = (id, on = page) => on.locator(`#orders tr[data-id="${id}"]`);

async function expectRow(accepted, orderId, timeout = WAIT) {
  await row(accepted.id).waitFor({ timeout });
  assert.equal(await row(accepted.id).count(), 1, `order ${orderId} shown once`);
  assert.equal(await row(accepted.id).locator('.order-id').textContent(), orderId);
}

before(async () => {
  dataDir = freshDataDir();
  daemon = await startDaemon({ dataDir });
  browser = await launchBrowser();
  context = await browser.newContext();
  context.setDefaultTimeout(WAIT);
  page = await context.newPage();
  ({ dialogs, pageErrors, sockets } = watchPage(page));
}, { timeout: 30_000 });

after(async () => {
  await browser?.close().catch(() => {});
  await stopDaemon(daemon);
  removeDir(dataDir);
}, { timeout: 15_000 });

test('log in and see a posted order appear live', { timeout: 20_000 }, async () => {
  await page.goto(`${daemon.base}/`);
  await page.getByRole('link', { name: /Merchant dashboard/ }).click();
  await page.waitForURL('**/dashboard.html');

  await loginAs(page, 'merchant', { merchant: MERCHANT, user: 'alice' });
  assert.equal(await page.locator('#conn-text').textContent(), 'Live');
  await waitFor(() => sockets.at(-1)?.sent.length > 0);
  assert.equal(sockets.at(-1).sent[0].op, 'hello');

  const accepted = await postOrder({ order_id: 'A-1', total: 12.5, currency: 'CNY' });
  await expectRow(accepted, 'A-1');
  const first = page.locator('#orders tr.order-row').first();
  assert.equal(await first.getAttribute('data-id'), accepted.id, 'newest on top');
  assert.match(await first.locator('.order-amount').textContent(), /12\.50/);
  assert.match(await first.locator('.order-amount').textContent(), /CN¥|CNY|¥/);
  assert.match(await first.locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);

  // The page acks what it showed.
  await waitFor(() =>
    sockets.at(-1).sent.some((f) => f.op === 'ack' && f.stream === STREAM && f.seq === accepted.seq));
});

test('after a daemon restart the page resumes, each order once', { timeout: 30_000 }, async () => {
  const before = await postOrder({ order_id: 'B-0', total: 1 });
  await expectRow(before, 'B-0');
  const port = daemon.port;

  await stopDaemon(daemon);
  await page.locator('#conn[data-state="reconnecting"]').waitFor();
  // Wait until the next attempt is at least 1.5 s away, so the orders below are stored while the
  // page is disconnected and reach it by resuming, not live.
  await page.waitForFunction(() => {
    const conn = document.querySelector('#conn');
    return conn.dataset.state === 'reconnecting' && Number(conn.dataset.retryAt) - Date.now() > 1500;
  }, null, { timeout: 15_000 });
  const socketsBefore = sockets.length;

  daemon = await startDaemon({ listen: `127.0.0.1:${port}`, dataDir });
  const orders = [];
  for (const orderId of ['C-1', 'C-2', 'C-3'])
    orders.push(await postOrder({ order_id: orderId, total: 3 }));

  // The page's next attempt may still fail if the daemon took long to start: allow one more.
  for (const [i, accepted] of orders.entries()) await expectRow(accepted, `C-${i + 1}`, 20_000);
  await page.locator('#conn[data-state="live"]').waitFor();

  // Resumed: the first frame on the new connection names the last seq the page had.
  const resumed = sockets.slice(socketsBefore).find((s) => s.received.some((f) => f.op === 'welcome'));
  assert.ok(resumed, 'the page reconnected');
  assert.deepEqual(resumed.sent[0], { op: 'hello', resume: { [STREAM]: before.seq } });
  for (const accepted of orders)
    assert.ok(resumed.received.some((f) => f.op === 'push' && f.id === accepted.id),
      `order seq ${accepted.seq} came over the resumed connection`);

  // Exactly once, even if the daemon redelivers: no duplicate rows appear afterwards.
  await page.waitForTimeout(500);
  for (const accepted of [before, ...orders]) assert.equal(await row(accepted.id).count(), 1);
  const ids = await page.locator('#orders tr.order-row').evaluateAll((rows) => rows.map((r) => r.dataset.id));
  assert.equal(new Set(ids).size, ids.length, 'no order shown twice');
  const seqs = await page.locator('#orders tr.order-row')
    .evaluateAll((rows) => rows.map((r) => Number(r.dataset.seq)));
  assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), 'newest on top');
});

test('an order field holding HTML is shown as text', { timeout: 20_000 }, async () => {
  const payload = '<img src=x onerror=alert(1)>';
  const requestsForX = [];
  page.on('request', (r) => new URL(r.url()).pathname === '/x' && requestsForX.push(r.url()));

  const accepted = await postOrder({ order_id: 'X-1', note: payload });
  await expectRow(accepted, 'X-1');
  await row(accepted.id).click(); // the detail view holds the fields without a column
  const value = page.locator('#orders tr.order-detail dd');
  assert.equal(await value.textContent(), payload);
  await page.waitForTimeout(500); // an injected image would have failed to load by now
  assert.equal(await page.locator('img').count(), 0, 'no <img> element was created');
  assert.deepEqual(dialogs, [], 'no dialog opened');
  assert.deepEqual(requestsForX, [], 'nothing loaded /x');
  assert.deepEqual(pageErrors, [], 'no script errors on the page');
});

test('the page can post a test order itself (dev mode)', { timeout: 20_000 }, async () => {
  await page.click('#dev-tools summary');
  await page.fill('#test-order-id', 'D-1');
  await page.fill('#test-note', 'from the page');
  await page.click('#test-order-submit');
  await page.locator('#test-order-result', { hasText: /Posted D-1/ }).waitFor();
  const cell = page.locator('#orders tr .order-id', { hasText: /^D-1$/ });
  await cell.waitFor();
  assert.equal(await cell.count(), 1);
});

test('orders that arrive while the user looks away count as unread', { timeout: 20_000 }, async () => {
  // Headless pages always have focus: pretend the user switched to another window.
  await page.evaluate(() => {
    document.hasFocus = () => false;
    window.dispatchEvent(new Event('blur'));
  });
  const accepted = [await postOrder({ order_id: 'U-1' }), await postOrder({ order_id: 'U-2' })];
  for (const [i, a] of accepted.entries()) await expectRow(a, `U-${i + 1}`);
  await page.locator('#unread', { hasText: /^2$/ }).waitFor();
  assert.match(await page.title(), /^\(2\) /);
  assert.equal(await page.locator('#orders tr.is-unread').count(), 2);

  await page.evaluate(() => {
    delete document.hasFocus; // the real one again
    window.dispatchEvent(new Event('focus'));
  });
  await page.locator('#unread').waitFor({ state: 'hidden' });
  assert.doesNotMatch(await page.title(), /^\(/);
});

test('a fresh browser of the same merchant reads the history, nothing spuriously new', { timeout: 30_000 }, async () => {
  const rich = await postOrder({
    order_id: 'H-1', customer_name: '张三', total: 8, items: [{ sku: 'TEA', qty: 2 }], channel: 'app',
  });
  await expectRow(rich, 'H-1');
  await page.waitForTimeout(300); // the page acks it
  let shown = await page.locator('#orders tr.order-row').count();
  for (const [user, viewport] of [['alice', { width: 1280, height: 800 }], ['newcomer', { width: 390, height: 844 }]]) {
    const fresh = await browser.newContext({ viewport });
    try {
      const other = await fresh.newPage();
      await other.goto(`${daemon.base}/dashboard.html`);
      await loginAs(other, 'merchant', { merchant: MERCHANT, user });
      await row(rich.id, other).waitFor();
      await other.waitForTimeout(300); // the replay of unacked entries has arrived
      assert.equal(await other.locator('#orders tr.order-row').count(), shown, `${user} sees the backlog`);
      assert.equal(await other.locator('#orders tr.is-unread, #orders tr.is-new').count(), 0,
        `${user}: nothing highlighted as new`);
      assert.equal(await row(rich.id, other).locator('.order-customer').textContent(), '张三');
      assert.deepEqual(await row(rich.id, other).locator('.order-items li').allTextContents(), ['2 × TEA']);
      await other.fill('#search', 'H-1');
      assert.equal(await other.locator('#orders tr.order-row:visible').count(), 1, 'search by order id');
      if (viewport.width < 500) {
        assert.ok(await other.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'no sideways scroll');
        await other.evaluate(() => scrollTo(0, 10_000));
        assert.ok(await other.locator('#conn').isVisible(), 'the connection indicator stays in view');
      }
      await other.fill('#search', '');
      const live = await postOrder({ order_id: `N-${user}` });
      await row(live.id, other).waitFor();
      assert.match(await row(live.id, other).getAttribute('class'), /is-new/, 'a live order is new');
      shown += 1;
    } finally {
      await fresh.close();
    }
  }
});

test('a forged token ends in "session expired"', { timeout: 20_000 }, async () => {
  const other = await context.newPage();
  try {
    await other.goto(`${daemon.base}/dashboard.html`);
    const forged = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({
      sub: 'mallory', role: 'merchant', mid: MERCHANT, exp: Math.floor(Date.now() / 1000) + 3600,
    })}.${b64url('not a signature')}`;
    await other.fill('#token', forged);
    await other.click('#token-form button[type="submit"]');
    await other.locator('#login-message', { hasText: /session expired/i }).waitFor({ timeout: 15_000 });
    assert.equal(await other.locator('#conn').getAttribute('data-state'), 'expired');
    assert.equal(await other.locator('#login').isVisible(), true);
  } finally {
    await other.close();
  }
});

test('a failed token request says why', { timeout: 20_000 }, async () => {
  const other = await context.newPage();
  try {
    await other.route('**/api/dev/token', (route) =>
      route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"not_found"}' }));
    await other.goto(`${daemon.base}/dashboard.html`);
    await loginAs(other, 'merchant', { merchant: MERCHANT, user: 'bob', live: false });
    await other.locator('#login-message', { hasText: /not in dev mode/ }).waitFor();
  } finally {
    await other.close();
  }
});
