// The WeChat official-account channel against the real daemon (docs/PROTOCOL.md, "Channels"):
// the callback's URL verification and signature/timestamp checks, inbound messages (CDATA,
// entities, unknown elements, MsgId de-duplication, size limit, media placeholders, events and
// the passive greeting), the full loop to an agent and back out through a stand-in for WeChat's
// API (access token fetched, refreshed on 42001), the outbox while WeChat is down (retried,
// delivered once, surviving kill -9), and channel settings through the admin API.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';
import * as ch from './lib/channels.mjs';

const M1_TOKEN = 'm1CallbackToken42';
const M2_TOKEN = 'm2CallbackToken77';
const GREETING = 'Welcome to m1 & friends <3 ]]> see you';
const ACCOUNT = 'gh_0123456789ab';

let d;
let wx; // stand-in for m1's WeChat account (configured in the config file)
let wx2; // stand-in for m2's account (configured through the admin API)
const clients = [];
let adminTok;
let bossTok; // merchant m1
let aliceTok; // agent m1
let alice; // alice's WsClient (connected from the full-loop test on)
let loop; // {openid, conv} of the full-loop conversation

// Failures carry the daemon's exit and sanitizer report when it died meanwhile.
const test = ch.daemonAwareTest(() => d);

before(async () => {
  wx = await ch.startWechatStandin({ appId: 'wx1111222233334444', appSecret: 'm1-app-secret-value' });
  wx2 = await ch.startWechatStandin({ appId: 'wx5555666677778888', appSecret: 'm2-app-secret-value' });
  d = await chat.startChat({
    chat: { agents: 'm1:alice:1:100,m2:bob:1:100' },
    // Nothing is pushed again on a live connection during this file: every push seen is new.
    delivery: { ack_timeout: '60s' },
    channels: { wechat_max_age: '300s', max_callback_body: '64KiB' },
    outbox: { retry_base: '100ms', retry_max: '500ms', http_timeout: '2s' },
    'channel.wechat.m1': {
      token: M1_TOKEN,
      app_id: wx.appId,
      app_secret: wx.appSecret,
      api_base: wx.url,
      greeting: GREETING,
    },
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
    await wx?.close();
    await wx2?.close();
  }
});

// ---------------------------------------------------------------- helpers

// The conversation of WeChat follower `openid`, and its stored messages, as the merchant sees them.
const convOf = (openid, merchantTok = bossTok) => ch.conversationOf(d.url, merchantTok, `wx:${openid}`);
const storedOf = (openid, merchantTok = bossTok) => ch.storedMessagesOf(d.url, merchantTok, `wx:${openid}`);

// POSTs a text message from `openid` to m1 and asserts 200 "success".
async function deliverText(openid, content, { msgId = ch.freshMsgId(), merchant = 'm1', token = M1_TOKEN } = {}) {
  const res = await ch.postWechat(d.url, merchant, token, ch.wechatXml({ to: ACCOUNT, from: openid, content, msgId }));
  assert.equal(res.status, 200, `POST /wechat/${merchant} text: got ${res.status} ${res.text.slice(0, 300)}`);
  assert.equal(res.text, 'success', 'the callback answers "success"');
  return msgId;
}

// The stored customer messages of `openid` (role customer).
const customerTexts = (msgs) => msgs.filter((m) => m.role === 'customer').map((m) => m.text);

// An outbox row of the contract.
function assertOutboxRow(row, { conv, seq, merchant = 'm1', channel = 'wechat' }) {
  const got = `got ${JSON.stringify(row)}`;
  assert.equal(typeof row.id, 'string', got);
  assert.ok(row.id.length > 0, got);
  assert.equal(row.channel, channel, got);
  assert.equal(row.merchant, merchant, got);
  assert.equal(row.conv, conv, got);
  assert.equal(row.seq, seq, got);
  assert.ok(Number.isInteger(row.created_ms) && Math.abs(row.created_ms - Date.now()) < 10 * 60 * 1000, `created_ms; ${got}`);
  assert.ok(Number.isInteger(row.attempts) && row.attempts >= 0, `attempts; ${got}`);
  assert.equal(typeof row.last_error, 'string', `last_error; ${got}`);
  assert.ok(['pending', 'sending', 'failed'].includes(row.state), `state; ${got}`);
}

async function outbox(token = adminTok) {
  const res = await ch.getOutbox(d.url, token);
  assert.equal(res.status, 200, `GET /admin/outbox: got ${res.status} ${res.text.slice(0, 300)}`);
  assert.ok(Array.isArray(res.body?.pending) && Array.isArray(res.body?.failed), `{"pending":[…],"failed":[…]}; got ${res.text.slice(0, 300)}`);
  return res.body;
}

// Waits until the outbox lists the delivery of conv/seq as pending with ≥ 1 failed attempt.
function pendingWithAttempts(conv, seq, timeoutMs = 5000) {
  return chat.eventually(
    async () => {
      const ob = await outbox();
      const row = ob.pending.find((r) => r.conv === conv && r.seq === seq);
      return row && row.attempts >= 1 && row.last_error ? row : null;
    },
    timeoutMs,
    `GET /admin/outbox listing the delivery of ${conv}@${seq} pending with attempts >= 1 and a last_error`,
  );
}

// Connects alice (auto-acking) if she is not connected.
async function ensureAlice() {
  if (alice?.isOpen) return alice;
  ({ ws: alice } = await chat.participant(d.url, aliceTok, { registry: clients, autoAck: true }));
  return alice;
}

// ---------------------------------------------------------------- URL verification

test('GET verification: the right signature echoes echostr; wrong token, stale timestamp and unconfigured merchants are refused', async () => {
  const echostr = '5838479218127813673';
  const ok = await ch.getWechat(d.url, 'm1', M1_TOKEN, { echostr });
  assert.equal(ok.status, 200, `got ${ok.status} ${ok.text}`);
  assert.match(String(ok.headers.get('content-type')), /^text\/plain/, 'echostr comes back as text/plain');
  assert.equal(ok.text, echostr, 'the body is exactly echostr');

  const wrong = await ch.getWechat(d.url, 'm1', 'not-the-token', { echostr });
  sb.assertError(wrong, 403, 'bad_signature', 'signed with another token');
  assert.ok(!wrong.text.includes(echostr), 'no echo on a bad signature');

  const tampered = await ch.getWechat(d.url, 'm1', M1_TOKEN, { echostr, signature: '0'.repeat(40) });
  sb.assertError(tampered, 403, 'bad_signature', 'a made-up signature');

  const stale = await ch.getWechat(d.url, 'm1', M1_TOKEN, { echostr, timestamp: ch.nowSeconds() - 3600 });
  sb.assertError(stale, 403, 'stale_timestamp', 'timestamp an hour ago (correctly signed)');
  const future = await ch.getWechat(d.url, 'm1', M1_TOKEN, { echostr, timestamp: ch.nowSeconds() + 3600 });
  sb.assertError(future, 403, 'stale_timestamp', 'timestamp an hour ahead (correctly signed)');

  const none = await ch.getWechat(d.url, 'm9', M1_TOKEN, { echostr });
  sb.assertError(none, 404, 'channel_not_configured', 'merchant m9 has no wechat channel');
  const nonePost = await ch.postWechat(d.url, 'm9', M1_TOKEN, ch.wechatXml({ from: ch.freshOpenid(), content: 'hi', msgId: ch.freshMsgId() }));
  sb.assertError(nonePost, 404, 'channel_not_configured', 'POST to merchant m9 without a wechat channel');
});

// ---------------------------------------------------------------- inbound messages

test('POST: text in CDATA, text with entities and unknown elements are stored as written, channel wechat', async () => {
  const openid = ch.freshOpenid();
  const t1 = 'hello <world> & "friends" 你好 ]]> end';
  const id1 = ch.freshMsgId();
  await deliverText(openid, t1, { msgId: id1 });

  const id2 = ch.freshMsgId();
  const r2 = await ch.postWechat(
    d.url,
    'm1',
    M1_TOKEN,
    ch.wechatXml({ to: ACCOUNT, from: openid, contentRaw: '&lt;b&gt;bold&lt;/b&gt; &amp; &quot;q&quot; &apos;a&apos; &#20320;&#x597D;', msgId: id2 }),
  );
  assert.equal(r2.status, 200, r2.text);
  assert.equal(r2.text, 'success');

  const id3 = ch.freshMsgId();
  const r3 = await ch.postWechat(
    d.url,
    'm1',
    M1_TOKEN,
    ch.wechatXml({
      to: ACCOUNT,
      from: openid,
      content: 'with unknown elements',
      msgId: id3,
      extra: '<Unknown attr="1"><Nested><![CDATA[ignored]]></Nested></Unknown><Idx>3</Idx><Bizmsgmenuid>99</Bizmsgmenuid>',
    }),
  );
  assert.equal(r3.status, 200, r3.text);
  assert.equal(r3.text, 'success');

  const conv = await convOf(openid);
  assert.ok(conv, `the merchant lists a conversation of wx:${openid}`);
  assert.match(conv.id, /^c[0-9a-f]{16}$/, JSON.stringify(conv));
  assert.ok(['unassigned', 'in_progress'].includes(conv.status), JSON.stringify(conv));

  const msgs = await chat.fullHistory(d.url, bossTok, conv.id);
  const mine = msgs.filter((m) => m.role === 'customer');
  assert.deepEqual(
    mine.map((m) => [m.from, m.role, m.text, m.channel]),
    [
      [`wx:${openid}`, 'customer', t1, 'wechat'],
      [`wx:${openid}`, 'customer', '<b>bold</b> & "q" \'a\' 你好', 'wechat'],
      [`wx:${openid}`, 'customer', 'with unknown elements', 'wechat'],
    ],
    JSON.stringify(msgs),
  );
  for (const m of mine) {
    assert.ok(Number.isInteger(m.seq) && typeof m.id === 'string' && Number.isInteger(m.ts), JSON.stringify(m));
    assert.ok(!('type' in m) || m.type === 'text', `a text message carries no media type; ${JSON.stringify(m)}`);
  }
});

test('refused callbacks answer 4xx and store nothing', async () => {
  // An existing conversation, whose history must not change, and a fresh follower, who must
  // not get one.
  const known = ch.freshOpenid();
  await deliverText(known, 'first and only');
  const stored = await storedOf(known);
  assert.deepEqual(customerTexts(stored), ['first and only']);
  const fresh = ch.freshOpenid();

  for (const openid of [known, fresh]) {
    const xml = (over = {}) => ch.wechatXml({ to: ACCOUNT, from: openid, content: 'must not be stored', msgId: ch.freshMsgId(), ...over });
    const cases = [
      ['wrong signature', await ch.postWechat(d.url, 'm1', 'wrong-token', xml()), 403, ['bad_signature']],
      ['stale timestamp', await ch.postWechat(d.url, 'm1', M1_TOKEN, xml(), { timestamp: ch.nowSeconds() - 3600 }), 403, ['stale_timestamp']],
      ['malformed XML', await ch.postWechat(d.url, 'm1', M1_TOKEN, xml().replace('</xml>', '</xm')), 400, ['malformed_xml']],
      ['not XML at all', await ch.postWechat(d.url, 'm1', M1_TOKEN, '{"Content":"must not be stored"}'), 400, ['malformed_xml']],
      [
        'a DOCTYPE (entity expansion)',
        await ch.postWechat(
          d.url,
          'm1',
          M1_TOKEN,
          '<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY a "must not be stored"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>\n' +
            xml({ content: undefined, contentRaw: '&b;' }),
        ),
        400,
        ['malformed_xml', 'invalid_field', 'missing_field'],
      ],
      ['text without Content', await ch.postWechat(d.url, 'm1', M1_TOKEN, xml({ content: null })), 400, ['missing_field']],
      ['text over chat.max_text', await ch.postWechat(d.url, 'm1', M1_TOKEN, xml({ content: 'x'.repeat(4097) })), 400, ['text_too_long']],
    ];
    for (const [what, res, status, codes] of cases) {
      const got = `${what} (${openid === known ? 'known' : 'fresh'} follower): got ${res.status} ${res.text.slice(0, 300)}`;
      assert.equal(res.status, status, got);
      assert.ok(codes.includes(res.body?.error), `error code in ${codes}; ${got}`);
      assert.equal(typeof res.body?.message, 'string', got);
      assert.notEqual(res.text, 'success', got);
    }
  }

  assert.deepEqual(await storedOf(known), stored, 'the known follower\'s history is unchanged');
  assert.equal(await convOf(fresh), undefined, 'the fresh follower has no conversation');
});

test('the same MsgId posted twice (WeChat retrying) is stored once; so is a message without MsgId retried with the same CreateTime', async () => {
  const openid = ch.freshOpenid();
  const msgId = ch.freshMsgId();
  const xml = ch.wechatXml({ to: ACCOUNT, from: openid, content: 'retried by wechat', msgId });
  for (let i = 0; i < 2; i++) {
    // A retry carries a new nonce/timestamp/signature, the same body.
    const res = await ch.postWechat(d.url, 'm1', M1_TOKEN, xml);
    assert.equal(res.status, 200, `attempt ${i + 1}: ${res.text}`);
    assert.equal(res.text, 'success');
  }
  const createTime = ch.nowSeconds() - 5;
  const noId = ch.wechatXml({ to: ACCOUNT, from: openid, content: 'no msgid', msgId: null, createTime });
  for (let i = 0; i < 2; i++) {
    const res = await ch.postWechat(d.url, 'm1', M1_TOKEN, noId);
    assert.equal(res.status, 200, `attempt ${i + 1} without MsgId: ${res.text}`);
    assert.equal(res.text, 'success');
  }
  const msgs = await storedOf(openid);
  assert.deepEqual(customerTexts(msgs), ['retried by wechat', 'no msgid'], JSON.stringify(msgs));
});

test('a callback body over 64 KiB answers 413 and stores nothing; exactly 64 KiB is accepted', async () => {
  const big = ch.freshOpenid();
  const base = ch.wechatXml({ to: ACCOUNT, from: big, content: 'too big', msgId: ch.freshMsgId() });
  const pad = (xml, total) => xml.replace('</xml>', `<Padding>${'p'.repeat(total - Buffer.byteLength(xml) - '<Padding></Padding>'.length)}</Padding></xml>`);
  const over = pad(base, 64 * 1024 + 1);
  assert.equal(Buffer.byteLength(over), 64 * 1024 + 1);
  const res = await ch.postWechat(d.url, 'm1', M1_TOKEN, over, { raw: true });
  assert.equal(res.status, 413, `got ${res.status} ${res.text.slice(0, 300)}`);
  assert.equal(await convOf(big), undefined, 'nothing stored for the oversized callback');

  const edge = ch.freshOpenid();
  const exact = pad(ch.wechatXml({ to: ACCOUNT, from: edge, content: 'exactly 64 KiB', msgId: ch.freshMsgId() }), 64 * 1024);
  assert.equal(Buffer.byteLength(exact), 64 * 1024);
  const ok = await ch.postWechat(d.url, 'm1', M1_TOKEN, exact, { raw: true });
  assert.equal(ok.status, 200, `got ${ok.status} ${ok.text.slice(0, 300)}`);
  assert.equal(ok.text, 'success');
  assert.deepEqual(customerTexts(await storedOf(edge)), ['exactly 64 KiB']);
});

test('events: subscribe answers the greeting as a passive text reply, unsubscribe answers success; neither is stored', async () => {
  const openid = ch.freshOpenid();
  const res = await ch.postWechat(d.url, 'm1', M1_TOKEN, ch.wechatXml({ to: ACCOUNT, from: openid, type: 'event', msgId: null, extra: { Event: 'subscribe' } }));
  assert.equal(res.status, 200, res.text);
  assert.match(String(res.headers.get('content-type')), /xml/, `a passive reply is XML; got ${res.headers.get('content-type')}`);
  assert.match(res.text.trim(), /^<xml>[\s\S]*<\/xml>$/, res.text);
  assert.equal(ch.xmlField(res.text, 'ToUserName'), openid, `the reply goes to the follower; ${res.text}`);
  assert.equal(ch.xmlField(res.text, 'FromUserName'), ACCOUNT, `from the official account; ${res.text}`);
  assert.equal(ch.xmlField(res.text, 'MsgType'), 'text', res.text);
  assert.equal(ch.xmlField(res.text, 'Content'), GREETING, `the configured greeting, intact; ${res.text}`);
  const ct = Number(ch.xmlField(res.text, 'CreateTime'));
  assert.ok(Number.isInteger(ct) && Math.abs(ct - ch.nowSeconds()) < 600, res.text);

  const un = await ch.postWechat(d.url, 'm1', M1_TOKEN, ch.wechatXml({ to: ACCOUNT, from: openid, type: 'event', msgId: null, extra: { Event: 'unsubscribe' } }));
  assert.equal(un.status, 200, un.text);
  assert.equal(un.text, 'success');
  assert.equal(await convOf(openid), undefined, 'events store nothing');
});

// ---------------------------------------------------------------- the loop

test('full loop: a WeChat follower writes, the agent gets it, the reply goes out through custom/send with a valid token', async () => {
  await ensureAlice();
  const openid = ch.freshOpenid('loop');
  const text = 'where is my order? 13812345678';
  const msgId = await deliverText(openid, text);

  const assigned = await chat.nextEntry(alice, 'inbox:alice', 'assigned', { customer: `wx:${openid}` }, 5000);
  const conv = assigned.data.conv;
  assert.match(conv, /^c[0-9a-f]{16}$/, JSON.stringify(assigned));
  const pushed = await chat.nextEntry(alice, `conv:${conv}`, 'message', (m) => m.from === `wx:${openid}`, 5000);
  chat.assertMessagePush(pushed, conv, { from: `wx:${openid}`, role: 'customer', text: 'where is my order? 138****5678', channel: 'wechat', client_id: `wx-${msgId}` });
  loop = { openid, conv };

  const fetchesBefore = wx.tokenFetches;
  const reply = 'Your parcel left the warehouse today. 你好 "quoted" <tag> & more';
  const sent = await chat.send(alice, conv, 'loop-r1', reply);
  const out = await chat.eventually(() => wx.sendsOf(reply)[0], 5000, 'the stand-in receiving custom/send with the reply');
  assert.deepEqual(out.body, { touser: openid, msgtype: 'text', text: { content: reply } }, out.raw);
  assert.ok(wx.issued.includes(out.token), `the access token is one the stand-in issued; ${out.token}`);
  assert.ok(wx.tokenFetches >= Math.max(1, fetchesBefore), `a token was fetched (${wx.tokenFetches})`);
  assert.ok(
    wx.tokenRequests.every((r) => r.query.grant_type === 'client_credential' && r.query.appid === wx.appId && r.query.secret === wx.appSecret),
    JSON.stringify(wx.tokenRequests),
  );
  // The reply is in the history as the agent's message, and goes out once.
  const h = await chat.fullHistory(d.url, bossTok, conv);
  const stored = h.find((m) => m.seq === sent.seq);
  assert.equal(stored?.from, 'alice', JSON.stringify(h));
  assert.equal(stored?.role, 'agent', JSON.stringify(stored));
  assert.equal(stored?.text, reply, JSON.stringify(stored));
  await sb.sleep(700);
  assert.equal(wx.sendsOf(reply).length, 1, `delivered exactly once; ${JSON.stringify(wx.sendsOf(reply))}`);
});

test('an expired access token (42001) is fetched again and the reply is delivered once, with the new token', async () => {
  assert.ok(loop, 'the full-loop test ran');
  assert.ok(wx.sends.length >= 1, 'one successful send happened before');
  const fetchesBefore = wx.tokenFetches;
  const old = wx.expireCurrentToken();
  assert.ok(old, 'there was a current token');

  const reply = 'second reply, after the token expired';
  await chat.send(alice, loop.conv, 'loop-r2', reply);
  const out = await chat.eventually(() => wx.sendsOf(reply)[0], 5000, 'the reply delivered with a fresh token');
  assert.notEqual(out.token, old, 'sent with the new token');
  assert.equal(out.token, wx.current, 'the current token');
  assert.ok(wx.tokenFetches > fetchesBefore, `the token was fetched again (${fetchesBefore} → ${wx.tokenFetches})`);
  const refused = wx.attempts.filter((a) => a.body?.text?.content === reply && a.errcode === 42001);
  assert.ok(refused.length >= 1 && refused.every((a) => a.token === old), `first tried with the expired token: ${JSON.stringify(wx.attempts.filter((a) => a.body?.text?.content === reply))}`);
  await sb.sleep(700);
  assert.equal(wx.sendsOf(reply).length, 1, `exactly one delivery; ${JSON.stringify(wx.sendsOf(reply))}`);
  assert.deepEqual(out.body, { touser: loop.openid, msgtype: 'text', text: { content: reply } });
});

test('WeChat down: the outbox keeps the replies pending with attempts and an error, then delivers each once, in order', async () => {
  assert.ok(loop, 'the full-loop test ran');
  const merchantOutbox = await ch.getOutbox(d.url, bossTok);
  sb.assertError(merchantOutbox, 403, 'forbidden', 'a merchant token may not read the outbox');
  const agentOutbox = await ch.getOutbox(d.url, aliceTok);
  sb.assertError(agentOutbox, 403, 'forbidden', 'an agent token may not read the outbox');

  wx.down(500);
  const r1 = 'sent while wechat is down (1)';
  const r2 = 'sent while wechat is down (2)';
  const s1 = await chat.send(alice, loop.conv, 'loop-r3', r1);
  const s2 = await chat.send(alice, loop.conv, 'loop-r4', r2);
  const row = await pendingWithAttempts(loop.conv, s1.seq);
  assertOutboxRow(row, { conv: loop.conv, seq: s1.seq });
  assert.ok(['pending', 'sending'].includes(row.state), JSON.stringify(row));
  assert.ok(row.last_error.length > 0, JSON.stringify(row));
  const ob = await outbox();
  const row2 = ob.pending.find((r) => r.conv === loop.conv && r.seq === s2.seq);
  assert.ok(row2, `the second reply waits in the outbox too; ${JSON.stringify(ob)}`);
  assertOutboxRow(row2, { conv: loop.conv, seq: s2.seq });
  assert.notEqual(row2.id, row.id);
  assert.ok(wx.downHits >= 1, 'the daemon tried while down');
  assert.equal(wx.sendsOf(r1).length + wx.sendsOf(r2).length, 0, 'nothing delivered while down');

  wx.up();
  await chat.eventually(() => wx.sendsOf(r1).length && wx.sendsOf(r2).length, 8000, 'both replies delivered after up()');
  await sb.sleep(1000); // longer than retry_max: a wrongly kept delivery would be sent again
  assert.equal(wx.sendsOf(r1).length, 1, `r1 exactly once; ${JSON.stringify(wx.sendsOf(r1))}`);
  assert.equal(wx.sendsOf(r2).length, 1, `r2 exactly once; ${JSON.stringify(wx.sendsOf(r2))}`);
  assert.ok(wx.sends.indexOf(wx.sendsOf(r1)[0]) < wx.sends.indexOf(wx.sendsOf(r2)[0]), 'in order');
  const empty = await chat.eventually(async () => {
    const o = await outbox();
    return o.pending.length === 0 && o.failed.length === 0 ? o : null;
  }, 3000, 'an empty outbox');
  assert.deepEqual(empty, { pending: [], failed: [] });
});

// ---------------------------------------------------------------- admin API

test('admin API: PUT configures m2 at run time (secrets shown as ***); unknown channels 404; non-admins 403', async () => {
  const echostr = '1234567890';
  sb.assertError(await ch.getWechat(d.url, 'm2', M2_TOKEN, { echostr }), 404, 'channel_not_configured', 'm2 before PUT');
  const initial = await ch.getChannels(d.url, adminTok, 'm2');
  assert.equal(initial.status, 200, initial.text);
  assert.deepEqual(initial.body, { wechat: null, app: null }, initial.text);

  const settings = { token: M2_TOKEN, app_id: wx2.appId, app_secret: wx2.appSecret, api_base: wx2.url };
  // Non-admins and another merchant's admin may not configure m2; an invalid body changes nothing.
  const m2Tok = await chat.merchantToken(d.url, 'boss2', 'm2');
  const bobTok = await chat.agentToken(d.url, 'bob', 'm2');
  const m1AdminTok = await sb.devToken(d.url, 'root-m1', 'admin', 'm1');
  const evil = { ...settings, token: 'evilToken' };
  sb.assertError(await ch.adminPutChannel(d.url, m2Tok, 'm2', 'wechat', evil), 403, 'forbidden', 'merchant token PUT');
  sb.assertError(await ch.adminPutChannel(d.url, bobTok, 'm2', 'wechat', evil), 403, 'forbidden', 'agent token PUT');
  sb.assertError(await ch.adminPutChannel(d.url, m1AdminTok, 'm2', 'wechat', evil), 403, 'forbidden', 'admin of m1 PUT for m2');
  sb.assertError(await ch.getChannels(d.url, m2Tok, 'm2'), 403, 'forbidden', 'merchant token GET channels');
  sb.assertError(await ch.adminPutChannel(d.url, adminTok, 'm2', 'wechat', { token: M2_TOKEN, app_id: wx2.appId }), 400, 'invalid_field', 'no app_secret');
  sb.assertError(
    await ch.adminPutChannel(d.url, adminTok, 'm2', 'wechat', { ...settings, api_base: 'ftp://example' }),
    400,
    'invalid_field',
    'api_base not http(s)',
  );
  sb.assertError(await ch.getWechat(d.url, 'm2', 'evilToken', { echostr }), 404, 'channel_not_configured', 'refused PUTs changed nothing');

  const put = await ch.adminPutChannel(d.url, adminTok, 'm2', 'wechat', settings);
  assert.equal(put.status, 200, `PUT wechat for m2: got ${put.status} ${put.text}`);
  assert.equal(put.body?.merchant, 'm2', put.text);
  assert.equal(put.body?.channel, 'wechat', put.text);
  assert.equal(put.body?.settings?.token, '***', put.text);
  assert.equal(put.body?.settings?.app_secret, '***', put.text);
  assert.equal(put.body?.settings?.app_id, wx2.appId, put.text);
  assert.equal(put.body?.settings?.api_base, wx2.url, put.text);
  assert.ok(!put.text.includes(M2_TOKEN) && !put.text.includes(wx2.appSecret), `no secret in the answer; ${put.text}`);

  const shown = await ch.getChannels(d.url, adminTok, 'm2');
  assert.equal(shown.status, 200, shown.text);
  assert.equal(shown.body?.app, null, shown.text);
  assert.equal(shown.body?.wechat?.token, '***', shown.text);
  assert.equal(shown.body?.wechat?.app_secret, '***', shown.text);
  assert.equal(shown.body?.wechat?.app_id, wx2.appId, shown.text);
  assert.equal(shown.body?.wechat?.api_base, wx2.url, shown.text);
  assert.ok(!shown.text.includes(M2_TOKEN) && !shown.text.includes(wx2.appSecret), `no secret shown; ${shown.text}`);
  // The config file's m1 channel reads the same way.
  const m1 = await ch.getChannels(d.url, adminTok, 'm1');
  assert.equal(m1.status, 200, m1.text);
  assert.equal(m1.body?.wechat?.token, '***', m1.text);
  assert.equal(m1.body?.wechat?.app_secret, '***', m1.text);
  assert.ok(!m1.text.includes(M1_TOKEN) && !m1.text.includes(wx.appSecret), m1.text);

  const sms = await ch.adminPutChannel(d.url, adminTok, 'm2', 'sms', { token: 'x', number: '123' });
  sb.assertError(sms, 404, 'unknown_channel', 'PUT …/channels/sms');
  sb.assertError(await ch.adminPutChannel(d.url, m2Tok, 'm2', 'wechat', evil), 403, 'forbidden', 'merchant token PUT after configuration');
  const unchanged = await ch.getChannels(d.url, adminTok, 'm2');
  assert.deepEqual(unchanged.body, shown.body, 'nothing changed');

  // Callbacks for m2 now work, with m2's token only.
  const ok = await ch.getWechat(d.url, 'm2', M2_TOKEN, { echostr });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.text, echostr);
  sb.assertError(await ch.getWechat(d.url, 'm2', M1_TOKEN, { echostr }), 403, 'bad_signature', "m1's token on m2");
  sb.assertError(await ch.getWechat(d.url, 'm2', 'evilToken', { echostr }), 403, 'bad_signature', 'the refused token was never set');
  const sub = await ch.postWechat(d.url, 'm2', M2_TOKEN, ch.wechatXml({ from: ch.freshOpenid(), type: 'event', msgId: null, extra: { Event: 'subscribe' } }));
  assert.equal(sub.status, 200, sub.text);
  assert.equal(sub.text, 'success', 'subscribe without a greeting answers success');

  // …and the reply of m2's agent goes out through the stand-in named by api_base.
  const { ws: bob } = await chat.participant(d.url, bobTok, { registry: clients, autoAck: true });
  const openid = ch.freshOpenid('m2');
  await deliverText(openid, 'hello m2', { merchant: 'm2', token: M2_TOKEN });
  const stored = await storedOf(openid, m2Tok);
  assert.deepEqual(customerTexts(stored), ['hello m2']);
  assert.equal(stored[0].channel, 'wechat');
  const assigned = await chat.nextEntry(bob, 'inbox:bob', 'assigned', { customer: `wx:${openid}` }, 5000);
  await chat.send(bob, assigned.data.conv, 'm2-r1', 'reply from m2');
  const out = await chat.eventually(() => wx2.sendsOf('reply from m2')[0], 5000, "m2's stand-in receiving the reply");
  assert.deepEqual(out.body, { touser: openid, msgtype: 'text', text: { content: 'reply from m2' } });
  assert.equal(wx.sendsOf('reply from m2').length, 0, "not sent to m1's account");
  await bob.close();
});

