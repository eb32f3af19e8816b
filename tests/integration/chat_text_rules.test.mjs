// Chat text rules: valid UTF-8, at most chat.max_text bytes, no control characters other than
// newline and tab (HTTP 400 / WebSocket error frames text_too_long, invalid_text, invalid_utf8);
// nothing is stored on an error. Phone numbers are masked in what agents receive (pushes and
// history) and shown as written to the customer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';

let d;
const clients = [];
let conv;
let stream;
let custTok;
let agentTok;
let customer;
let agent;
const accepted = []; // {seq, text} of every message stored, in the order sent

before(async () => {
  d = await chat.startChat({
    chat: { max_text: 4096 },
    privacy: { mask_phone: 'true' },
  });
  agentTok = await chat.agentToken(d.url, 'alice', 'm1');
  custTok = await chat.customerToken(d.url, 'cust-t', 'm1');
  agent = (await chat.participant(d.url, agentTok, { registry: clients, autoAck: true })).ws;
  conv = (await chat.mustOpen(d.url, custTok, 'm1', { status: 201 })).id;
  stream = `conv:${conv}`;
  await chat.nextEntry(agent, 'inbox:alice', 'assigned', { conv });
  customer = (await chat.participant(d.url, custTok, { registry: clients, autoAck: true })).ws;
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

const ok = [
  ['4096 ASCII bytes', 'a'.repeat(4096)],
  ['4096 bytes of 2-byte characters (2048 × é)', 'é'.repeat(2048)],
  ['4096 bytes of 4-byte characters (1024 × 😀)', '😀'.repeat(1024)],
  ['newline and tab', 'line one\nline two\tend\n'],
  ['markup, stored as written', '<b>bold</b> & "quotes" \\ backslash'],
];
const tooLong = [
  ['4097 ASCII bytes', 'a'.repeat(4097)],
  ['4097 bytes in 2049 characters (2048 × é + a)', 'é'.repeat(2048) + 'a'],
  ['4100 bytes of 4-byte characters (1025 × 😀)', '😀'.repeat(1025)],
];
const controls = [
  ['\\u0001', 'a\u0001b'],
  ['\\u0000', 'a\u0000b'],
  ['ESC \\u001b', '\u001b[31mred'],
  ['carriage return \\r', 'a\r\nb'],
  ['DEL \\u007f', 'a\u007fb'],
  ['C1 control \\u0085', 'a\u0085b'],
];

describe('HTTP POST /api/conversations/{id}/messages', () => {
  for (const [what, text] of ok) {
    test(`${what} → 201`, async () => {
      const r = chat.assertPosted(await chat.postMessage(d.url, custTok, conv, chat.uid('ok-http'), text), conv, what);
      accepted.push({ seq: r.seq, text });
    });
  }
  for (const [what, text] of tooLong) {
    test(`${what} → 400 text_too_long`, async () => {
      sb.assertError(await chat.postMessage(d.url, custTok, conv, chat.uid('long-http'), text), 400, 'text_too_long');
    });
  }
  for (const [what, text] of controls) {
    test(`control character ${what} → 400 invalid_text`, async () => {
      sb.assertError(await chat.postMessage(d.url, custTok, conv, chat.uid('ctl-http'), text), 400, 'invalid_text');
    });
  }
  test('invalid UTF-8 bytes in the body → 400 invalid_utf8', async () => {
    for (const bad of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80] /* a UTF-16 surrogate */, [0xe2, 0x82] /* truncated */]) {
      const body = Buffer.concat([Buffer.from(`{"id":"${chat.uid('utf8')}","text":"ab`), Buffer.from(bad), Buffer.from('cd"}')]);
      sb.assertError(await chat.postMessage(d.url, custTok, conv, null, null, { body }), 400, 'invalid_utf8', `bytes ${bad.map((b) => b.toString(16))}`);
    }
  });
  test('an agent is held to the same rules', async () => {
    sb.assertError(await chat.postMessage(d.url, agentTok, conv, chat.uid('long-agent'), 'a'.repeat(4097)), 400, 'text_too_long');
    sb.assertError(await chat.postMessage(d.url, agentTok, conv, chat.uid('ctl-agent'), 'a\u0001b'), 400, 'invalid_text');
  });
});

