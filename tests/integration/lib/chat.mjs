// Helpers for the customer-service chat integration tests (chat_*.test.mjs): a daemon with chat
// configuration, tokens per role, the chat HTTP endpoints, WebSocket participants (agents and
// customers) and the contract's chat assertions. Built on lib/daemon.mjs; every wait is bounded.
import assert from 'node:assert/strict';
import * as sb from './daemon.mjs';

// ---------------------------------------------------------------- daemon

// Config file text from {section: {key: value}} (see config/switchboard.example.conf).
export function configText(sections) {
  const out = ['# chat integration test'];
  for (const [section, keys] of Object.entries(sections)) {
    out.push(`[${section}]`);
    for (const [k, v] of Object.entries(keys)) out.push(`${k} = ${v}`);
  }
  return out.join('\n') + '\n';
}

// Starts a dev-mode daemon with `sections` written to a --config file (plus opts.args).
export async function startChat(sections = {}, opts = {}) {
  const args = [...(opts.args ?? [])];
  if (Object.keys(sections).length) args.unshift('--config', sb.writeConfig(configText(sections)));
  return sb.start({ ...opts, args });
}

// ---------------------------------------------------------------- tokens

export const customerToken = (url, sub, mid = 'm1') => sb.devToken(url, sub, 'customer', mid);
export const agentToken = (url, sub, mid = 'm1') => sb.devToken(url, sub, 'agent', mid);
export const merchantToken = (url, sub, mid = 'm1') => sb.devToken(url, sub, 'merchant', mid);
export const adminToken = (url, sub = 'root') => sb.devToken(url, sub, 'admin', '*');

export const bearer = (token) => (token == null ? {} : { authorization: `Bearer ${token}` });
const jsonHeaders = (token) => ({ 'content-type': 'application/json', ...bearer(token) });
const encode = (body) => (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));

// ---------------------------------------------------------------- HTTP

// POST /api/conversations {"merchant"} (body overridable).
export function openConversation(url, token, merchant = 'm1', body) {
  return sb.request(`${url}/api/conversations`, {
    method: 'POST',
    headers: jsonHeaders(token),
    body: encode(body ?? { merchant }),
  });
}

// POST /api/conversations and asserts 200/201 {"id","stream":"conv:<id>","status"}; returns the body.
export async function mustOpen(url, token, merchant = 'm1', { status = [200, 201] } = {}) {
  const res = await openConversation(url, token, merchant);
  const got = `POST /api/conversations (${merchant}): got ${res.status} ${res.text.slice(0, 300)}`;
  assert.ok([].concat(status).includes(res.status), got);
  assert.match(String(res.body?.id), /^c[0-9a-f]{16}$/, `id is c + 16 hex digits; ${got}`);
  assert.equal(res.body.stream, `conv:${res.body.id}`, got);
  assert.ok(['unassigned', 'in_progress', 'resolved'].includes(res.body.status), `status; ${got}`);
  return res.body;
}

// POST /api/conversations/{conv}/messages {"id","text"} (or a raw string/Buffer body).
export function postMessage(url, token, conv, id, text, { body, headers = {} } = {}) {
  return sb.request(`${url}/api/conversations/${encodeURIComponent(conv)}/messages`, {
    method: 'POST',
    headers: { ...jsonHeaders(token), ...headers },
    body: body !== undefined ? encode(body) : JSON.stringify({ id, text }),
  });
}

// Asserts 201 {"id","conv","seq"}; returns the body.
export function assertPosted(res, conv, what = '') {
  const got = `${what ? what + ': ' : ''}got ${res.status} ${String(res.text).slice(0, 300)}`;
  assert.equal(res.status, 201, got);
  assert.equal(res.body?.conv, conv, got);
  assert.ok(Number.isInteger(res.body?.seq) && res.body.seq >= 1, `seq; ${got}`);
  assert.equal(typeof res.body?.id, 'string', `id; ${got}`);
  return res.body;
}

// GET /api/conversations/{conv}/messages?query.
export function getMessages(url, token, conv, query = {}) {
  const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  return sb.request(`${url}/api/conversations/${encodeURIComponent(conv)}/messages${q ? '?' + q : ''}`, {
    headers: bearer(token),
  });
}

// GET messages that must answer 200 {"messages":[...]}; returns the array.
export async function history(url, token, conv, query = {}) {
  const res = await getMessages(url, token, conv, query);
  assert.equal(res.status, 200, `GET messages of ${conv} ${JSON.stringify(query)}: got ${res.status} ${res.text.slice(0, 300)}`);
  assert.ok(Array.isArray(res.body?.messages), `messages array; got ${res.text.slice(0, 300)}`);
  return res.body.messages;
}