// ---------------------------------------------------------------- crash

test('kill -9 with a pending delivery: after restart on the same data dir it is delivered exactly once', async () => {
  assert.ok(loop, 'the full-loop test ran');
  await ensureAlice();
  const deliveredBefore = wx.sends.map((s) => s.body?.text?.content);
  wx.down(); // connections destroyed
  const reply = 'pending across kill -9';
  const sent = await chat.send(alice, loop.conv, 'loop-r5', reply);
  const row = await pendingWithAttempts(loop.conv, sent.seq);
  assertOutboxRow(row, { conv: loop.conv, seq: sent.seq });

  const killed = await d.kill9();
  assert.equal(killed.signal, 'SIGKILL', JSON.stringify(killed));
  await d.restart();
  // Still down: the delivery is listed again after the restart.
  const again = await chat.eventually(async () => (await outbox()).pending.find((r) => r.conv === loop.conv && r.seq === sent.seq), 5000, 'the delivery listed after restart');
  assertOutboxRow(again, { conv: loop.conv, seq: sent.seq });
  assert.equal(again.id, row.id, 'the same delivery');
  assert.equal(wx.sendsOf(reply).length, 0, 'not delivered yet');

  wx.up();
  const out = await chat.eventually(() => wx.sendsOf(reply)[0], 8000, 'the pending reply delivered after restart');
  assert.deepEqual(out.body, { touser: loop.openid, msgtype: 'text', text: { content: reply } });
  await sb.sleep(1000);
  assert.equal(wx.sendsOf(reply).length, 1, `exactly once; ${JSON.stringify(wx.sendsOf(reply))}`);
  for (const text of new Set(deliveredBefore)) {
    assert.equal(wx.sendsOf(text).length, deliveredBefore.filter((t) => t === text).length, `"${text}" was not sent again after the restart`);
  }
  const empty = await chat.eventually(async () => {
    const o = await outbox();
    return o.pending.length === 0 && o.failed.length === 0 ? o : null;
  }, 3000, 'an empty outbox after delivery');
  assert.deepEqual(empty, { pending: [], failed: [] });
});