describe('WebSocket send', () => {
  for (const [what, text] of ok) {
    test(`${what} → sent`, async () => {
      const r = await chat.send(customer, conv, chat.uid('ok-ws'), text);
      accepted.push({ seq: r.seq, text });
    });
  }
  for (const [what, text] of tooLong) {
    test(`${what} → error text_too_long`, async () => {
      await chat.sendFails(customer, conv, chat.uid('long-ws'), text, 'text_too_long');
    });
  }
  for (const [what, text] of controls) {
    test(`control character ${what} → error invalid_text`, async () => {
      await chat.sendFails(customer, conv, chat.uid('ctl-ws'), text, 'invalid_text');
    });
  }
  test('an agent is held to the same rules; the connections stay open', async () => {
    await chat.sendFails(agent, conv, chat.uid('long-agent-ws'), 'a'.repeat(4097), 'text_too_long');
    await chat.sendFails(agent, conv, chat.uid('ctl-agent-ws'), 'a\u0001b', 'invalid_text');
    assert.ok(customer.isOpen && agent.isOpen, `${customer.describe()} / ${agent.describe()}`);
  });
});

test('nothing was stored on any error: history and pushes hold exactly the accepted texts, as written', async () => {
  assert.equal(accepted.length, ok.length * 2, 'every good text was accepted');
  const expected = [...accepted].sort((a, b) => a.seq - b.seq);
  // Messages only (status entries, should the history hold any, have no sender role).
  const h = (await chat.fullHistory(d.url, custTok, conv)).filter((m) => m.role === 'customer' || m.role === 'agent');
  assert.deepEqual(
    h.map((m) => [m.seq, m.text]),
    expected.map((m) => [m.seq, m.text]),
    'the customer\'s history',
  );
  for (let i = 1; i < expected.length; i++) {
    assert.equal(expected[i].seq, expected[i - 1].seq + 1, `no seq used by a refused message between ${expected[i - 1].seq} and ${expected[i].seq}`);
  }
  const last = expected[expected.length - 1].seq;
  await chat.eventually(() => chat.lastSeq(agent, stream) >= last, 3000, 'the agent got every accepted message');
  const atAgent = new Map();
  for (const f of agent.frames) if (f.op === 'push' && f.stream === stream && f.kind === 'message') atAgent.set(f.seq, f.data.text);
  assert.deepEqual(
    [...atAgent].sort((a, b) => a[0] - b[0]),
    expected.map((m) => [m.seq, m.text]),
    'the agent\'s pushes',
  );
});

describe('phone masking', () => {
  test('the customer sees "call me 13812345678" as written; the agent sees 138****5678 in pushes and history', async () => {
    const text = 'call me 13812345678';
    const r = await chat.send(customer, conv, chat.uid('phone'), text);
    const own = await chat.messageAt(customer, stream, r.seq);
    assert.equal(own.data.text, text, JSON.stringify(own));
    const atAgent = await chat.messageAt(agent, stream, r.seq);
    assert.equal(atAgent.data.text, 'call me 138****5678', JSON.stringify(atAgent));
    const agentView = (await chat.history(d.url, agentTok, conv, { after: r.seq - 1, limit: 1 }))[0];
    assert.equal(agentView?.seq, r.seq, JSON.stringify(agentView));
    assert.equal(agentView.text, 'call me 138****5678', 'the agent\'s history');
    const customerView = (await chat.history(d.url, custTok, conv, { after: r.seq - 1, limit: 1 }))[0];
    assert.equal(customerView?.text, text, 'the customer\'s history: stored as written');
  });

  for (const [text, masked] of [
    ['+86 138-1234-5678', '+86 1**-****-5678'],
    ['5551-2345', '555*-2345'],
    ['call 13812345678 or 13987654321', 'call 138****5678 or 139****4321'],
    ['phone:13812345678.', 'phone:138****5678.'],
    ['order 123456789012345678 shipped', 'order 123456789012345678 shipped'], // 18 digits: not a phone
    ['ref AB13812345678', 'ref AB13812345678'], // part of a longer run of letters and digits
    ['code 1234567', 'code 1234567'], // 7 digits
  ]) {
    test(`over HTTP, "${text}" reaches the agent as "${masked}"`, async () => {
      const r = chat.assertPosted(await chat.postMessage(d.url, custTok, conv, chat.uid('phone-http'), text), conv);
      const atAgent = await chat.messageAt(agent, stream, r.seq);
      assert.equal(atAgent.data.text, masked, JSON.stringify(atAgent));
      const own = await chat.messageAt(customer, stream, r.seq);
      assert.equal(own.data.text, text, JSON.stringify(own));
      const agentView = (await chat.history(d.url, agentTok, conv, { after: r.seq - 1, limit: 1 }))[0];
      assert.equal(agentView?.text, masked, JSON.stringify(agentView));
    });
  }
});
