// Who may see a conversation: its customer, the agent it is assigned to (or any agent of the
// merchant while it is queued) and the merchant. Everyone else gets 404 {"error":"not_found"}
// exactly as for a conversation that does not exist, over HTTP and WebSocket, and nothing they
// try is stored. Customers may not list conversations (403); merchants list all of theirs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';
import { chatFixture } from './lib/fixture.mjs';

const MISSING = 'c0000000000000000';
let convA; // cust-a's conversation with m1, assigned to alice
let firstSeq; // seq of A's own message
let alice; // alice's WsClient
const fx = chatFixture({
  alice: ['agent', 'alice', 'm1'],
  a: ['customer', 'cust-a', 'm1'],
  b: ['customer', 'cust-b', 'm1'],
  aOfM2: ['customer', 'cust-a', 'm2'], // same sub, another merchant
  dave: ['agent', 'dave', 'm2'],
  carol: ['agent', 'carol', 'm1'], // m1 agent, never online: nothing assigned to her
  boss: ['merchant', 'boss', 'm1'],
  boss2: ['merchant', 'boss2', 'm2'],
}, async () => {
  alice = (await chat.participant(fx.url, tok.alice, { registry: clients, autoAck: true })).ws;
  const opened = await chat.mustOpen(fx.url, tok.a, 'm1', { status: 201 });
  convA = opened.id;
  await chat.nextEntry(alice, 'inbox:alice', 'assigned', { conv: convA });
  firstSeq = chat.assertPosted(await chat.postMessage(fx.url, tok.a, convA, 'a-1', 'my address is secret'), convA).seq;
  await chat.messageAt(alice, `conv:${convA}`, firstSeq);
});
const { clients, tok } = fx;

// The answer with the conversation id blanked, so two answers for two ids can be compared whole.
const shape = (res, id) => ({
  status: res.status,
  type: String(res.headers.get('content-type')),
  body: JSON.parse(res.text.split(id).join('<id>')),
});

// `res` (about convA) is a 404 not_found indistinguishable from `missing` (about MISSING).
function assertLikeMissing(res, missing, what) {
  sb.assertError(res, 404, 'not_found', what);
  sb.assertError(missing, 404, 'not_found', `${what} (made-up id)`);
  assert.deepEqual(shape(res, convA), shape(missing, MISSING), `${what}: the same answer as for a conversation that does not exist`);
}

describe('someone else\'s conversation answers exactly like a missing one', () => {
  for (const [who, key] of [
    ['customer B of the same merchant', 'b'],
    ['a customer of m2 with the same sub', 'aOfM2'],
    ['an agent of m2', 'dave'],
    ['an agent of m1 it is not assigned to (and it is not queued)', 'carol'],
    ['the merchant m2', 'boss2'],
  ]) {
    test(`${who}: GET messages → 404`, async () => {
      assertLikeMissing(await chat.getMessages(fx.url, tok[key], convA), await chat.getMessages(fx.url, tok[key], MISSING), `GET as ${key}`);
      assertLikeMissing(
        await chat.getMessages(fx.url, tok[key], convA, { after: 0, limit: 10 }),
        await chat.getMessages(fx.url, tok[key], MISSING, { after: 0, limit: 10 }),
        `GET ?after=0 as ${key}`,
      );
    });
    if (key !== 'boss2') {
      test(`${who}: POST a message → 404`, async () => {
        assertLikeMissing(
          await chat.postMessage(fx.url, tok[key], convA, `x-${key}`, `intruder ${key}`),
          await chat.postMessage(fx.url, tok[key], MISSING, `x-${key}`, `intruder ${key}`),
          `POST as ${key}`,
        );
      });
    }
  }

  for (const [who, key] of [
    ['customer B', 'b'],
    ['an agent of m2', 'dave'],
  ]) {
    test(`${who}: WebSocket send → error not_found, like a made-up id`, async () => {
      const { ws } = await chat.participant(fx.url, tok[key], { registry: clients });
      const onA = await chat.sendFails(ws, convA, `w-${key}`, `intruder ws ${key}`, 'not_found');
      const onMissing = await chat.sendFails(ws, MISSING, `w-${key}`, `intruder ws ${key}`, 'not_found');
      const blank = (f, id) => JSON.parse(JSON.stringify(f).split(id).join('<id>'));
      assert.deepEqual(blank(onA, convA), blank(onMissing, MISSING), 'the same error frame');
      assert.deepEqual(await ws.quietFor((f) => f.op === 'push' && f.stream === `conv:${convA}`, 200), [], ws.describe());
      await ws.close();
    });
  }

  // hello naming a stream the principal does not read: a welcome or an error frame, either way
  // the same as for a conversation that does not exist, and nothing of A's stream.
  for (const [who, key] of [
    ['customer B', 'b'],
    ['an agent of m1 it is not assigned to', 'carol'],
    ['an agent of m2', 'dave'],
  ]) {
    test(`${who} resuming A's stream gets none of it, and the same answer as for a made-up one`, async () => {
      const answer = async (id) => {
        const ws = await sb.connectWs(fx.url, tok[key]);
        clients.push(ws);
        ws.send({ op: 'hello', resume: { [`conv:${id}`]: 0 } });
        const f = await ws.next((x) => x.op === 'welcome' || (x.op === 'error' && x.ref === 'hello'), 3000, 'welcome or an error frame for hello');
        return { ws, f };
      };
      const onA = await answer(convA);
      const onMissing = await answer(MISSING);
      const blank = (f, id) => JSON.parse(JSON.stringify(f).split(id).join('<id>'));
      assert.deepEqual(blank(onA.f, convA), blank(onMissing.f, MISSING), 'the same answer');
      if (onA.f.op === 'welcome') assert.ok(!onA.f.streams.includes(`conv:${convA}`), JSON.stringify(onA.f));
      assert.deepEqual(await onA.ws.quietFor((f) => f.op === 'push' && f.stream === `conv:${convA}`, 500), [], onA.ws.describe());
      await onA.ws.close();
      await onMissing.ws.close();
    });
  }

  test('an agent of m1 connected later does not get A\'s conversation (assigned to alice)', async () => {
    const { ws, welcome } = await chat.participant(fx.url, tok.carol, { registry: clients });
    assert.ok(!welcome.streams.includes(`conv:${convA}`), JSON.stringify(welcome));
    const onA = await chat.sendFails(ws, convA, 'w-carol', 'intruder ws carol', 'not_found');
    const onMissing = await chat.sendFails(ws, MISSING, 'w-carol', 'intruder ws carol', 'not_found');
    const blank = (f, id) => JSON.parse(JSON.stringify(f).split(id).join('<id>'));
    assert.deepEqual(blank(onA, convA), blank(onMissing, MISSING), 'the same error frame');
    assert.deepEqual(await ws.quietFor((f) => f.op === 'push' && f.stream === `conv:${convA}`, 300), [], ws.describe());
    await ws.close();
  });
});

