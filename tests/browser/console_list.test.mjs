// The agent console's conversation list as an agent reads it, and the chat as a phone shows it:
// customers by the display name they gave (not their anonymous ids), each conversation's last
// message with its time and an unread count, the latest activity on top; day separators in the
// chat; the newest message kept in view when the phone's keyboard opens.
// Run: cd tests/browser && npm ci && node --test console_list.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { devToken, openPage, postJson, useDaemonAndBrowser, WAIT } from './lib/harness.mjs';
import { loginAs } from './lib/login.mjs';

const MERCHANT = 'm4';
const AGENT = 'erin';

let agent; // {context, page, seen}: the agent, online in the console
const fx = useDaemonAndBrowser({
  setup: async () => {
    agent = await person();
    await agent.page.goto(`${fx.daemon.base}/console.html`);
    await loginAs(agent.page, 'agent', { merchant: MERCHANT, user: AGENT });
    await agent.page.locator('#mine-empty').waitFor();
  },
});

const person = (options) => openPage(fx.browser, options);

// A customer of MERCHANT in the widget, named `name`, who wrote `text`; resolves {…, conv}.
async function customerWho(name, text, options) {
  const c = await person(options);
  await c.page.goto(`${fx.daemon.base}/chat.html`);
  await loginAs(c.page, 'customer', { merchant: MERCHANT, user: name });
  await say(c, text);
  const welcome = c.seen.sockets.flatMap((s) => s.received).find((f) => f.op === 'welcome');
  return { ...c, conv: welcome.streams.find((s) => s.startsWith('conv:')).slice(5) };
}

async function say(c, text) {
  await c.page.fill('#text', text);
  await c.page.press('#text', 'Enter');
  await c.page.locator('#messages .sb-tick[data-state="sent"]').last().waitFor();
}

const item = (conv) => agent.page.locator(`#mine button[data-conv="${conv}"]`);
const mineOrder = () => agent.page.locator('#mine button[data-conv]').evaluateAll((bs) => bs.map((b) => b.dataset.conv));

