// A first visit to a dev node: the index page names the demo merchant and agent the node
// enrolled at start, its links open prefilled login forms, the forms say which field is wrong,
// the console's login is centred; and texts the pages build at runtime follow the language.
// Run: cd tests/browser && npm ci && node --test getting_started.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { devToken, openPage, useDaemonAndBrowser } from './lib/harness.mjs';
import { loginAs } from './lib/login.mjs';

const fx = useDaemonAndBrowser();
const person = (options) => openPage(fx.browser, { viewport: { width: 1280, height: 800 }, ...options });

test('the index page names the seeded demo merchant and agent; its link logs the agent in', { timeout: 20_000 }, async () => {
  // Enrolled at start, before anyone logged in.
  const admin = await devToken(fx.daemon, 'root', 'admin', '*');
  const pool = await (await fetch(`${fx.daemon.base}/admin/actors/pool/demo`, {
    headers: { Authorization: `Bearer ${admin}` },
  })).json();
  assert.deepEqual(pool.agents?.map((a) => a.id), ['a1'], JSON.stringify(pool));

  const { context, page, seen } = await person();
  try {
    await page.goto(`${fx.daemon.base}/`);
    const demo = page.locator('#demo[data-merchant="demo"]');
    await demo.waitFor();
    assert.match(await demo.textContent(), /demo merchant demo.*as agent a1.*as user owner/s);
    await demo.getByRole('link', { name: 'agent console' }).click();
    await page.waitForURL('**/console.html?*');
    assert.equal(await page.inputValue('#merchant'), 'demo');
    assert.equal(await page.inputValue('#agent'), 'a1');
    await page.click('#login-submit');
    await page.locator('#conn[data-state="live"]').waitFor();
    assert.equal(await page.locator('#presence-box').isVisible(), true);
    assert.deepEqual(seen.pageErrors, []);
  } finally {
    await context.close();
  }
});

test('login forms say which field is wrong, next to it; the console login is centred', { timeout: 20_000 }, async () => {
  const { context, page } = await person();
  try {
    await page.goto(`${fx.daemon.base}/console.html`);
    const form = await page.locator('#login-form').boundingBox();
    assert.ok(Math.abs(form.x + form.width / 2 - 640) <= 2, `centred (${JSON.stringify(form)})`);
    assert.equal(await page.getAttribute('#merchant', 'placeholder'), 'e.g. m1');
    assert.equal(await page.getAttribute('#agent', 'placeholder'), 'e.g. a1');

    await page.click('#login-submit');
    await page.locator('#merchant-error', { hasText: 'Required' }).waitFor();
    await page.locator('#agent-error', { hasText: 'Required' }).waitFor();
    assert.equal(await page.getAttribute('#merchant', 'aria-invalid'), 'true');
    assert.equal(await page.getAttribute('#merchant', 'aria-describedby'), 'merchant-error');

    await page.fill('#merchant', 'shop 1');
    assert.equal(await page.locator('#merchant-error').isVisible(), false, 'typing clears the error');
    await page.fill('#agent', 'a1');
    await page.click('#login-submit');
    await page.locator('#merchant-error', { hasText: /A merchant id: 1–128 characters/ }).waitFor();
    assert.equal(await page.locator('#agent-error').isVisible(), false, 'only the wrong field is marked');
    assert.equal(await page.locator('#login').isVisible(), true, 'not logged in');
  } finally {
    await context.close();
  }
});

test('texts built at runtime are in Chinese for a zh-CN browser', { timeout: 25_000 }, async () => {
  const { context, page } = await person({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
  try {
    await page.goto(`${fx.daemon.base}/chat.html`);
    await page.locator('html[lang="zh-CN"]').waitFor();
    await page.click('#login-submit');
    await page.locator('#merchant-error', { hasText: '必填' }).waitFor();
    await loginAs(page, 'customer', { merchant: 'demo', user: '李雷' });
    assert.equal(await page.locator('#counter').textContent(), '0 / 4096 字节');
    await page.locator('#chat-status', { hasText: '发送第一条消息即可开始咨询' }).waitFor();
    await page.fill('#text', '你好');
    await page.press('#text', 'Enter');
    await page.locator('#messages .sb-tick[data-state="sent"][title="已发送"]').waitFor();
    await page.locator('#messages li.sb-day', { hasText: '今天' }).waitFor();

    // The console: the agent's line, the conversation's state, the presence switch.
    const agent = await context.newPage();
    await agent.goto(`${fx.daemon.base}/console.html`);
    await loginAs(agent, 'agent', { merchant: 'demo', user: 'a1' });
    await agent.locator('#who', { hasText: 'a1 · 商户 demo' }).waitFor();
    await agent.locator('#conv-status', { hasText: '已分配给您' }).waitFor();
    await agent.locator('#mine .sb-conv-name', { hasText: '李雷' }).waitFor();
    assert.equal(await agent.locator('#presence-label').textContent(), '在线');
    await agent.click('#presence');
    await agent.locator('#presence-label', { hasText: '离开' }).waitFor();
  } finally {
    await context.close();
  }
});
