// Control frames while the server is in the middle of a write: a ping (or a close) from the client
// that arrives while a push backlog is half on the wire is answered after the backlog, in order,
// and the socket stays open. The client stops reading so that the pushes fill both loopback
// buffers (~4 MiB) and the server's write of the rest waits for the socket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as sb from './lib/daemon.mjs';

const ORDERS = 24;
const NOTE = 'x'.repeat(256 * 1024); // 24 × 256 KiB = 6 MiB: more than the kernel buffers hold

let d;
const clients = [];

before(async () => {
  d = await sb.start();
});
after(async () => {
  for (const c of clients) c.terminate();
  await d?.close();
});

// Connects a dashboard of `merchant`, stops reading its socket and posts ORDERS big orders.
async function backlogged(merchant) {
  const token = await sb.devToken(d.url, `ctl-${merchant}`, 'merchant', merchant);
  const { ws } = await sb.connectMerchant(d.url, token);
  clients.push(ws);
  ws.ws._socket.pause();
  for (let i = 1; i <= ORDERS; i++) {
    const res = await sb.postOrder(d.url, sb.DEV_SERVICE_KEY, sb.order(merchant, `big-${i}`, { note: NOTE }));
    assert.equal(sb.assertAccepted(res, merchant).seq, i, res.text);
  }
  // Let the pushes reach the socket: the server's write is now waiting for the client to read.
  await sb.sleep(300);
  return ws;
}

async function assertAllPushed(ws, merchant) {
  const pushes = await ws.pushes(`orders:${merchant}`, ORDERS, 15000);
  assert.deepEqual(pushes.map((p) => p.seq), Array.from({ length: ORDERS }, (_, i) => i + 1));
  for (const p of pushes) assert.equal(p.data.note.length, NOTE.length);
}

test('a ping during a half-written backlog gets its pong after the backlog; the socket stays open', async () => {
  const ws = await backlogged('mping');
  const pong = new Promise((resolve) => ws.ws.once('pong', (data) => resolve(data.toString())));
  ws.ws.ping('are-you-there');
  await sb.sleep(200); // the server reads the ping while its write is still in flight
  ws.ws._socket.resume();
  await assertAllPushed(ws, 'mping');
  assert.equal(await sb.withTimeout(pong, 5000, `pong; ${ws.describe()}`), 'are-you-there');
  assert.ok(ws.isOpen, `socket closed: ${ws.describe()}`);
  ws.ack('orders:mping', ORDERS);
  ws.send({ op: 'dance' }); // still served after the pong
  assert.equal((await ws.next({ op: 'error' })).code, 'unknown_op');
  assert.equal((await ws.close()).code, 1000);
});

test('a close during a half-written backlog is answered after the backlog', async () => {
  const ws = await backlogged('mclose');
  ws.ws.close(1000);
  await sb.sleep(200);
  ws.ws._socket.resume();
  await assertAllPushed(ws, 'mclose');
  const info = await sb.withTimeout(ws.closed, 5000, `close handshake; ${ws.describe()}`);
  assert.equal(info.code, 1000, JSON.stringify(info));
});