describe('listing conversations', () => {
  test('a customer may not list conversations: 403 forbidden', async () => {
    sb.assertError(await chat.listConversations(fx.url, tok.a), 403, 'forbidden');
    sb.assertError(await chat.listConversations(fx.url, tok.a, 'in_progress'), 403, 'forbidden');
  });
  test('the merchant of m1 lists A\'s conversation and may read it', async () => {
    for (const status of ['in_progress', undefined]) {
      const list = await chat.conversations(fx.url, tok.boss, status);
      const row = list.find((c) => c.id === convA);
      assert.ok(row, `status=${status}: listed; got ${JSON.stringify(list)}`);
      assert.equal(row.status, 'in_progress', JSON.stringify(row));
      assert.equal(row.agent, 'alice', JSON.stringify(row));
      assert.equal(row.customer, 'cust-a', JSON.stringify(row));
      assert.ok(Number.isInteger(row.last_seq) && row.last_seq >= firstSeq, JSON.stringify(row));
    }
    const msgs = await chat.history(fx.url, tok.boss, convA);
    assert.ok(msgs.some((m) => m.seq === firstSeq && m.text === 'my address is secret'), JSON.stringify(msgs));
  });
  test('other merchants, and m1 agents it is not assigned to, do not list it', async () => {
    for (const key of ['boss2', 'dave', 'carol']) {
      for (const status of ['in_progress', 'unassigned', 'resolved']) {
        const list = await chat.conversations(fx.url, tok[key], status);
        assert.ok(!list.some((c) => c.id === convA), `${key} ${status}: ${JSON.stringify(list)}`);
      }
    }
  });
  test('the assigned agent lists it and reads it', async () => {
    const list = await chat.conversations(fx.url, tok.alice, 'in_progress');
    assert.ok(list.some((c) => c.id === convA), JSON.stringify(list));
    const msgs = await chat.history(fx.url, tok.alice, convA);
    assert.ok(msgs.some((m) => m.seq === firstSeq), JSON.stringify(msgs));
  });
});

test('nothing any of them tried was stored', async () => {
  const all = await chat.fullHistory(fx.url, tok.a, convA);
  assert.deepEqual(
    all.map((m) => [m.seq, m.from, m.text]),
    [[firstSeq, 'cust-a', 'my address is secret']],
    `A's history holds only A's message; got ${JSON.stringify(all)}`,
  );
  assert.ok(!alice.frames.some((f) => f.op === 'push' && f.kind === 'message' && /intruder/.test(f.data?.text ?? '')), alice.describe());
  const mine = await chat.conversations(fx.url, tok.alice, 'in_progress');
  const row = mine.find((c) => c.id === convA);
  assert.ok(row, JSON.stringify(mine));
  // Nothing after A's message (status entries, if any, come before it).
  assert.equal(row.last_seq, firstSeq, `last_seq; ${JSON.stringify(row)}`);
  // A made-up conversation still does not exist, and B still has none.
  sb.assertError(await chat.getMessages(fx.url, tok.boss, MISSING), 404, 'not_found');
  const bossList = await chat.conversations(fx.url, tok.boss);
  assert.deepEqual(bossList.map((c) => c.customer), ['cust-a'], `only A's conversation exists for m1; ${JSON.stringify(bossList)}`);
});
