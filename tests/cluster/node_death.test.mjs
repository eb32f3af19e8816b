// kill -9 of a node without replication (--replication-factor 1, so no replica can take over:
// with replicas, tests/cluster/failover.test.mjs checks the takeover instead): within 5 s
// requests for its streams answer 503 owner_unavailable with Retry-After (never a wrong
// answer) until the node returns, WebSocket clients on other nodes stay connected, streams
// owned by the other nodes keep working; once the node is back on its data dir every
// acknowledged entry is there, exactly once, in seq order, and the open dashboard resumes.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cl from './lib/cluster.mjs';

const { sb } = cl;

const DETECT_MS = 5000; // the contract: a dead node is detected within 5 s
const ANSWER_SLACK_MS = 1000; // a request sent before the deadline may take this long to answer

let c;
let A, B, C; // n1, n2 (killed), n3
const clients = [];
const dashboards = [];

before(
  cl.withLogs(async () => {
    // R = 1: each partition has its owner's copy only; a dead owner's streams wait for it.
    // n3 joins the running pair, so partitions move to it first (a moved partition must end
    // up with one copy again, checked before the kill).
    c = await cl.startCluster(2, { extraArgs: ['--replication-factor', '1'] });
    await cl.waitReady(await c.addNode('n3'), 30000);
    await cl.waitAgreement(c.nodes, { timeoutMs: 40000, check: (tb) => tb.nodes.n3?.partitions > 0 });
    [A, B, C] = c.nodes;
  }),
  { timeout: 60000 },
);
after(async () => {
  for (const d of dashboards) d.terminate();
  for (const w of clients) w.terminate();
  await c?.stop();
});

