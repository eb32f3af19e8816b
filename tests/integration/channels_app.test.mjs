// The app channel against the real daemon (docs/PROTOCOL.md, "Channels"): an admin configures
// the merchant's webhook; the app backend posts its users' messages with a service key
// (idempotent by id); agents' replies go out to the webhook signed with HMAC-SHA256, retried
// through the outbox while the receiver answers 503, delivered once per id.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';
import * as ch from './lib/channels.mjs';

const SECRET = 'app-webhook-secret-0123456789';
const JWT_SECRET = 'channels-app-test-jwt-secret-0123456789abcdef';
let d;
let hook; // the app backend's webhook receiver
const clients = [];
let adminTok;
let bossTok; // merchant m1
let aliceTok; // agent m1
let alice;
let u1; // {conv, seq, id} of u1's first message

// Failures carry the daemon's exit and sanitizer report when it died meanwhile.
const test = ch.daemonAwareTest(() => d);

before(async () => {
  hook = await ch.startWebhookReceiver(SECRET);
  d = await chat.startChat({
    auth: { secret: JWT_SECRET },
    chat: { agents: 'm1:alice:1:100' },
    delivery: { ack_timeout: '60s' },
    outbox: { retry_base: '100ms', retry_max: '500ms', http_timeout: '2s' },
  });
  adminTok = await chat.adminToken(d.url);
  bossTok = await chat.merchantToken(d.url, 'boss', 'm1');
  aliceTok = await chat.agentToken(d.url, 'alice', 'm1');
});

after(async () => {
  for (const c of clients) c.terminate();
  try {
    await d?.close();
  } finally {
    await hook?.close();
  }
});

const convOf = (user, merchantTok = bossTok) => ch.conversationOf(d.url, merchantTok, `app:${user}`);
const storedOf = (user, merchantTok = bossTok) => ch.storedMessagesOf(d.url, merchantTok, `app:${user}`);

async function outbox() {
  const res = await ch.getOutbox(d.url, adminTok);
  assert.equal(res.status, 200, `GET /admin/outbox: got ${res.status} ${res.text.slice(0, 300)}`);
  assert.ok(Array.isArray(res.body?.pending) && Array.isArray(res.body?.failed), res.text.slice(0, 300));
  return res.body;
}

const emptyOutbox = () =>
  chat.eventually(async () => {
    const o = await outbox();
    return o.pending.length === 0 && o.failed.length === 0 ? o : null;
  }, 3000, 'an empty outbox');

// Asserts a webhook delivery of the contract for the agent message `sent` (a `sent` frame) in
// u1's conversation; `entryId` is the stored entry's id.
function assertWebhook(delivery, { text, seq, entryId }) {
  const got = `got ${delivery.raw} headers ${JSON.stringify(delivery.headers)}`;
  assert.match(String(delivery.headers['content-type']), /^application\/json/, got);
  assert.equal(delivery.headers['x-switchboard-delivery'], delivery.body.id, `X-Switchboard-Delivery is the body's id; ${got}`);
  const b = delivery.body;
  assert.equal(b.id, entryId, `id is the stored entry's id; ${got}`);
  assert.equal(b.merchant, 'm1', got);
  assert.equal(b.user, 'u1', `user is the app's user id as posted; ${got}`);
  assert.equal(b.conv, u1.conv, got);
  assert.equal(b.seq, seq, got);
  assert.ok(Number.isInteger(b.ts) && Math.abs(b.ts - Date.now()) < 10 * 60 * 1000, `ts is ms UTC; ${got}`);
  assert.equal(b.from, 'alice', got);
  assert.equal(b.text, text, got);
  assert.equal(b.channel, 'app', got);
}

