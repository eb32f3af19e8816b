// Every bad POST /api/orders answers its documented status and {"error": code, "message"}, and
// stores nothing: no push reaches the merchants, and the first good order afterwards gets seq 1.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

const M1_KEY = 'key-for-m1-only-0123';
let d;
let m1ws;
let m2ws;
let svcM1; // service JWT for m1
let merchantM1; // merchant JWT for m1

before(async () => {
  const config = sb.writeConfig(`# integration test: one key per merchant, plus the dev key for all
[auth]
service_keys = m1:${M1_KEY}, *:${sb.DEV_SERVICE_KEY}
`);
  d = await sb.start({ args: ['--config', config] });
  svcM1 = await sb.devToken(d.url, 'order-system', 'service', 'm1');
  merchantM1 = await sb.devToken(d.url, 'alice', 'merchant', 'm1');
  m1ws = (await sb.connectMerchant(d.url, merchantM1)).ws;
  m2ws = (await sb.connectMerchant(d.url, await sb.devToken(d.url, 'bob', 'merchant', 'm2'))).ws;
});
after(async () => {
  m1ws?.terminate();
  m2ws?.terminate();
  await d?.close();
});

const good = (extra = {}) => ({ merchant: 'm1', order_id: 'G-1', total: 5, ...extra });
const forge = (jwt) => {
  const [h, p, s] = jwt.split('.');
  const flipped = (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
  return `${h}.${p}.${flipped}`;
};
const nest = (depth) => '['.repeat(depth) + ']'.repeat(depth);

describe('rejected orders', () => {
  test('no Authorization header → 401 unauthorized', async () => {
    sb.assertError(await sb.postOrder(d.url, null, good()), 401, 'unauthorized');
  });
  test('an unknown service key → 401 unauthorized', async () => {
    sb.assertError(await sb.postOrder(d.url, 'not-a-real-key-0000', good()), 401, 'unauthorized');
  });
  test('a non-Bearer Authorization → 401 unauthorized', async () => {
    const res = await sb.postOrder(d.url, null, good(), { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
    sb.assertError(res, 401, 'unauthorized');
  });
  test('a forged service JWT → 401 unauthorized', async () => {
    sb.assertError(await sb.postOrder(d.url, forge(svcM1), good()), 401, 'unauthorized');
  });
  test('a key for another merchant → 403 forbidden', async () => {
    sb.assertError(await sb.postOrder(d.url, M1_KEY, { ...good(), merchant: 'm2' }), 403, 'forbidden');
  });
  test('a service JWT for another merchant → 403 forbidden', async () => {
    sb.assertError(await sb.postOrder(d.url, svcM1, { ...good(), merchant: 'm2' }), 403, 'forbidden');
  });
  test('a merchant (non-service) JWT → 403 forbidden', async () => {
    sb.assertError(await sb.postOrder(d.url, merchantM1, good()), 403, 'forbidden');
  });
  test('missing merchant → 400 missing_field', async () => {
    sb.assertError(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, { order_id: 'G-1' }), 400, 'missing_field');
  });
  test('missing order_id → 400 missing_field', async () => {
    sb.assertError(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, { merchant: 'm1', total: 1 }), 400, 'missing_field');
  });
  for (const [what, patch] of [
    ['merchant is a number', { merchant: 42 }],
    ['merchant is empty', { merchant: '' }],
    ['merchant has a space', { merchant: 'm 1' }],
    ['order_id is a boolean', { order_id: true }],
    ['order_id is an object', { order_id: { id: 1 } }],
    ['order_id is negative', { order_id: -1 }],
    ['order_id is fractional', { order_id: 1.5 }],
    ['order_id is 129 bytes', { order_id: 'x'.repeat(129) }],
  ]) {
    test(`${what} → 400 invalid_field`, async () => {
      sb.assertError(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, good(patch)), 400, 'invalid_field');
    });
  }
  const big = () => JSON.stringify(good({ pad: 'x'.repeat(2 * 1024 * 1024) }));
  const bigHeaders = { authorization: `Bearer ${sb.DEV_SERVICE_KEY}`, 'content-type': 'application/json' };
  test('a 2 MiB body announced with Expect: 100-continue → 413 body_too_large', async () => {
    const res = await sb.rawRequest(`${d.url}/api/orders`, { method: 'POST', headers: bigHeaders, body: big(), expectContinue: true });
    sb.assertError(res, 413, 'body_too_large');
  });
  test('a 2 MiB body sent whole → 413 body_too_large, every time', async () => {
    // A client that sends its body without waiting must still read the 413: the server has
    // to keep reading (and discarding) after answering, or its close resets the connection
    // and the answer is lost.
    for (let i = 0; i < 5; i++) {
      const res = await sb.rawRequest(`${d.url}/api/orders`, { method: 'POST', headers: bigHeaders, body: big() }).catch((e) => e);
      assert.ok(!(res instanceof Error), `attempt ${i + 1}: no answer, the connection failed with ${res.code ?? res.message}`);
      sb.assertError(res, 413, 'body_too_large', `attempt ${i + 1}`);
    }
  });
  test('invalid UTF-8 in the body → 400 invalid_utf8', async () => {
    const bytes = Buffer.concat([Buffer.from('{"merchant":"m1","order_id":"G-1","note":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);
    sb.assertError(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, bytes), 400, 'invalid_utf8');
  });
  for (const [what, text] of [
    ['truncated JSON', '{"merchant":"m1","order_id":'],
    ['an empty body', ''],
    ['trailing garbage', '{"merchant":"m1","order_id":"G-1"} x'],
    ['single quotes', "{'merchant':'m1','order_id':'G-1'}"],
  ]) {
    test(`${what} → 400 malformed_json`, async () => {
      sb.assertError(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, text), 400, 'malformed_json');
    });
  }
  test('a JSON array → 400 not_an_object', async () => {
    sb.assertError(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, '[{"merchant":"m1","order_id":"G-1"}]'), 400, 'not_an_object');
  });
  test('nesting deeper than limits.max_json_depth → 400 too_deep', async () => {
    const text = `{"merchant":"m1","order_id":"G-1","deep":${nest(40)}}`;
    sb.assertError(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, text), 400, 'too_deep');
  });
  test('Content-Type text/plain → 415 unsupported_media_type', async () => {
    const res = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, good(), { 'content-type': 'text/plain' });
    sb.assertError(res, 415, 'unsupported_media_type');
  });
});

describe('after all of them', () => {
  test('no push reached m1 or m2', async () => {
    assert.deepEqual(await m1ws.quietFor((f) => f.op === 'push', 300), [], m1ws.describe());
    assert.deepEqual(m2ws.pending.filter((f) => f.op === 'push'), [], m2ws.describe());
  });
  test('the first good order of m1 gets seq 1, and of m2 too', async () => {
    const a1 = sb.assertAccepted(await sb.postOrder(d.url, M1_KEY, good()), 'm1');
    assert.equal(a1.seq, 1);
    sb.assertOrderPush(await m1ws.nextPush('orders:m1'), a1, good());
    // A charset parameter on the media type is fine.
    const res2 = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, { ...good(), merchant: 'm2' }, { 'content-type': 'application/json; charset=utf-8' });
    const a2 = sb.assertAccepted(res2, 'm2');
    assert.equal(a2.seq, 1);
    sb.assertOrderPush(await m2ws.nextPush('orders:m2'), a2, { ...good(), merchant: 'm2' });
  });
});
