// The customer chat widget and the agent console in Debian's Chromium against a real switchboard
// daemon, as two people in two browser contexts (each in its own time zone): an agent of m1 who
// goes online, and a customer of m1 whose conversation is routed to that agent. Messages both
// ways, typing, HTML shown as text, the server's refusals, history paging and unread counts,
// resolving without a false error, a queued customer (Unicode display name, no conversation
// before the first message) shown live in the console and taken. Every wait is bounded; the
// whole file stays well under 60 s.
// Run: cd tests/browser && npm ci && node --test   (SWITCHBOARD_BIN overrides the binary)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  WAIT, devToken, openPage, postJson, useDaemonAndBrowser, waitFor,
} from './lib/harness.mjs';
import { loginAs } from './lib/login.mjs';

const MERCHANT = 'm1';
const AGENT = 'bob';
const CUSTOMER = 'carol';
const XSS = '<img src=x onerror=alert(1)>';

let agent; // {context, page, seen, requestsForX, timeZone}
let customer;
let conv; // carol's conversation id, as the widget opened it
const fx = useDaemonAndBrowser({
  setup: async () => {
    agent = await newPerson('Asia/Shanghai');
    customer = await newPerson('America/New_York');
  },
});

async function newPerson(timeZone) {
  const person = await openPage(fx.browser, { timezoneId: timeZone });
  const requestsForX = [];
  person.page.on('request', (r) => new URL(r.url()).pathname === '/x' && requestsForX.push(r.url()));
  return { ...person, requestsForX, timeZone };
}

// The list item of the message whose text is exactly `text` on `side` (own | other), once shown.
async function message(person, text, side) {
  await person.page.waitForFunction(([text, side]) =>
    [...document.querySelectorAll(`#messages li.sb-msg[data-side="${side}"] .sb-msg-text`)]
      .some((node) => node.textContent === text), [text, side], { timeout: WAIT });
  const items = person.page.locator(`#messages li.sb-msg[data-side="${side}"]`);
  const texts = await items.locator('.sb-msg-text').allTextContents();
  assert.equal(texts.filter((t) => t === text).length, 1, `"${text}" shown once on the ${side} side`);
  return items.nth(texts.indexOf(text));
}

// Asserts that a message's time is shown as the hour and minute of its instant in the page's
// time zone.
async function assertLocalTime(person, item) {
  const time = item.locator('time');
  const iso = await time.getAttribute('datetime');
  assert.match(iso ?? '', /^\d{4}-\d\d-\d\dT/);
  const expected = new Intl.DateTimeFormat('en-US', {
    timeZone: person.timeZone, hour: '2-digit', minute: '2-digit',
  }).format(new Date(iso));
  assert.equal(await time.textContent(), expected, `time shown in ${person.timeZone}`);
}

// The frames a page sent on its sockets, of op `op`.
const sentFrames = (person, op) => person.seen.sockets.flatMap((s) => s.sent).filter((f) => f.op === op);

// Types into `person`'s composer like a person (a key every 250 ms) until `indicator` (on the
// other side) shows, then empties the composer. Typing ops are throttled on both ends.
async function typeUntilShown(person, indicator) {
  const deadline = Date.now() + WAIT;
  await person.page.focus('#text');
  while (!(await indicator.isVisible())) {
    if (Date.now() > deadline) throw new Error(`the typing indicator did not show within ${WAIT} ms`);
    await person.page.keyboard.type('.');
    await person.page.waitForTimeout(250);
  }
  await person.page.fill('#text', '');
}

async function typeAndEnter(person, text) {
  await person.page.fill('#text', text);
  await person.page.press('#text', 'Enter');
}

test('the agent logs in to the console and goes online', { timeout: 15_000 }, async () => {
  const { page } = agent;
  await page.goto(`${fx.daemon.base}/`);
  await page.getByRole('link', { name: /Agent console/ }).click();
  await page.waitForURL('**/console.html');
  await loginAs(page, 'agent', { merchant: MERCHANT, user: AGENT });
  assert.equal(await page.locator('#presence').isChecked(), true);
  await waitFor(() => sentFrames(agent, 'presence').some((f) => f.status === 'online'), WAIT,
    'a presence online frame');
  await page.locator('#mine-empty').waitFor();
});