test('the list shows display names, last messages, times and unread counts, latest on top', { timeout: 40_000 }, async () => {
  const wang = await customerWho('王小明', 'Where is my parcel?');
  await item(wang.conv).waitFor();
  await item(wang.conv).locator('.sb-conv-name', { hasText: '王小明' }).waitFor();
  const li = await customerWho('Li Wei', 'Do you sell green tea?');
  try {
    // The console selected the first one; Li Wei's message is unread, and the latest: on top.
    await item(li.conv).locator('.sb-conv-name', { hasText: 'Li Wei' }).waitFor();
    await item(li.conv).locator('.sb-conv-preview', { hasText: 'Do you sell green tea?' }).waitFor();
    await item(li.conv).locator('.sb-unread[data-count="1"]').waitFor();
    assert.deepEqual(await mineOrder(), [li.conv, wang.conv]);
    assert.equal(await item(wang.conv).locator('.sb-unread').isVisible(), false, 'the open one has none unread');
    const time = item(li.conv).locator('time.sb-conv-time');
    assert.match(await time.textContent(), /^\d\d:\d\d/, 'today: the time of day');
    assert.match(await time.getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
    for (const shown of await agent.page.locator('#mine .sb-conv-name').allTextContents())
      assert.doesNotMatch(shown, /^anon-/, 'no anonymous ids in the list');

    // Wang writes again: his conversation moves to the top with the new preview.
    await say(wang, 'It was due yesterday');
    await item(wang.conv).locator('.sb-conv-preview', { hasText: 'It was due yesterday' }).waitFor();
    await agent.page.waitForFunction(([first]) =>
      document.querySelector('#mine button[data-conv]')?.dataset.conv === first, [wang.conv], { timeout: WAIT });

    // The agent's own reply is the preview, marked as its own.
    await agent.page.fill('#text', 'Let me check');
    await agent.page.press('#text', 'Enter');
    await item(wang.conv).locator('.sb-conv-preview', { hasText: 'You: Let me check' }).waitFor();
    // The title of the open conversation is the name too, and so is the sender of its messages.
    assert.equal(await agent.page.locator('#conv-title').textContent(), '王小明');
    assert.deepEqual([...new Set(await agent.page.locator('#messages .sb-msg-from').allTextContents())], ['王小明']);

    // A fresh console (a reload) learns names and previews from the server's history.
    await agent.page.reload();
    await item(li.conv).locator('.sb-conv-name', { hasText: 'Li Wei' }).waitFor();
    await item(li.conv).locator('.sb-conv-preview', { hasText: 'Do you sell green tea?' }).waitFor();
    await item(wang.conv).locator('.sb-conv-preview', { hasText: 'You: Let me check' }).waitFor();
    assert.deepEqual(await mineOrder(), [wang.conv, li.conv]);
    assert.deepEqual(agent.seen.pageErrors, []);
  } finally {
    await wang.context.close();
    await li.context.close();
  }
});

test('day separators: one above the first message of each day', { timeout: 20_000 }, async () => {
  const { context, page } = await person({ timezoneId: 'Asia/Shanghai' });
  try {
    await page.goto(`${fx.daemon.base}/chat.html`);
    // The message list itself, fed entries of two days (the server stamps what is sent now).
    const days = await page.evaluate(async () => {
      const { MessageList } = await import('/js/chat-common.js');
      const list = new MessageList({ scroller: document.querySelector('#scroller'), isOwn: () => false, describeStatus: () => '' });
      document.querySelector('#messages').replaceChildren(list.element);
      const now = Date.now();
      const yesterday = now - 86_400_000;
      const entry = (seq, ts) => ({ seq, id: `e${seq}`, ts, kind: 'message', data: { from: 'x', role: 'agent', text: `m${seq}` } });
      list.add(entry(3, now));
      list.addPage([entry(1, yesterday), entry(2, yesterday + 1000)], { older: true });
      list.add(entry(4, now + 1000));
      return [...list.element.children].map((li) => (li.classList.contains('sb-day') ? `[${li.textContent}]` : li.querySelector('.sb-msg-text').textContent));
    });
    assert.deepEqual(days, ['[Yesterday]', 'm1', 'm2', '[Today]', 'm3', 'm4']);
  } finally {
    await context.close();
  }
});

test('on a phone the newest message stays in view when the keyboard opens', { timeout: 40_000 }, async () => {
  const phone = await customerWho('Zhou', 'Hello?', { viewport: { width: 390, height: 844 } });
  try {
    await item(phone.conv).waitFor();
    // A long answer history: the chat scrolls, the reader is at the newest message.
    const token = await devToken(fx.daemon, AGENT, 'agent', MERCHANT);
    for (let i = 1; i <= 25; i++) {
      const r = await postJson(fx.daemon, `/api/conversations/${phone.conv}/messages`,
        { id: `reply-${i}`, text: `answer ${i}` }, { Authorization: `Bearer ${token}` });
      assert.equal(r.status, 201, JSON.stringify(r));
    }
    const newest = phone.page.locator('#messages li.sb-msg', { hasText: 'answer 25' });
    await newest.waitFor();
    await phone.page.locator('#messages li.sb-day', { hasText: 'Today' }).waitFor();
    assert.equal(await phone.page.locator('#messages li.sb-day').count(), 1, 'one day, one separator');
    const inView = () => phone.page.evaluate(() => {
      const scroller = document.querySelector('#scroller').getBoundingClientRect();
      const last = [...document.querySelectorAll('#messages li.sb-msg')].at(-1).getBoundingClientRect();
      return last.bottom <= scroller.bottom + 1 && last.top >= scroller.top - 1;
    });
    assert.equal(await inView(), true, 'the newest answer is in view');
    // The keyboard opens: the visible height shrinks to about half.
    const tall = await phone.page.locator('#scroller').evaluate((s) => s.clientHeight);
    await phone.page.focus('#text');
    await phone.page.setViewportSize({ width: 390, height: 460 });
    await phone.page.waitForFunction((tall) => document.querySelector('#scroller').clientHeight < tall - 300, tall,
      { timeout: WAIT });
    await phone.page.waitForTimeout(200);
    assert.equal(await inView(), true, 'the newest answer is still in view above the keyboard');
    assert.ok(await phone.page.locator('#send').isVisible(), 'the composer stays on screen');
  } finally {
    await phone.context.close();
  }
});
