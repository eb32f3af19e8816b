// History paging: 1,000 messages posted over HTTP (50 in flight at a time), then read back
// newest first with `before=` and oldest first with `after=`, 100 a page: every message exactly
// once, in strict seq order, with its text.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';
import * as chat from './lib/chat.mjs';

const N = 1000;
let d;
let tok;
let conv;
const posted = new Map(); // seq → {text, clientId}

before(async () => {
  d = await chat.startChat({
    // 1,000 posts from one principal within seconds: lift the rate limits out of the way.
    limits: { principal_rate: 100000, principal_burst: 100000, ip_rate: 100000, ip_burst: 100000 },
  });
  tok = await chat.customerToken(d.url, 'cust-h', 'm1');
  conv = (await chat.mustOpen(d.url, tok, 'm1', { status: 201 })).id;
});
after(async () => {
  await d?.close();
});

const textOf = (i) => `message ${i} ${'é'.repeat(i % 5)}${i % 3 === 0 ? '\n(tab:\t)' : ''}`;

function assertMessageFields(m) {
  const got = JSON.stringify(m);
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1, got);
  assert.ok(typeof m.id === 'string' && m.id.length > 0, got);
  assert.ok(Number.isInteger(m.ts), got);
  assert.equal(m.from, 'cust-h', got);
  assert.equal(m.role, 'customer', got);
}

test(`${N} messages posted 50 at a time: each 201 with its own seq`, async () => {
  const t0 = Date.now();
  const results = await chat.inBatches(
    Array.from({ length: N }, (_, i) => i),
    50,
    async (i) => {
      const res = await chat.postMessage(d.url, tok, conv, `h-${i}`, textOf(i));
      return { i, ...chat.assertPosted(res, conv, `message ${i}`) };
    },
  );
  for (const r of results) {
    assert.ok(!posted.has(r.seq), `seq ${r.seq} given twice (messages ${posted.get(r.seq)?.clientId} and h-${r.i})`);
    posted.set(r.seq, { text: textOf(r.i), clientId: `h-${r.i}` });
  }
  assert.equal(posted.size, N);
  const seqs = [...posted.keys()].sort((a, b) => a - b);
  assert.equal(seqs[N - 1] - seqs[0], N - 1, `no gaps between the first and last message seq (${seqs[0]}..${seqs[N - 1]})`);
  process.stderr.write(`# posted ${N} messages in ${Date.now() - t0} ms\n`);
});

test('newest first: limit=100 then before=<oldest seen>, every message once, seqs strictly descending', async () => {
  assert.equal(posted.size, N, 'the previous test posted them');
  const seen = [];
  const newest = Math.max(...posted.keys());
  let page = await chat.history(d.url, tok, conv, { before: newest + 1, limit: 100 });
  assert.equal(page.length, 100, 'the first page is full');
  assert.equal(page[0].seq, newest, 'the first page starts at the newest message');
  for (let pages = 1; page.length; pages++) {
    assert.ok(pages <= N / 100 + 2, 'paging ends');
    assert.ok(page.length <= 100, `at most limit per page; got ${page.length}`);
    seen.push(...page);
    page = await chat.history(d.url, tok, conv, { before: page[page.length - 1].seq, limit: 100 });
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].seq < seen[i - 1].seq, `strictly descending at ${i}: ${seen[i - 1].seq} then ${seen[i].seq}`);
  const ours = seen.filter((m) => posted.has(m.seq));
  const others = seen.filter((m) => !posted.has(m.seq));
  assert.ok(!others.some((m) => m.role === 'customer'), `no customer message that was not posted: ${JSON.stringify(others).slice(0, 500)}`);
  assert.equal(ours.length, N, `all ${N} seen (saw ${ours.length})`);
  for (const m of ours) {
    assertMessageFields(m);
    assert.equal(m.text, posted.get(m.seq).text, `text of seq ${m.seq}`);
  }
  assert.equal(new Set(seen.map((m) => m.id)).size, seen.length, 'entry ids are unique');
});

test('oldest first: after=0 then after=<newest seen>, every message once, seqs strictly ascending', async () => {
  assert.equal(posted.size, N, 'the first test posted them');
  const seen = [];
  let after = 0;
  for (let pages = 1; ; pages++) {
    assert.ok(pages <= N / 100 + 3, 'paging ends');
    const page = await chat.history(d.url, tok, conv, { after, limit: 100 });
    if (!page.length) break;
    assert.ok(page.length <= 100, `at most limit per page; got ${page.length}`);
    seen.push(...page);
    after = page[page.length - 1].seq;
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].seq > seen[i - 1].seq, `strictly ascending at ${i}: ${seen[i - 1].seq} then ${seen[i].seq}`);
  const ours = seen.filter((m) => posted.has(m.seq));
  assert.equal(ours.length, N, `all ${N} seen (saw ${ours.length})`);
  assert.equal(new Set(ours.map((m) => m.seq)).size, N, 'each once');
  for (const m of ours) {
    assertMessageFields(m);
    assert.equal(m.text, posted.get(m.seq).text, `text of seq ${m.seq}`);
  }
});

test('without before/after: the newest, default limit 50; limit=200 gives 200; before/after mid-way', async () => {
  assert.equal(posted.size, N, 'the first test posted them');
  const newestFirst = [...posted.keys()].sort((a, b) => b - a);
  // "neither: the newest" (in one seq order or the other).
  const inOrder = (page) => {
    const seqs = page.map((m) => m.seq);
    return seqs[0] > seqs[seqs.length - 1] ? seqs : seqs.reverse();
  };
  const dflt = await chat.history(d.url, tok, conv);
  assert.deepEqual(inOrder(dflt), newestFirst.slice(0, 50));
  const big = await chat.history(d.url, tok, conv, { limit: 200 });
  assert.deepEqual(inOrder(big), newestFirst.slice(0, 200));
  const mid = await chat.history(d.url, tok, conv, { before: newestFirst[500], limit: 3 });
  assert.deepEqual(mid.map((m) => m.seq), newestFirst.slice(501, 504));
  const fwd = await chat.history(d.url, tok, conv, { after: newestFirst[500], limit: 3 });
  assert.deepEqual(fwd.map((m) => m.seq), newestFirst.slice(497, 500).reverse());
});

test('messages posted over the HTTP API carry channel "app" in the history', async () => {
  assert.equal(posted.size, N, 'the first test posted them');
  const newest = Math.max(...posted.keys());
  const page = await chat.history(d.url, tok, conv, { before: newest + 1, limit: 200 });
  const wrong = page.filter((m) => m.channel !== 'app');
  assert.deepEqual(
    wrong.map((m) => m.channel),
    [],
    `${wrong.length} of ${page.length} have another channel, e.g. ${JSON.stringify(wrong[0])}`,
  );
});