test('a customer message reaches the agent; the reply reaches the customer', { timeout: 25_000 }, async () => {
  const { page } = customer;
  // The site names its customer (?customer=): that is the identity; the name is only shown.
  await page.goto(`${fx.daemon.base}/chat.html?customer=${CUSTOMER}`);
  await loginAs(page, 'customer', { merchant: MERCHANT, user: CUSTOMER });
  await page.locator('#chat').waitFor();
  assert.equal(await page.locator('#chat-merchant').textContent(), MERCHANT);

  // Shift+Enter adds a line, Enter sends.
  await page.click('#text');
  await page.keyboard.type('Hello');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('my order A-1 is late');
  await page.keyboard.press('Enter');
  const text = 'Hello\nmy order A-1 is late';
  const own = await message(customer, text, 'own');
  // Opened by this first message, routed at once to the only online agent.
  await page.locator('#chat-status[data-status="in_progress"]', { hasText: AGENT }).waitFor();
  await own.locator('.sb-tick[data-state="sent"]').waitFor();
  assert.equal(await page.inputValue('#text'), '');
  const [send] = sentFrames(customer, 'send');
  assert.equal(send.text, text);
  assert.match(send.id, /^[A-Za-z0-9_.:@-]{1,128}$/);
  conv = send.conv;
  assert.equal(await own.getAttribute('data-client-id'), send.id);
  await assertLocalTime(customer, own);

  // The console lists the conversation as the agent's and shows the message on the left.
  const item = agent.page.locator(`#mine button[data-conv="${conv}"]`);
  await item.waitFor();
  assert.equal(await item.locator('.sb-conv-name').textContent(), CUSTOMER);
  await item.click();
  await agent.page.locator('#conv-status[data-status="in_progress"]').waitFor();
  const received = await message(agent, text, 'other');
  assert.equal(await received.locator('.sb-msg-from').textContent(), CUSTOMER);
  await assertLocalTime(agent, received);

  // Typing shows on the other side.
  await typeUntilShown(customer, agent.page.locator('#typing', { hasText: `${CUSTOMER} is typing` }));
  await typeUntilShown(agent, page.locator('#typing', { hasText: `${AGENT} is typing` }));

  // The reply: a tick on the console, on the left in the widget with the agent's name.
  const reply = 'Hi carol, I am looking into it.';
  await agent.page.fill('#text', reply);
  await agent.page.click('#send');
  await (await message(agent, reply, 'own')).locator('.sb-tick[data-state="sent"]').waitFor();
  const shown = await message(customer, reply, 'other');
  assert.equal(await shown.locator('.sb-msg-from').textContent(), AGENT);
  await assertLocalTime(customer, shown);
  await page.locator('#typing').waitFor({ state: 'hidden' });

  // Each message once on each side, whatever the server redelivers.
  await page.waitForTimeout(300);
  assert.equal(await page.locator('#messages li.sb-msg:not([data-side="system"])').count(), 2);
  assert.equal(await agent.page.locator('#messages li.sb-msg:not([data-side="system"])').count(), 2);
});

test('HTML sent by the customer is shown as text in the console', { timeout: 20_000 }, async () => {
  await typeAndEnter(customer, XSS);
  await (await message(customer, XSS, 'own')).locator('.sb-tick[data-state="sent"]').waitFor();
  await message(agent, XSS, 'other');
  await agent.page.waitForTimeout(500); // an injected image would have failed to load by now
  for (const person of [agent, customer]) {
    assert.equal(await person.page.locator('img').count(), 0, 'no <img> element was created');
    assert.deepEqual(person.seen.dialogs, [], 'no dialog opened');
    assert.deepEqual(person.requestsForX, [], 'nothing loaded /x');
    assert.deepEqual(person.seen.pageErrors, [], 'no script errors on the page');
  }
});

test('the widget counts bytes and shows the server refusing a message', { timeout: 15_000 }, async () => {
  const { page } = customer;
  await page.fill('#text', 'é'.repeat(2049)); // 4098 bytes of UTF-8
  await page.locator('#counter[data-over="true"]', { hasText: '4098 / 4096 bytes' }).waitFor();
  assert.equal(await page.locator('#send').isDisabled(), true);

  // A control character passes the page's check; the server refuses it.
  const bad = 'bell\u0007';
  await typeAndEnter(customer, bad);
  await page.locator('#notice[data-code="invalid_text"]').waitFor();
  const failed = await message(customer, bad, 'own');
  await failed.locator('.sb-tick[data-state="failed"]').waitFor();
  await failed.locator('.sb-retry').waitFor();
  await agent.page.waitForTimeout(300);
  assert.equal(await agent.page.locator('#messages .sb-msg-text', { hasText: 'bell' }).count(), 0,
    'nothing was stored');
});

