// The customer widget as a merchant's site embeds it and as Chinese customers see it: the
// one-tag snippet on a plain HTML page opens the widget; with no agent online the customer is
// told so and leaves a message that the agent finds later; Leave resolves it; the UI in Simplified Chinese for a
// zh-CN browser, with a switch to English.
// Run: cd tests/browser && npm ci && node --test widget.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { devToken, openPage, useDaemonAndBrowser } from './lib/harness.mjs';
import { loginAs } from './lib/login.mjs';

const MERCHANT = 'shop7'; // no agent of this merchant ever logs in before the offline test

const fx = useDaemonAndBrowser();
const person = (options) => openPage(fx.browser, options);

test('the embed snippet on a plain HTML page opens the widget; nobody online → leave a message', { timeout: 30_000 }, async () => {
  const { context, page, seen } = await person({ viewport: { width: 1280, height: 800 } });
  let shop; // the merchant's site (an http.Server in this process)
  try {
    // A merchant's own site: a plain HTML page from another server (another origin), with the
    // documented one-tag snippet.
    const html = `<!doctype html><html><head><title>Tea shop</title></head><body><h1>Tea shop</h1>
<script src="${fx.daemon.base}/js/embed.js" data-merchant="${MERCHANT}" async></script></body></html>`;
    shop = http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(html));
    await new Promise((resolve) => shop.listen(0, '127.0.0.1', resolve));
    await page.goto(`http://127.0.0.1:${shop.address().port}/`);
    await page.locator('#sb-launcher').click();
    const frame = page.frameLocator('#sb-frame');
    let merchant = '';
    for (let i = 0; i < 50 && !merchant; i++) { // filled in by the widget's module once it runs
      merchant = await frame.locator('#merchant').inputValue();
      if (!merchant) await page.waitForTimeout(100);
    }
    assert.equal(merchant, MERCHANT, 'the merchant comes from the tag');
    await loginAs(frame, 'customer', { user: 'Li Wei' }); // the merchant comes from the tag
    assert.equal(await frame.locator('#chat-name').textContent(), 'Li Wei');

    // No agent online: the first message opens the conversation and the customer is told the truth.
    await frame.locator('#text').fill('Do you ship to Hangzhou?');
    await frame.locator('#text').press('Enter');
    const queue = frame.locator('#queue[data-offline="true"]');
    await queue.waitFor();
    assert.match(await queue.textContent(), /Nobody is online/);
    assert.doesNotMatch(await queue.textContent(), /number \d+ in the queue/);

    // The message is kept: an agent coming online later finds the conversation and reads it.
    const welcome = seen.sockets.flatMap((s) => s.received).find((f) => f.op === 'welcome');
    const conv = welcome.streams.find((s) => s.startsWith('conv:')).slice(5);
    const agent = await devToken(fx.daemon, 'a1', 'agent', MERCHANT);
    const res = await fetch(`${fx.daemon.base}/api/conversations/${conv}/messages`, {
      headers: { Authorization: `Bearer ${agent}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json()).messages.map((m) => m.text), ['Do you ship to Hangzhou?']);

    // Leave ends the chat for both sides: the conversation is resolved on the server.
    await frame.locator('#logout').click();
    await frame.locator('#login').waitFor();
    const boss = await devToken(fx.daemon, 'boss', 'merchant', MERCHANT);
    let status;
    for (let i = 0; i < 50 && status !== 'resolved'; i++) {
      const list = await fetch(`${fx.daemon.base}/api/conversations`, { headers: { Authorization: `Bearer ${boss}` } });
      status = (await list.json()).conversations.find((c) => c.id === conv)?.status;
      if (status !== 'resolved') await page.waitForTimeout(100);
    }
    assert.equal(status, 'resolved', 'the chat ended for the agent side too');

    await page.locator('#sb-launcher').click(); // closes it again
    assert.equal(await page.locator('#sb-frame').isVisible(), false);
    assert.deepEqual(seen.pageErrors, []);
  } finally {
    await context.close();
    await new Promise((resolve) => (shop ? shop.close(resolve) : resolve()));
  }
});

test('a zh-CN browser gets the Chinese UI, with a switch to English', { timeout: 20_000 }, async () => {
  const { context, page } = await person({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
  try {
    await page.goto(`${fx.daemon.base}/chat.html`);
    await page.locator('html[lang="zh-CN"]').waitFor();
    assert.equal(await page.locator('#login-title').textContent(), '联系在线客服');
    assert.equal(await page.locator('#login-submit').textContent(), '开始咨询');
    assert.equal(await page.locator('#customer').getAttribute('placeholder'), '例如：张三 或 Li Wei');
    await page.goto(`${fx.daemon.base}/console.html`);
    assert.equal(await page.locator('#login-title').textContent(), '客服工作台');
    await page.goto(`${fx.daemon.base}/dashboard.html`);
    assert.equal(await page.locator('#login-title').textContent(), '商户后台');

    await page.selectOption('#sb-lang', 'en');
    await page.locator('html[lang="en"]').waitFor();
    assert.equal(await page.locator('#login-title').textContent(), 'Merchant dashboard');
  } finally {
    await context.close();
  }
});