test('an admin configures the app channel (secret shown as ***); bad settings and non-admins are refused', async () => {
  const pre = await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, { merchant: 'm1', user: 'u-pre', id: 'pre-1', text: 'too early' });
  sb.assertError(pre, 404, 'channel_not_configured', 'app message before the channel exists');
  assert.equal(await convOf('u-pre'), undefined, 'nothing stored');

  sb.assertError(await ch.adminPutChannel(d.url, adminTok, 'm1', 'app', { webhook_url: hook.url, secret: 'short-secret' }), 400, 'invalid_field', 'secret under 16 bytes');
  sb.assertError(await ch.adminPutChannel(d.url, adminTok, 'm1', 'app', { webhook_url: 'not a url', secret: SECRET }), 400, 'invalid_field', 'webhook_url not http(s)');
  sb.assertError(await ch.adminPutChannel(d.url, bossTok, 'm1', 'app', { webhook_url: hook.url, secret: SECRET }), 403, 'forbidden', 'merchant token');
  sb.assertError(await ch.adminPutChannel(d.url, aliceTok, 'm1', 'app', { webhook_url: hook.url, secret: SECRET }), 403, 'forbidden', 'agent token');
  const still = await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, { merchant: 'm1', user: 'u-pre', id: 'pre-2', text: 'still too early' });
  sb.assertError(still, 404, 'channel_not_configured', 'refused PUTs configured nothing');

  const put = await ch.adminPutChannel(d.url, adminTok, 'm1', 'app', { webhook_url: hook.url, secret: SECRET });
  assert.equal(put.status, 200, `PUT app: got ${put.status} ${put.text}`);
  assert.deepEqual(put.body, { merchant: 'm1', channel: 'app', settings: { webhook_url: hook.url, secret: '***' } }, put.text);

  const shown = await ch.getChannels(d.url, adminTok, 'm1');
  assert.equal(shown.status, 200, shown.text);
  assert.deepEqual(shown.body, { wechat: null, app: { webhook_url: hook.url, secret: '***' } }, shown.text);
  assert.ok(!shown.text.includes(SECRET), shown.text);
});

test('POST /api/channels/app/messages stores a customer message of app:<user>; a repeated id answers the first', async () => {
  const body = { merchant: 'm1', user: 'u1', id: 'app-msg-1', text: 'hi from the app 👋' };
  const res = await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, body);
  assert.equal(res.status, 201, `got ${res.status} ${res.text}`);
  assert.match(String(res.body?.conv), /^c[0-9a-f]{16}$/, res.text);
  assert.ok(Number.isInteger(res.body?.seq) && res.body.seq >= 1, res.text);
  assert.equal(res.body?.id, 'app-msg-1', res.text);
  assert.notEqual(res.headers.get('idempotent-replayed'), 'true', 'the first answer is not a replay');
  u1 = res.body;

  const again = await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, body);
  assert.equal(again.status, 201, again.text);
  assert.deepEqual(again.body, res.body, 'the same answer');
  assert.equal(again.headers.get('idempotent-replayed'), 'true', 'Idempotent-Replayed: true');

  const conv = await convOf('u1');
  assert.ok(conv, 'the merchant lists the conversation of app:u1');
  assert.equal(conv.id, u1.conv);
  const msgs = await chat.fullHistory(d.url, bossTok, u1.conv);
  const mine = msgs.filter((m) => m.role === 'customer');
  assert.deepEqual(
    mine.map((m) => [m.seq, m.from, m.role, m.text, m.channel]),
    [[u1.seq, 'app:u1', 'customer', body.text, 'app']],
    `stored once; ${JSON.stringify(msgs)}`,
  );

  // Ids are per user: another user's message with the same id is its own message.
  const other = await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, { ...body, user: 'u2', text: 'from u2' });
  assert.equal(other.status, 201, other.text);
  assert.notEqual(other.body.conv, u1.conv, other.text);
  assert.notEqual(other.headers.get('idempotent-replayed'), 'true', other.text);
  assert.deepEqual((await storedOf('u2')).filter((m) => m.role === 'customer').map((m) => m.text), ['from u2']);
});