// Every message of `conv` the token may read, oldest first. Pages backwards with before= (newest
// first below that seq), starting from the newest page (whose order is not specified).
export async function fullHistory(url, token, conv) {
  const bySeq = new Map();
  let msgs = await history(url, token, conv, { limit: 200 });
  for (let page = 0; msgs.length; page++) {
    if (page > 1000) throw new Error('history did not end after 1000 pages');
    for (const m of msgs) {
      if (bySeq.has(m.seq)) throw new Error(`history of ${conv}: seq ${m.seq} on two pages`);
      bySeq.set(m.seq, m);
    }
    msgs = await history(url, token, conv, { before: Math.min(...msgs.map((m) => m.seq)), limit: 200 });
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

// GET /api/conversations[?status=].
export function listConversations(url, token, status) {
  return sb.request(`${url}/api/conversations${status ? `?status=${encodeURIComponent(status)}` : ''}`, {
    headers: bearer(token),
  });
}

// GET /api/conversations that must answer 200; returns the array.
export async function conversations(url, token, status) {
  const res = await listConversations(url, token, status);
  assert.equal(res.status, 200, `GET /api/conversations?status=${status ?? ''}: got ${res.status} ${res.text.slice(0, 300)}`);
  assert.ok(Array.isArray(res.body?.conversations), `conversations array; got ${res.text.slice(0, 300)}`);
  return res.body.conversations;
}

// PUT /admin/merchants/{m}/agents/{agent} {"weight","max_concurrent"}.
export function putAgent(url, token, merchant, agent, body) {
  return sb.request(`${url}/admin/merchants/${encodeURIComponent(merchant)}/agents/${encodeURIComponent(agent)}`, {
    method: 'PUT',
    headers: jsonHeaders(token),
    body: encode(body),
  });
}

// GET /api/poll?query with a Bearer token.
export function poll(url, token, query = {}, timeoutMs = 30000) {
  const q = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  return sb.request(`${url}/api/poll${q ? '?' + q : ''}`, { headers: bearer(token), timeoutMs });
}

// ---------------------------------------------------------------- WebSocket

// Acks every push as it arrives (what a well-behaved client does), so that nothing is pushed
// again after delivery.ack_timeout during a test. Returns the client.
export function autoAck(ws) {
  ws.ws.on('message', (data) => {
    try {
      const f = JSON.parse(data.toString('utf8'));
      if (f.op === 'push' && typeof f.stream === 'string' && Number.isInteger(f.seq)) ws.ack(f.stream, f.seq);
    } catch {
      /* not JSON: nothing to ack */
    }
  });
  return ws;
}

// Connects with `token`, says hello (with `resume` if given); resolves {ws, welcome}. The client
// is added to `registry` (an array the test's after() terminates). opts.autoAck: ack every push.
export async function participant(url, token, { resume, registry, autoAck: ackAll = false } = {}) {
  const ws = await sb.connectWs(url, token);
  registry?.push(ws);
  if (ackAll) autoAck(ws);
  const welcome = await ws.hello(resume);
  assert.ok(Array.isArray(welcome.streams), `welcome lists streams; ${JSON.stringify(welcome)}`);
  return { ws, welcome };
}

// The last seq this client has seen pushed on `stream` (0 if none).
export function lastSeq(ws, stream) {
  let seq = 0;
  for (const f of ws.frames) if (f.op === 'push' && f.stream === stream && f.seq > seq) seq = f.seq;
  return seq;
}

// Sends `send` and waits for its `sent` or its `error` frame (ref "send"); resolves the frame.
// One send in flight per client at a time (error frames carry only the op as ref).
export function sendRaw(ws, conv, id, text, timeoutMs = 3000) {
  ws.send({ op: 'send', conv, id, text });
  return ws.next(
    (f) => (f.op === 'sent' && f.id === id) || (f.op === 'error' && f.ref === 'send'),
    timeoutMs,
    `sent ${id} (or an error frame for send)`,
  );
}

// Sends and asserts the `sent` {"id","conv","seq"}; resolves it.
export async function send(ws, conv, id, text, timeoutMs = 3000) {
  const f = await sendRaw(ws, conv, id, text, timeoutMs);
  const got = `send ${id}: got ${JSON.stringify(f).slice(0, 300)}`;
  assert.equal(f.op, 'sent', got);
  assert.equal(f.id, id, got);
  assert.equal(f.conv, conv, got);
  assert.ok(Number.isInteger(f.seq) && f.seq >= 1, `seq; ${got}`);
  return f;
}

// Sends and asserts an error frame with `code` and ref "send".
export async function sendFails(ws, conv, id, text, code, timeoutMs = 3000) {
  const f = await sendRaw(ws, conv, id, text, timeoutMs);
  assertErrorFrame(f, code, 'send', `send ${id}`);
  return f;
}

export function assertErrorFrame(f, code, ref, what = '') {
  const got = `${what ? what + ': ' : ''}got ${JSON.stringify(f).slice(0, 300)}`;
  assert.equal(f.op, 'error', got);
  assert.equal(f.code, code, got);
  assert.equal(typeof f.message, 'string', `message; ${got}`);
  assert.equal(f.ref, ref, `ref; ${got}`);
}

// Waits for a push on `stream` of `kind` whose data matches `dataPred` (object of fields to
// equal, or a function of data).
export function nextEntry(ws, stream, kind, dataPred = {}, timeoutMs = 3000) {
  const m = typeof dataPred === 'function' ? dataPred : (d) => Object.entries(dataPred).every(([k, v]) => d?.[k] === v);
  return ws.next(
    (f) => f.op === 'push' && f.stream === stream && f.kind === kind && m(f.data),
    timeoutMs,
    `push ${kind} on ${stream} with ${typeof dataPred === 'function' ? dataPred.toString() : JSON.stringify(dataPred)}`,
  );
}

// Like nextEntry, for an entry whose seq is above `afterSeq` (older ones left pending are skipped).
export function entryAfter(ws, stream, kind, afterSeq, dataPred = {}, timeoutMs = 3000) {
  const m = typeof dataPred === 'function' ? dataPred : (d) => Object.entries(dataPred).every(([k, v]) => d?.[k] === v);
  return ws.next(
    (f) => f.op === 'push' && f.stream === stream && f.kind === kind && f.seq > afterSeq && m(f.data),
    timeoutMs,
    `push ${kind} on ${stream} after seq ${afterSeq} with ${typeof dataPred === 'function' ? dataPred.toString() : JSON.stringify(dataPred)}`,
  );
}

// Waits for the message push of `stream` whose seq is `seq`.
export function messageAt(ws, stream, seq, timeoutMs = 3000) {
  return ws.next((f) => f.op === 'push' && f.stream === stream && f.kind === 'message' && f.seq === seq, timeoutMs, `message push seq ${seq} on ${stream}`);
}

// Waits for an ephemeral event of `kind` for `conv` whose data matches `dataPred`.
export function nextEvent(ws, kind, conv, dataPred = {}, timeoutMs = 3000) {
  const m = typeof dataPred === 'function' ? dataPred : (d) => Object.entries(dataPred).every(([k, v]) => d?.[k] === v);
  return ws.next(
    (f) => f.op === 'event' && f.kind === kind && (conv == null || f.conv === conv) && m(f.data),
    timeoutMs,
    `event ${kind} for ${conv} with ${typeof dataPred === 'function' ? dataPred.toString() : JSON.stringify(dataPred)}`,
  );
}

// A push frame of the contract (op, stream, seq, id, ts, kind, data).
export function assertPush(frame, stream, kind) {
  const got = `got ${JSON.stringify(frame).slice(0, 400)}`;
  assert.equal(frame.op, 'push', got);
  assert.equal(frame.stream, stream, got);
  assert.equal(frame.kind, kind, got);
  assert.ok(Number.isInteger(frame.seq) && frame.seq >= 1, `seq; ${got}`);
  assert.ok(typeof frame.id === 'string' && frame.id.length > 0, `id; ${got}`);
  assert.ok(Number.isInteger(frame.ts) && Math.abs(frame.ts - Date.now()) < 10 * 60 * 1000, `ts is ms UTC; ${got}`);
  assert.ok(frame.data && typeof frame.data === 'object', `data; ${got}`);
}

// A `message` push: data {from, role, text, channel, client_id}.
export function assertMessagePush(frame, conv, { seq, from, role, text, channel, client_id }) {
  assertPush(frame, `conv:${conv}`, 'message');
  const got = `got ${JSON.stringify(frame).slice(0, 400)}`;
  if (seq !== undefined) assert.equal(frame.seq, seq, got);
  assert.equal(frame.data.from, from, got);
  assert.equal(frame.data.role, role, got);
  assert.equal(frame.data.text, text, got);
  assert.equal(frame.data.channel, channel, got);
  if (client_id !== undefined) assert.equal(frame.data.client_id, client_id, got);
}

// Ids come from `prefix` + a counter, unique per process.
let counter = 0;
export const uid = (prefix = 'x') => `${prefix}-${process.pid}-${++counter}`;

// Runs `fn` over `items` with at most `width` in flight at once, in batches; returns results in order.
export async function inBatches(items, width, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map((x, j) => fn(x, i + j)))));
  }
  return out;
}

// Waits until `check()` returns a truthy value (polled every 50 ms) or `timeoutMs`; returns it.
export async function eventually(check, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sb.sleep(50);
  }
}