// ---------------------------------------------------------------- media (last: a daemon crash
// here must not hide the results above)

test('an image message is stored with type "image", a placeholder text and its media fields', async () => {
  const openid = ch.freshOpenid();
  const picUrl = 'http://mmbiz.qpic.cn/mmbiz_jpg/abc123/0';
  const res = await ch.postWechat(
    d.url,
    'm1',
    M1_TOKEN,
    ch.wechatXml({ to: ACCOUNT, from: openid, type: 'image', msgId: ch.freshMsgId(), extra: { PicUrl: picUrl, MediaId: 'media_id_42' } }),
  );
  assert.equal(res.status, 200, res.text);
  assert.equal(res.text, 'success');
  const msgs = (await storedOf(openid)).filter((m) => m.role === 'customer');
  assert.equal(msgs.length, 1, JSON.stringify(msgs));
  const m = msgs[0];
  assert.equal(m.type, 'image', `history carries type "image"; ${JSON.stringify(m)}`);
  assert.equal(m.channel, 'wechat', JSON.stringify(m));
  assert.equal(m.from, `wx:${openid}`, JSON.stringify(m));
  assert.match(m.text, /^\[image\]/, `placeholder text; ${JSON.stringify(m)}`);
  assert.equal(m.media?.pic_url, picUrl, `media.pic_url; ${JSON.stringify(m)}`);
  assert.equal(m.media?.media_id, 'media_id_42', `media.media_id; ${JSON.stringify(m)}`);

  // The other documented placeholders: "[voice] <recognition>", "[location] <label> (x,y)",
  // "[link] <title> <url>".
  const more = [
    ['voice', { MediaId: 'voice_media_1', Format: 'amr', Recognition: 'where is my parcel' }, '[voice] where is my parcel', { media_id: 'voice_media_1', recognition: 'where is my parcel' }],
    ['location', { Location_X: '23.134521', Location_Y: '113.358803', Scale: '20', Label: 'Guangzhou Tower' }, '[location] Guangzhou Tower (23.134521,113.358803)', { label: 'Guangzhou Tower' }],
    ['link', { Title: 'My order', Description: 'see this', Url: 'https://example.com/o/1' }, '[link] My order https://example.com/o/1', { title: 'My order', url: 'https://example.com/o/1' }],
  ];
  const other = ch.freshOpenid();
  for (const [type, extra] of more) {
    const r = await ch.postWechat(d.url, 'm1', M1_TOKEN, ch.wechatXml({ to: ACCOUNT, from: other, type, msgId: ch.freshMsgId(), extra }));
    assert.equal(r.status, 200, `${type}: ${r.text}`);
    assert.equal(r.text, 'success');
  }
  const stored = (await storedOf(other)).filter((x) => x.role === 'customer');
  assert.deepEqual(stored.map((x) => [x.type, x.text, x.channel]), more.map(([type, , text]) => [type, text, 'wechat']), JSON.stringify(stored));
  for (const [i, [, , , media]] of more.entries()) {
    for (const [k, v] of Object.entries(media)) assert.equal(stored[i].media?.[k], v, `media.${k}; ${JSON.stringify(stored[i])}`);
  }
});