test('refused app messages: missing fields 400, bad keys 401, wrong principals 403, unconfigured merchant 404; nothing stored', async () => {
  assert.ok(u1, 'the previous test stored u1\'s message');
  const historyBefore = await storedOf('u1');
  const full = { merchant: 'm1', user: 'u1', id: 'refused-1', text: 'must not be stored' };
  for (const field of ['merchant', 'user', 'id', 'text']) {
    const body = { ...full };
    delete body[field];
    sb.assertError(await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, body), 400, 'missing_field', `without ${field}`);
  }
  sb.assertError(await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, { ...full, user: 'u-missing', text: undefined }), 400, 'missing_field', 'without text (u-missing)');
  sb.assertError(await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, { ...full, text: 'x'.repeat(4097) }), 400, 'text_too_long', 'text over chat.max_text');
  sb.assertError(await ch.postAppMessage(d.url, 'wrong-service-key', full), 401, 'unauthorized', 'wrong key');
  sb.assertError(await ch.postAppMessage(d.url, null, full), 401, 'unauthorized', 'no Authorization');
  const custTok = await chat.customerToken(d.url, 'u1', 'm1');
  sb.assertError(await ch.postAppMessage(d.url, custTok, full), 403, 'forbidden', 'a customer JWT');
  const m2Service = await sb.devToken(d.url, 'svc-m2', 'service', 'm2');
  sb.assertError(await ch.postAppMessage(d.url, m2Service, full), 403, 'forbidden', "a service JWT of m2 posting for m1");
  sb.assertError(await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, { ...full, merchant: 'm9' }), 404, 'channel_not_configured', 'm9 has no app channel');

  assert.deepEqual(await storedOf('u1'), historyBefore, "u1's history is unchanged");
  assert.equal(await convOf('u-missing'), undefined, 'no conversation for u-missing');
  const m9Tok = await chat.merchantToken(d.url, 'boss9', 'm9');
  assert.equal(await convOf('u1', m9Tok), undefined, 'no conversation of app:u1 with m9');

  // Channel ids belong to the channels: /api/dev/token refuses to mint them, and a JWT naming
  // one (signed with auth.secret) is refused with 403.
  for (const sub of ['app:u1', 'wx:o123']) {
    const res = await sb.request(`${d.url}/api/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub, role: 'customer', mid: 'm1' }),
    });
    assert.ok(res.status >= 400 && res.status < 500, `dev token for ${sub} refused: got ${res.status} ${res.text}`);
    assert.equal(typeof res.body?.token, 'undefined', res.text);
    assert.equal(typeof res.body?.error, 'string', res.text);

    const forged = ch.signJwt(JWT_SECRET, { sub, role: 'customer', mid: 'm1', exp: Math.floor(Date.now() / 1000) + 600 });
    sb.assertError(await chat.openConversation(d.url, forged, 'm1'), 403, 'forbidden', `JWT customer ${sub} opening a conversation`);
    sb.assertError(await chat.getMessages(d.url, forged, u1.conv), 403, 'forbidden', `JWT customer ${sub} reading history`);
    const refused = await sb.connectWs(d.url, forged).then(
      (ws) => (ws.terminate(), null),
      (err) => err,
    );
    assert.equal(refused?.status, 403, `WebSocket upgrade with a JWT customer ${sub}: ${refused?.message ?? 'accepted'}`);
  }
  // The same secret signs a plain customer that works: the 403s above are about the ids.
  const plain = ch.signJwt(JWT_SECRET, { sub: 'plain-cust', role: 'customer', mid: 'm1', exp: Math.floor(Date.now() / 1000) + 600 });
  assert.equal((await chat.openConversation(d.url, plain, 'm1')).status, 201);
});

test("an agent's reply is POSTed to the webhook, signed, with the delivery id; delivered once", async () => {
  assert.ok(u1, "u1's conversation exists");
  ({ ws: alice } = await chat.participant(d.url, aliceTok, { registry: clients, autoAck: true }));
  await chat.nextEntry(alice, 'inbox:alice', 'assigned', { conv: u1.conv, customer: 'app:u1' }, 5000);
  const pushed = await chat.messageAt(alice, `conv:${u1.conv}`, u1.seq, 5000);
  chat.assertMessagePush(pushed, u1.conv, { seq: u1.seq, from: 'app:u1', role: 'customer', text: 'hi from the app 👋', channel: 'app', client_id: 'app-msg-1' });

  const reply = 'Hello from support 你好 "q" & <b>';
  const sent = await chat.send(alice, u1.conv, 'app-r1', reply);
  const own = await chat.messageAt(alice, `conv:${u1.conv}`, sent.seq, 5000);
  const delivered = await chat.eventually(() => hook.deliveriesOf(reply)[0], 5000, 'the webhook receiving the reply');
  const attempt = hook.attemptsOf(reply)[0];
  assert.equal(attempt.verified, true, `X-Switchboard-Signature verifies; ${JSON.stringify(attempt.headers)}`);
  assert.equal(attempt.method, 'POST');
  assertWebhook(delivered, { text: reply, seq: sent.seq, entryId: own.id });
  const h = await chat.fullHistory(d.url, bossTok, u1.conv);
  assert.equal(h.find((m) => m.seq === sent.seq)?.id, delivered.body.id, 'the id is the history entry id');
  await sb.sleep(700);
  assert.equal(hook.attemptsOf(reply).length, 1, `one POST; ${JSON.stringify(hook.attemptsOf(reply).map((a) => a.status))}`);
  await emptyOutbox();
});

test('a receiver answering 503 for a while gets the reply retried with the same id, then delivered once', async () => {
  assert.ok(alice, 'alice is connected');
  hook.fail(503);
  const reply = 'retried through the outbox';
  const sent = await chat.send(alice, u1.conv, 'app-r2', reply);
  await chat.eventually(() => hook.attemptsOf(reply).length >= 2, 5000, 'at least two refused attempts');
  const row = await chat.eventually(async () => {
    const r = (await outbox()).pending.find((x) => x.conv === u1.conv && x.seq === sent.seq);
    return r && r.attempts >= 1 && r.last_error ? r : null;
  }, 3000, 'the delivery pending in the outbox with attempts and an error');
  assert.equal(row.channel, 'app', JSON.stringify(row));
  assert.equal(row.merchant, 'm1', JSON.stringify(row));
  assert.ok(['pending', 'sending'].includes(row.state), JSON.stringify(row));
  assert.equal(hook.deliveriesOf(reply).length, 0, 'not accepted while failing');

  hook.ok();
  const delivered = await chat.eventually(() => hook.deliveriesOf(reply)[0], 5000, 'delivered once the receiver answers 200');
  await sb.sleep(1000); // longer than retry_max: a delivery kept by mistake would come again
  const attempts = hook.attemptsOf(reply);
  assert.ok(attempts.length >= 3, `raw attempts: ${attempts.length} (>= 2 refused + 1 accepted)`);
  assert.deepEqual([...new Set(attempts.map((a) => a.delivery))], [delivered.body.id], 'every attempt carries the same delivery id');
  assert.equal(hook.deliveriesOf(reply).length, 1, 'one unique delivery');
  assert.equal(attempts.filter((a) => a.status === 200).length, 1, `accepted once; statuses ${attempts.map((a) => a.status)}`);
  assert.ok(attempts.every((a) => a.verified), 'every attempt is signed correctly');
  assert.ok(attempts.every((a) => a.raw === attempts[0].raw), 'every attempt has the same body');
  assert.equal(attempts.at(-1).status, 200, 'nothing after the accepted attempt');
  const entryId = (await chat.fullHistory(d.url, bossTok, u1.conv)).find((m) => m.seq === sent.seq)?.id;
  assertWebhook(delivered, { text: reply, seq: sent.seq, entryId });
  await emptyOutbox();
});

test("replies to web customers do not go to the webhook; a permanent 4xx leaves the delivery failed and later replies flow", async () => {
  assert.ok(alice, 'alice is connected');
  const webTok = await chat.customerToken(d.url, 'web-cust', 'm1');
  const opened = await chat.mustOpen(d.url, webTok, 'm1');
  await chat.nextEntry(alice, 'inbox:alice', 'assigned', { conv: opened.id }, 5000);
  await chat.send(alice, opened.id, 'web-r1', 'a reply to a web customer');
  await sb.sleep(700);
  assert.equal(hook.attempts.filter((a) => a.body?.conv === opened.id).length, 0, 'nothing POSTed for a web customer');
  assert.equal((await outbox()).pending.filter((r) => r.conv === opened.id).length, 0);

  hook.fail(400);
  const refused = 'refused for good';
  const s1 = await chat.send(alice, u1.conv, 'app-r3', refused);
  const row = await chat.eventually(async () => (await outbox()).failed.find((x) => x.conv === u1.conv && x.seq === s1.seq), 5000, 'the delivery listed as failed');
  assert.equal(row.state, 'failed', JSON.stringify(row));
  assert.ok(row.attempts >= 1 && row.last_error.length > 0, JSON.stringify(row));
  await sb.sleep(700);
  assert.equal(hook.attemptsOf(refused).length, 1, `a permanent refusal is not retried; ${hook.attemptsOf(refused).length} attempts`);

  hook.ok();
  const next = 'after the refused one';
  await chat.send(alice, u1.conv, 'app-r4', next);
  await chat.eventually(() => hook.deliveriesOf(next)[0], 5000, 'a later reply to the same user still delivered');
  assert.equal(hook.deliveriesOf(refused).length, 0, 'the failed one stays failed');
  const ob = await outbox();
  assert.equal(ob.failed.filter((x) => x.seq === s1.seq).length, 1, JSON.stringify(ob));
});

test('an admin retries a failed delivery (delivered once) or drops one (gone for good); others may not', async () => {
  const failedRows = async () => (await outbox()).failed.filter((x) => x.conv === u1.conv);
  const [row] = await failedRows();
  assert.ok(row, 'the failed delivery of the previous test is listed');
  const refused = 'refused for good';
  const path = (suffix) => `${d.url}/admin/outbox/${encodeURIComponent(row.id)}${suffix}`;

  // Only admins, and an unknown id answers 404.
  const byBoss = await sb.request(path('/retry'), { method: 'POST', headers: chat.bearer(bossTok) });
  assert.equal(byBoss.status, 403, byBoss.text);
  const unknown = await sb.request(`${d.url}/admin/outbox/no-such-id/retry`, { method: 'POST', headers: chat.bearer(adminTok) });
  sb.assertError(unknown, 404, 'not_found');

  const retried = await sb.request(path('/retry'), { method: 'POST', headers: chat.bearer(adminTok) });
  assert.equal(retried.status, 200, retried.text);
  await chat.eventually(() => hook.deliveriesOf(refused)[0], 5000, 'the retried delivery arrives');
  assert.equal(hook.deliveriesOf(refused).length, 1, 'delivered once');
  await chat.eventually(async () => ((await failedRows()).length === 0 ? true : null), 3000, 'no longer failed');

  // A second refused delivery is dropped: it leaves the outbox and is never sent.
  hook.fail(400);
  const dropped = 'dropped by the operator';
  const s = await chat.send(alice, u1.conv, 'app-r5', dropped);
  const failed = await chat.eventually(async () => (await failedRows()).find((x) => x.seq === s.seq), 5000, 'failed again');
  hook.ok();
  const del = await sb.request(`${d.url}/admin/outbox/${encodeURIComponent(failed.id)}`, { method: 'DELETE', headers: chat.bearer(adminTok) });
  assert.equal(del.status, 200, del.text);
  await emptyOutbox();
  const again = await sb.request(`${d.url}/admin/outbox/${encodeURIComponent(failed.id)}/retry`, { method: 'POST', headers: chat.bearer(adminTok) });
  sb.assertError(again, 404, 'not_found');
  await sb.sleep(500);
  assert.equal(hook.deliveriesOf(dropped).length, 0, 'a dropped delivery is never sent');
});
