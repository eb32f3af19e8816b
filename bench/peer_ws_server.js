// The peer Switchboard is compared with: what a developer would write in Node with `ws`.
// POST /api/orders {"merchant",...} broadcasts a push frame to every WebSocket on
// /ws?merchant=<m> and answers 202. In memory only: no auth, no durability, no replay, no acks.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const [host, port] = (process.argv[2] || '127.0.0.1:8090').split(':');
const subscribers = new Map(); // merchant -> Set<WebSocket>
const seqs = new Map(); // merchant -> last seq
let nextId = 0;

const server = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/api/orders') {
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'Content-Type': 'application/json' });
    return res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{"error":"not_found"}');
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let order;
    try { order = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { order = null; }
    if (!order || typeof order.merchant !== 'string') {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      return res.end('{"error":"malformed_json"}');
    }
    const m = order.merchant;
    const seq = (seqs.get(m) || 0) + 1;
    seqs.set(m, seq);
    const id = (++nextId).toString(16).padStart(16, '0');
    const stream = 'orders:' + m;
    const frame = JSON.stringify({ op: 'push', stream, seq, id, ts: Date.now(), kind: 'order', data: order });
    for (const ws of subscribers.get(m) || []) ws.send(frame);
    res.writeHead(202, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ stream, seq, id }));
  });
});

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws, req) => {
  const m = new URL(req.url, 'http://x').searchParams.get('merchant') || '';
  if (!subscribers.has(m)) subscribers.set(m, new Set());
  subscribers.get(m).add(ws);
  ws.on('close', () => subscribers.get(m).delete(ws));
  ws.on('error', () => {});
});

server.listen(Number(port), host, () => {
  console.log(`peer listening on http://${host}:${server.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