test('older history loads on scroll-up; unread counts per conversation', { timeout: 25_000 }, async () => {
  const { page } = agent;
  // Away: a new conversation waits in the queue, readable but not the agent's.
  await page.click('#presence');
  await waitFor(() => sentFrames(agent, 'presence').some((f) => f.status === 'away'), WAIT, 'presence away');
  const dave = await devToken(fx.daemon, 'dave', 'customer', MERCHANT);
  const auth = { Authorization: `Bearer ${dave}` };
  const opened = await postJson(fx.daemon, '/api/conversations', { merchant: MERCHANT }, auth);
  assert.ok([200, 201].includes(opened.status), `POST /api/conversations: ${JSON.stringify(opened)}`);
  assert.equal(opened.body.status, 'unassigned', 'queued while the only agent is away');
  const daveConv = opened.body.id;
  const post = async (i) => {
    const r = await postJson(fx.daemon, `/api/conversations/${daveConv}/messages`,
      { id: `dave-${i}`, text: `dave ${i}` }, auth);
    assert.equal(r.status, 201, `POST message ${i}: ${JSON.stringify(r)}`);
  };
  for (let i = 1; i <= 40; i++) await post(i);

  await page.click('#refresh');
  await page.locator(`#queue button[data-conv="${daveConv}"]`).click();
  await page.locator('#conv-status[data-status="unassigned"]').waitFor();
  assert.equal(await page.locator('#text').isDisabled(), true, 'no replies to a queued conversation');
  await message(agent, 'dave 40', 'other');
  const rows = page.locator('#messages li.sb-msg');
  assert.equal(await rows.count(), 30, 'the newest page: 30 messages');
  const firstId = await rows.first().getAttribute('data-id');
  // Where the top message sits in the scrolled content, i.e. where it shows at scrollTop 0.
  const offsetOf = (li) => li.getBoundingClientRect().top
    - li.closest('#scroller').getBoundingClientRect().top + li.closest('#scroller').scrollTop;
  const offsetBefore = await rows.first().evaluate(offsetOf);

  await page.locator('#scroller').evaluate((s) => s.scrollTo(0, 0));
  await page.waitForFunction(() => document.querySelectorAll('#messages li.sb-msg').length === 40,
    null, { timeout: WAIT });
  const texts = await page.locator('#messages .sb-msg-text').allTextContents();
  assert.deepEqual(texts, Array.from({ length: 40 }, (_, i) => `dave ${i + 1}`), 'in order, once each');
  // The message that was on top stays where the reader saw it (at scrollTop 0).
  const shownAt = await page.locator(`#messages li[data-id="${firstId}"]`).evaluate((li) =>
    li.getBoundingClientRect().top - li.closest('#scroller').getBoundingClientRect().top);
  assert.ok(Math.abs(shownAt - offsetBefore) < 4, `scroll position kept (${offsetBefore} → ${shownAt})`);
  assert.ok(await page.locator('#scroller').evaluate((s) => s.scrollTop) > 0);

  // Online again: the queued conversation is routed to the agent.
  await page.click('#presence');
  await page.locator(`#mine button[data-conv="${daveConv}"]`).waitFor();
  await page.locator('#conv-status[data-status="in_progress"]').waitFor();
  assert.equal(await page.locator('#text').isDisabled(), false);

  // Looking at carol: dave's next messages count as unread on his conversation.
  await page.locator(`#mine button[data-conv="${conv}"]`).click();
  await post(41);
  await post(42);
  const badge = page.locator(`#mine button[data-conv="${daveConv}"] .sb-unread`);
  await page.locator(`#mine button[data-conv="${daveConv}"] .sb-unread[data-count="2"]`).waitFor();
  assert.equal(await badge.textContent(), '2');
  assert.match(await page.title(), /^\(2\) /);
  await page.locator(`#mine button[data-conv="${daveConv}"]`).click();
  await badge.waitFor({ state: 'hidden' });
  await message(agent, 'dave 42', 'other');

  // A transfer to an agent that does not exist is refused, and says so.
  await page.fill('#transfer-to', 'nobody-here');
  await page.click('#transfer');
  await page.locator('#conv-notice[data-code="no_such_agent"]').waitFor();
});

