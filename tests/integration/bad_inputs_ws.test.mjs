// GET /ws refuses bad tokens before the upgrade; bad text frames get an error frame with the
// documented code and `ref` and the connection keeps working; a binary frame closes with 1003,
// an oversized one with 1009.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

let d;
let token;
const clients = [];

before(async () => {
  d = await sb.start();
  token = await sb.devToken(d.url, 'alice', 'merchant', 'm1');
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

async function open(hello = true) {
  const ws = await sb.connectWs(d.url, token);
  clients.push(ws);
  if (hello) await ws.hello();
  return ws;
}

// The connection still works: a new order is pushed to it, and it can ack it.
async function assertUsable(ws, label) {
  const accepted = sb.assertAccepted(await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order('m1', `U-${label}`)), 'm1');
  await ws.next((f) => f.op === 'push' && f.id === accepted.id, 3000, `push of ${accepted.id} after the error`);
  ws.ack('orders:m1', accepted.seq);
  assert.ok(ws.isOpen, `still open; ${ws.describe()}`);
}

describe('upgrade refused with 401 before the WebSocket exists', () => {
  const forge = (jwt) => {
    const [h, p, s] = jwt.split('.');
    return `${h}.${p}.${(s[0] === 'A' ? 'B' : 'A') + s.slice(1)}`;
  };
  for (const [what, tok] of [
    ['no token', () => null],
    ['a garbage token', () => 'not-a-jwt'],
    ['a forged token', () => forge(token)],
    ['an empty token', () => ''],
  ]) {
    test(what, async () => {
      const err = await sb.connectWs(d.url, tok()).then(
        (ws) => {
          ws.terminate();
          return null;
        },
        (e) => e,
      );
      assert.ok(err, 'the upgrade must be refused');
      assert.equal(err.status, 401, err.message);
      assert.equal(err.body?.error, 'unauthorized', err.message);
    });
  }
});

describe('bad text frames → error frame, connection stays usable', () => {
  for (const [what, frame, code, ref] of [
    ['not JSON', 'hello there', 'malformed_json', undefined],
    ['a JSON array', '[{"op":"ack"}]', 'not_an_object', undefined],
    ['an object without op', '{"stream":"orders:m1","seq":1}', 'missing_op', undefined],
    ['an unknown op', '{"op":"dance","with":"me"}', 'unknown_op', 'dance'],
    ['ack without seq', '{"op":"ack","stream":"orders:m1"}', 'missing_field', 'ack'],
    ['ack with a string seq', '{"op":"ack","stream":"orders:m1","seq":"1"}', 'invalid_field', 'ack'],
    ['ack for a stream of another merchant', '{"op":"ack","stream":"orders:m2","seq":1}', 'forbidden', 'ack'],
  ]) {
    test(`${what} → ${code}`, async () => {
      const ws = await open();
      ws.sendRaw(frame);
      const err = await ws.next({ op: 'error' }, 3000);
      assert.equal(err.code, code, JSON.stringify(err));
      assert.equal(typeof err.message, 'string', JSON.stringify(err));
      // `ref` names the client op answered; a frame without a readable op has none to name.
      if (ref !== undefined) assert.equal(err.ref, ref, JSON.stringify(err));
      await assertUsable(ws, code);
      await ws.close();
    });
  }

  test('an op before hello → hello_required, then hello still works', async () => {
    const ws = await open(false);
    ws.send({ op: 'ack', stream: 'orders:m1', seq: 1 });
    const err = await ws.next({ op: 'error' }, 3000);
    assert.equal(err.code, 'hello_required', JSON.stringify(err));
    assert.equal(err.ref, 'ack', JSON.stringify(err));
    assert.deepEqual(ws.pending.filter((f) => f.op === 'push' || f.op === 'welcome'), [], 'nothing before hello');
    const welcome = await ws.hello();
    assert.deepEqual(welcome.streams, ['orders:m1']);
    await assertUsable(ws, 'hello');
    await ws.close();
  });
});

describe('frames that end the connection', () => {
  test('a binary frame → close 1003', async () => {
    const ws = await open();
    ws.sendRaw(Buffer.from('{"op":"ack","stream":"orders:m1","seq":1}'), { binary: true });
    const info = await sb.withTimeout(ws.closed, 3000, `close after a binary frame; ${ws.describe()}`);
    assert.equal(info.code, 1003, JSON.stringify(info));
  });

  test('a frame over limits.max_frame (64 KiB) → close 1009', async () => {
    const ws = await open();
    ws.send({ op: 'ack', stream: 'orders:m1', seq: 1, pad: 'x'.repeat(70 * 1024) });
    const info = await sb.withTimeout(ws.closed, 3000, `close after a 70 KiB frame; ${ws.describe()}`);
    assert.equal(info.code, 1009, JSON.stringify(info));
  });

  test('a frame just under the limit is fine', async () => {
    const ws = await open();
    ws.send({ op: 'dance', pad: 'x'.repeat(60 * 1024) });
    const err = await ws.next({ op: 'error' }, 3000);
    assert.equal(err.code, 'unknown_op', JSON.stringify(err));
    await assertUsable(ws, 'big');
    await ws.close();
  });
});