cl.test('kill -9 of the owner: 503 owner_unavailable within 5 s, the rest keeps working, nothing acknowledged is lost', async (t) => {
  const mB = await cl.findMerchantOwnedBy(c.nodes, 'n2', { prefix: 'kb-' });
  const mA = await cl.findMerchantOwnedBy(c.nodes, 'n1', { prefix: 'ka-' });
  const streamB = `orders:${mB}`;
  const tokB = await sb.devToken(A.url, 'dash-kb', 'merchant', mB);
  const tokA = await sb.devToken(A.url, 'dash-ka', 'merchant', mA);

  // A dashboard of mB on n1 (it must survive n2's death), one of mA on n3.
  const dashB = await cl.Dashboard.open(A, mB, tokB, { registry: clients });
  const dashA = await cl.Dashboard.open(C, mA, tokA, { registry: clients });
  dashboards.push(dashB, dashA);

  const accB = [];
  const bodies = new Map();
  const post = async (via, body, what) => {
    const a = sb.assertAccepted(await cl.postOrderTo(via, body), body.merchant, what);
    bodies.set(a.id, body);
    return a;
  };
  for (let k = 1; k <= 5; k++) accB.push(await post(k % 2 ? A : C, sb.order(mB, `B-${k}`, { k }), `order ${k} of ${mB}`));
  const accA = [];
  for (let k = 1; k <= 3; k++) accA.push(await post(k % 2 ? C : A, sb.order(mA, `A-${k}`, { k }), `order ${k} of ${mA}`));
  assert.deepEqual(accB.map((a) => a.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(accA.map((a) => a.seq), [1, 2, 3]);
  await dashB.waitSeen(5, 8000);
  await dashA.waitSeen(3, 8000);

  // The join's moves have settled at one copy each: a moved partition whose old owner stayed
  // listed as a replica would wait for it, and n2's death would stall n1's writes.
  let unsettled = [];
  await cl.until(async () => {
    const records = await cl.partitionRecords(c.etcd);
    unsettled = records.filter((r) => r.state !== 'serving' || r.replicas.length !== 1 || (r.next_replicas ?? []).length);
    return records.length === 256 && unsettled.length === 0;
  }, 20000, () => `every partition serving with its owner as only replica; unsettled: ${JSON.stringify(unsettled.slice(0, 5))}`);

  // kill -9 n2.
  const t0 = Date.now();
  const killed = await B.kill('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL', `n2 died of SIGKILL: ${JSON.stringify(killed)}`);

  // Within 5 s of the kill, POST /api/orders for mB on n1 answers 503 owner_unavailable. The
  // probes share one Idempotency-Key: should one be stored, it is stored once.
  const probe = sb.order(mB, 'B-probe');
  const probeKey = `probe-${process.pid}`;
  const answers = [];
  let unavailable;
  while (!unavailable) {
    const sentAt = Date.now() - t0;
    assert.ok(sentAt < DETECT_MS, `no 503 owner_unavailable for ${mB} within ${DETECT_MS} ms of the kill; answers: ${answers.join(' | ')}`);
    let res;
    try {
      res = await cl.postOrderTo(A, probe, { idempotencyKey: probeKey, timeoutMs: DETECT_MS + ANSWER_SLACK_MS - sentAt });
    } catch (err) {
      answers.push(`@${sentAt}ms ${err.message.slice(0, 120)}`);
      await cl.sleep(100);
      continue;
    }
    answers.push(`@${sentAt}ms ${res.status} ${res.text.slice(0, 100)}`);
    if (res.status === 202) assert.fail(`an order for ${mB} was accepted while its owner n2 was dead: ${res.text}`);
    if (res.status === 503 && res.body?.error === 'owner_unavailable') unavailable = res;
    else await cl.sleep(100);
  }
  const detectedMs = Date.now() - t0;
  t.diagnostic(`503 owner_unavailable ${detectedMs} ms after the kill (${answers.length} probe(s))`);
  assert.ok(detectedMs <= DETECT_MS + ANSWER_SLACK_MS, `answered ${detectedMs} ms after the kill`);
  sb.assertError(unavailable, 503, 'owner_unavailable', 'POST /api/orders while the owner is dead');
  const ra = cl.retryAfterSeconds(unavailable);
  assert.ok(ra !== undefined, `Retry-After (integer seconds) on the 503; got ${unavailable.headers.get('retry-after')}`);

  // Never a wrong answer: n3 refuses mB the same way (and the refused probes store nothing,
  // checked below by the seqs that follow).
  const onC = await cl.postOrderTo(C, probe, { idempotencyKey: probeKey, timeoutMs: 3000 });
  sb.assertError(onC, 503, 'owner_unavailable', `POST /api/orders for ${mB} on n3 while its owner is dead`);
  assert.ok(cl.retryAfterSeconds(onC) !== undefined, `Retry-After on n3's 503; got ${onC.headers.get('retry-after')}`);

  // Streams owned by the live nodes keep working, and are delivered.
  for (let k = 4; k <= 5; k++) accA.push(await post(k % 2 ? C : A, sb.order(mA, `A-${k}`, { k }), `order ${k} of ${mA} while n2 is dead`));
  assert.deepEqual(accA.map((a) => a.seq), [1, 2, 3, 4, 5]);
  await dashA.waitSeen(5, 8000);

  // The dashboard of mB on n1 is still open (an error frame owner_unavailable is allowed).
  assert.ok(dashB.isOpen, `the dashboard of ${mB} on n1 stays open; closes ${JSON.stringify(dashB.closes)}`);
  assert.deepEqual(dashB.closes, []);

  // n2 comes back on its data dir.
  const t1 = Date.now();
  await cl.restartNode(B);
  await cl.waitReady(B, 30000);
  t.diagnostic(`n2 ready again ${Date.now() - t1} ms after its restart`);

  // mB serves again: the next order (retried on 503 after Retry-After, same key) gets seq 6:
  // nothing was stored by the refused probes.
  const r6 = await cl.postUntilAccepted(A, sb.order(mB, 'B-6', { k: 6 }), { idempotencyKey: `b6-${process.pid}`, deadlineMs: 20000 });
  assert.ok(r6.accepted, `an order for ${mB} accepted after n2's restart; last ${r6.res?.status} ${r6.res?.text}; retries ${JSON.stringify(r6.retries)}`);
  sb.assertAccepted(r6.res, mB);
  bodies.set(r6.accepted.id, sb.order(mB, 'B-6', { k: 6 }));
  accB.push(r6.accepted);
  accB.push(await post(C, sb.order(mB, 'B-7', { k: 7 }), `order 7 of ${mB} on n3`));
  assert.deepEqual(accB.map((a) => a.seq), [1, 2, 3, 4, 5, 6, 7], `seqs continue without a gap: ${JSON.stringify(accB)}`);
  await cl.waitAgreement(c.nodes, { timeoutMs: 20000 });

  // A fresh dashboard of mB resuming from 0 gets every acknowledged order exactly once, in order.
  const fresh = await cl.connectClient(C, await sb.devToken(C.url, 'fresh-kb', 'merchant', mB), { registry: clients, resume: { [streamB]: 0 } });
  const replay = await fresh.ws.pushes(streamB, accB.length, 10000);
  assert.deepEqual(replay.map((p) => p.seq), [1, 2, 3, 4, 5, 6, 7], fresh.ws.describe());
  replay.forEach((p, i) => sb.assertOrderPush(p, accB[i], bodies.get(accB[i].id)));
  assert.deepEqual(await fresh.ws.quietFor((f) => f.op === 'push', 500), [], `each order once; ${fresh.ws.describe()}`);

  // The dashboard that stayed open on n1 receives the new orders.
  await dashB.waitSeen([6, 7], 15000);
  assert.equal(dashB.seen.get(6), accB[5].id);
  assert.equal(dashB.seen.get(7), accB[6].id);
  assert.ok(dashB.isOpen, 'still open');
  assert.deepEqual(dashB.closes, [], 'never closed');
  assert.deepEqual(dashB.conflicts, [], 'no seq delivered with two ids');
  const otherErrors = dashB.errors.filter((e) => e.code !== 'owner_unavailable');
  assert.deepEqual(otherErrors, [], 'no error frame but owner_unavailable');
  t.diagnostic(`dashboard on n1: ${dashB.errors.length} owner_unavailable error frame(s), ${dashB.dups} redelivery(ies)`);
  assert.deepEqual(dashA.closes, [], `the dashboard of ${mA} on n3 never closed`);
});