test('a queued customer (Unicode name) shows live in the console and is taken', { timeout: 25_000 }, async () => {
  const { page } = agent;
  await page.click('#presence'); // away: nothing is routed to the agent
  await waitFor(() => sentFrames(agent, 'presence').at(-1)?.status === 'away', WAIT, 'presence away');
  // ...and the pool has it (else the new conversation could still be routed to the agent).
  const admin = await devToken(fx.daemon, 'root', 'admin', '*');
  for (let i = 0, away = false; !away; i++) {
    assert.ok(i < 100, 'the pool sees the agent away');
    const pool = await (await fetch(`${fx.daemon.base}/admin/actors/pool/${MERCHANT}`, {
      headers: { Authorization: `Bearer ${admin}` },
    })).json();
    away = pool.agents?.some((a) => a.id === AGENT && a.presence === 'away');
    if (!away) await page.waitForTimeout(50);
  }
  const zhang = await newPerson('Asia/Shanghai');
  try {
    await zhang.page.setViewportSize({ width: 390, height: 844 });
    await zhang.page.goto(`${fx.daemon.base}/chat.html`);
    await loginAs(zhang.page, 'customer', { merchant: MERCHANT, user: '张三' });
    assert.equal(await zhang.page.locator('#chat-name').textContent(), '张三');
    const welcome = zhang.seen.sockets.flatMap((s) => s.received).find((f) => f.op === 'welcome');
    assert.match(welcome.principal, /^anon-[0-9a-f]{24}$/, 'an anonymous identity, not the name');
    const zhangConv = welcome.streams.find((s) => s.startsWith('conv:')).slice(5);
    // Nothing is opened before the first message: the merchant sees no such conversation.
    const boss = await devToken(fx.daemon, 'boss', 'merchant', MERCHANT);
    const listed = await fetch(`${fx.daemon.base}/api/conversations`, { headers: { Authorization: `Bearer ${boss}` } });
    assert.ok(!(await listed.json()).conversations.some((c) => c.id === zhangConv), 'no empty conversation');
    // Full-screen on a phone.
    const box = await zhang.page.locator('#chat').boundingBox();
    assert.ok(box.width >= 389 && box.height >= 800, `the chat fills the phone screen (${JSON.stringify(box)})`);

    await typeAndEnter(zhang, '你好，我的订单呢？');
    const queued = page.locator(`#queue button[data-conv="${zhangConv}"]`);
    await queued.waitFor(); // pushed live, no refresh
    await queued.locator('.sb-conv-preview', { hasText: '你好，我的订单呢？' }).waitFor();
    // Agents see the name the customer gave, not its anonymous id.
    await queued.locator('.sb-conv-name', { hasText: '张三' }).waitFor();
    await queued.click();
    assert.equal(await page.locator('#resolve').isDisabled(), true);
    await page.click('#take');
    await page.locator(`#mine button[data-conv="${zhangConv}"]`).waitFor();
    await page.locator('#conv-status[data-status="in_progress"]').waitFor();
    assert.equal(await page.locator('#resolve').isDisabled(), false, 'the buttons work after take');
    await typeAndEnter(agent, '马上帮您查');
    await message(zhang, '马上帮您查', 'other');
    assert.deepEqual(zhang.seen.pageErrors, []);
  } finally {
    await zhang.context.close();
    await page.click('#presence'); // online again
  }
});

test('the agent resolves; the widget shows it', { timeout: 15_000 }, async () => {
  const { page } = agent;
  await page.locator(`#mine button[data-conv="${conv}"]`).click();
  await page.locator('#conv-status[data-status="in_progress"]').waitFor();
  await page.click('#resolve');
  await customer.page.locator('#chat-status[data-status="resolved"]').waitFor();
  await customer.page.locator('#messages li[data-status="resolved"]').waitFor();
  await page.locator('#conv-status[data-status="resolved"]').waitFor();
  await page.locator(`#mine button[data-conv="${conv}"]`).waitFor({ state: 'detached' });
  assert.equal(await page.locator('#resolve').isDisabled(), true);
  await page.waitForTimeout(500); // the acks of the last entries have been answered
  assert.equal(await page.locator('#notice').isVisible(), false, 'no error box after Resolve');
  assert.equal(await page.locator('#conv-notice').isVisible(), false);
  for (const person of [agent, customer]) assert.deepEqual(person.seen.pageErrors, []);
});
