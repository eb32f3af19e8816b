// Helpers for the integration tests: start the real switchboard binary on loopback with a fresh
// data directory, and talk to it over real sockets (fetch, plain TCP, the `ws` WebSocket client).
// Every wait here has a timeout; nothing sleeps to make a test pass.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

export const BIN =
  process.env.SWITCHBOARD_BIN ?? fileURLToPath(new URL('../../../build/switchboard', import.meta.url));

// The key the embedded dev-mode configuration accepts for every merchant (docs/PROTOCOL.md).
export const DEV_SERVICE_KEY = 'dev-service-key';

const LISTENING = /switchboard listening on http:\/\/([0-9.]+):(\d+)/;
const VERBOSE = !!process.env.SB_IT_VERBOSE;
const TAIL_BYTES = 16 * 1024;

// Every child and temp dir this process made, so that a crashed test run leaves nothing behind.
const children = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

export function tempDir(prefix = 'sb-it-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

// Writes a config file into a fresh temp dir and returns its path.
export function writeConfig(text) {
  const file = path.join(tempDir('sb-it-conf-'), 'switchboard.conf');
  writeFileSync(file, text);
  return file;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Resolves with what `promise` resolves to, or with undefined after `ms` (clearing its timer).
function orAfter(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((r) => (timer = setTimeout(r, ms)))]).finally(() => clearTimeout(timer));
}

// Resolves with what `promise` resolves to, or rejects with `what` after `ms`.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function keepTail(buf, chunk) {
  buf += chunk;
  return buf.length > TAIL_BYTES ? buf.slice(-TAIL_BYTES) : buf;
}

// Spawns the binary with `args`; collects stdout/stderr (always drained so the daemon never
// blocks on a full pipe). Returns the process record.
function spawnDaemon(args) {
  if (!existsSync(BIN)) throw new Error(`switchboard binary not found at ${BIN} (set SWITCHBOARD_BIN)`);
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const rec = { child, args, stdout: '', stderr: '', exited: null };
  rec.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
    child.on('error', (err) => {
      children.delete(child);
      rec.stderr += `\n[spawn error] ${err.message}`;
      resolve({ code: null, signal: null, error: err });
    });
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    rec.stdout = keepTail(rec.stdout, d);
    if (VERBOSE) process.stderr.write(`[sb stdout] ${d}`);
  });
  child.stderr.on('data', (d) => {
    rec.stderr = keepTail(rec.stderr, d);
    if (VERBOSE) process.stderr.write(`[sb stderr] ${d}`);
  });
  return rec;
}

// Waits for the "listening" line on stdout; rejects (with stderr) if the daemon exits first or
// says nothing within `timeoutMs`.
function waitListening(rec, timeoutMs) {
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      cleanup();
      reject(new Error(`switchboard ${rec.args.join(' ')}: ${why}\n--- stderr ---\n${rec.stderr}\n--- stdout ---\n${rec.stdout}`));
    };
    const onData = () => {
      const m = LISTENING.exec(rec.stdout);
      if (m) {
        cleanup();
        resolve({ host: m[1], port: Number(m[2]) });
      }
    };
    const timer = setTimeout(() => {
      rec.child.kill('SIGKILL');
      fail(`no "switchboard listening on" line within ${timeoutMs} ms`);
    }, timeoutMs);
    let exited = false;
    rec.exited.then(({ code, signal }) => {
      if (!exited) {
        exited = true;
        // stdout may still hold the line if the daemon printed it and died at once.
        setImmediate(() => {
          onData();
          fail(`exited (code ${code}, signal ${signal}) before listening`);
        });
      }
    });
    function cleanup() {
      exited = true;
      clearTimeout(timer);
      rec.child.stdout.off('data', onData);
    }
    rec.child.stdout.on('data', onData);
    onData();
  });
}

// Starts a daemon: `--listen 127.0.0.1:0 --data-dir <fresh dir>` plus opts.args.
// opts: {args: [...], listen: 'host:port', dataDir, timeoutMs}.
// Returns {url, port, dataDir, stderr(), stop(signal), kill9(), restart(), close()}.
export async function start(opts = {}) {
  const extra = opts.args ?? [];
  const timeoutMs = opts.timeoutMs ?? 15000;
  const dataDir = opts.dataDir ?? tempDir('sb-it-data-');
  const ownsDir = !opts.dataDir;
  let listen = opts.listen ?? '127.0.0.1:0';

  const d = { dataDir, url: null, port: null, rec: null };

  async function launch() {
    const rec = spawnDaemon(['--listen', listen, '--data-dir', dataDir, ...extra]);
    d.rec = rec;
    d.stopping = false;
    rec.exited.then((r) => {
      if (!d.stopping && d.rec === rec) d.crashed = { ...r, stderr: rec.stderr };
    });
    const { host, port } = await waitListening(d.rec, timeoutMs);
    d.port = port;
    d.url = `http://${host}:${port}`;
    d.wsUrl = `ws://${host}:${port}`;
    listen = `${host}:${port}`;
  }

  // Sends `signal` and waits up to `timeoutMs` for the exit; SIGKILLs after that.
  // Resolves {code, signal, elapsedMs, timedOut}.
  d.stop = async (signal = 'SIGTERM', timeoutMs = 5000) => {
    const rec = d.rec;
    if (!rec) return { code: null, signal: null, elapsedMs: 0, timedOut: false };
    const t0 = Date.now();
    d.stopping = true;
    if (rec.child.exitCode === null && rec.child.signalCode === null) rec.child.kill(signal);
    let timedOut = false;
    let result = await orAfter(rec.exited, timeoutMs);
    if (!result) {
      timedOut = true;
      rec.child.kill('SIGKILL');
      result = await rec.exited;
    }
    return { ...result, elapsedMs: Date.now() - t0, timedOut };
  };
  d.kill9 = () => d.stop('SIGKILL');
  // Starts the daemon again on the same port and data dir (stop it first).
  d.restart = async () => {
    await d.stop();
    await launch();
    return d;
  };
  d.stderr = () => d.rec?.stderr ?? '';
  d.stdout = () => d.rec?.stdout ?? '';
  // Stops (SIGTERM, then SIGKILL) and removes the data dir. For after() hooks: it cleans up
  // first, then throws if the daemon had died on its own during the tests (with its stderr).
  d.close = async () => {
    try {
      await d.stop('SIGTERM', 5000);
    } finally {
      if (ownsDir) removeDir(dataDir);
    }
    if (d.crashed) {
      const { code, signal, stderr } = d.crashed;
      throw new Error(`switchboard exited on its own during the tests (code ${code}, signal ${signal})\n--- stderr ---\n${stderr}`);
    }
  };

  await launch();
  return d;
}

// Runs the binary with exactly `args` until it exits (it is expected to fail fast).
// Resolves {code, signal, stdout, stderr, timedOut}.
export async function runToExit(args, timeoutMs = 10000) {
  const rec = spawnDaemon(args);
  let timedOut = false;
  let result = await orAfter(rec.exited, timeoutMs);
  if (!result) {
    timedOut = true;
    rec.child.kill('SIGKILL');
    result = await rec.exited;
  }
  // Let the pipes drain.
  await sleep(50);
  return { ...result, stdout: rec.stdout, stderr: rec.stderr, timedOut };
}

// ---------------------------------------------------------------- HTTP

// fetch() wrapper: resolves {status, headers, text, body (parsed JSON or undefined), ms}.
export async function request(url, { method = 'GET', headers = {}, body, timeoutMs = 10000 } = {}) {
  const t0 = Date.now();
  let res;
  try {
    res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = err.cause ? ` (${err.cause.code ?? ''} ${err.cause.message ?? err.cause})` : '';
    throw new Error(`${method} ${url}: ${err.message}${cause}`, { cause: err });
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: json, ms: Date.now() - t0 };
}

// POST /api/orders. `key` (service key or service JWT) goes into Authorization unless null;
// `body` is JSON-encoded unless it is already a string or Buffer. `headers` may override or,
// with a null value, remove the defaults.
export function postOrder(url, key, body, headers = {}) {
  const h = { 'content-type': 'application/json' };
  if (key != null) h.authorization = `Bearer ${key}`;
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (v === null) delete h[name];
    else h[name] = v;
  }
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return request(`${url}/api/orders`, { method: 'POST', headers: h, body: payload });
}

// One HTTP/1.1 request over a plain TCP socket (Connection: close) that reads the answer even
// when the server answers before the whole body is sent and then stops reading (as it may for
// an oversized body): errors while writing are ignored, whatever arrives is parsed. Resolves
// {status, headers (lower-case names), text, body, ms}.
export function rawRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 10000, expectContinue = false } = {}) {
  const u = new URL(url);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = [`${method} ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) lines.push(`content-length: ${payload.length}`);
  if (expectContinue) lines.push('expect: 100-continue');
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const chunks = [];
    const sock = net.connect(Number(u.port), u.hostname);
    const timer = setTimeout(() => {
      sock.destroy();
      finish(new Error(`timed out after ${timeoutMs} ms: ${method} ${url}`));
    }, timeoutMs);
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const head = raw.indexOf('\r\n\r\n');
      if (head < 0) return reject(err ?? new Error(`no HTTP answer to ${method} ${url} (${raw.length} bytes received)`));
      const [statusLine, ...headerLines] = raw.subarray(0, head).toString('latin1').split('\r\n');
      const hs = {};
      for (const l of headerLines) {
        const i = l.indexOf(':');
        hs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      let rest = raw.subarray(head + 4);
      if (/chunked/i.test(hs['transfer-encoding'] ?? '')) {
        const parts = [];
        for (let i = 0; ; ) {
          const eol = rest.indexOf('\r\n', i);
          if (eol < 0) break;
          const n = parseInt(rest.subarray(i, eol).toString(), 16);
          if (!n) break;
          parts.push(rest.subarray(eol + 2, eol + 2 + n));
          i = eol + 2 + n + 2;
        }
        rest = Buffer.concat(parts);
      } else if (hs['content-length'] !== undefined) {
        rest = rest.subarray(0, Number(hs['content-length']));
      }
      const text = rest.toString('utf8');
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers: hs, text, body: json, ms: Date.now() - t0 });
    };
    let lastError;
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => finish());
    sock.on('close', () => finish(lastError));
    // EPIPE/ECONNRESET while writing are expected when the server refuses early; 'close' follows.
    sock.on('error', (err) => (lastError = err));
    // With `expectContinue` the body waits (up to 1 s, as curl does) for "100 Continue"; a
    // final answer instead means it is never sent. The body goes in 64 KiB pieces, each after
    // the last has left, and stops once the server has answered.
    const finalAnswer = () => chunks.length && !/^HTTP\/1\.[01] 100 /.test(Buffer.concat(chunks).toString('latin1', 0, 13));
    (async () => {
      sock.write(lines.join('\r\n') + '\r\n\r\n');
      if (expectContinue) {
        await new Promise((r) => {
          const t = setTimeout(r, 1000);
          sock.once('data', () => (clearTimeout(t), setTimeout(r, 20)));
          sock.once('close', () => (clearTimeout(t), r()));
        });
        if (finalAnswer() || sock.destroyed) {
          if (!sock.destroyed) sock.end();
          return;
        }
        chunks.length = 0;
      }
      for (let i = 0; i < payload.length && !finalAnswer() && !sock.destroyed; i += 64 * 1024) {
        if (!sock.write(payload.subarray(i, i + 64 * 1024))) await new Promise((r) => sock.once('drain', r).once('close', r));
        await new Promise((r) => setImmediate(r));
      }
      if (!sock.destroyed) sock.end();
    })();
  });
}

// POST /api/dev/token {sub, role, mid} → the JWT.
export async function devToken(url, sub, role, mid) {
  const res = await request(`${url}/api/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub, role, mid }),
  });
  if (res.status !== 200 || typeof res.body?.token !== 'string')
    throw new Error(`POST /api/dev/token ${sub}/${role}/${mid}: ${res.status} ${res.text}`);
  return res.body.token;
}

// The value of a Prometheus counter summed over all its label sets, or undefined if absent.
export async function metric(url, name) {
  const res = await request(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${res.text}`);
  let total;
  const re = new RegExp(`^${name}(\\{[^}]*\\})?\\s+(\\S+)`);
  for (const line of res.text.split('\n')) {
    const m = re.exec(line);
    if (m) total = (total ?? 0) + Number(m[2]);
  }
  return total;
}

// ---------------------------------------------------------------- WebSocket

// A WebSocket client that keeps every frame it receives. `next(pred)` takes the first frame not
// yet taken that matches; frames that do not match stay for later calls.
export class WsClient {
  constructor(ws) {
    this.ws = ws;
    this.frames = []; // every frame, in arrival order
    this.pending = []; // frames not yet taken by next()
    this.waiters = new Set();
    this.closeInfo = null;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        for (const w of this.waiters) w.onClose(this.closeInfo);
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => {}); // surfaced through 'close'
    ws.on('message', (data, isBinary) => {
      let frame;
      try {
        frame = JSON.parse(data.toString('utf8'));
      } catch {
        frame = { op: '<not json>', raw: data.toString('utf8'), binary: isBinary };
      }
      this.frames.push(frame);
      this.pending.push(frame);
      for (const w of [...this.waiters]) w.check();
    });
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  sendRaw(data, options = {}) {
    this.ws.send(data, options);
  }

  // The first pending frame matching `pred` (a function or an object of fields to equal).
  next(pred = () => true, timeoutMs = 3000, what = '') {
    const match = typeof pred === 'function' ? pred : (f) => Object.entries(pred).every(([k, v]) => f[k] === v);
    const desc = what || (typeof pred === 'function' ? pred.toString() : JSON.stringify(pred));
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const i = this.pending.findIndex(match);
          if (i < 0) return false;
          const [f] = this.pending.splice(i, 1);
          done();
          resolve(f);
          return true;
        },
        onClose: (info) => {
          if (w.check()) return;
          done();
          reject(new Error(`connection closed (${info.code} ${info.reason}) while waiting for ${desc}; got ${this.describe()}`));
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${desc}; got ${this.describe()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(w);
      };
      this.waiters.add(w);
      if (w.check()) return;
      if (this.closeInfo) w.onClose(this.closeInfo);
    });
  }

  nextPush(stream, timeoutMs = 3000) {
    return this.next((f) => f.op === 'push' && (!stream || f.stream === stream), timeoutMs, `push on ${stream ?? 'any stream'}`);
  }

  // Takes `n` pushes of `stream` in arrival order.
  async pushes(stream, n, timeoutMs = 5000) {
    const out = [];
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < n; i++) out.push(await this.nextPush(stream, Math.max(1, deadline - Date.now())));
    return out;
  }

  // Waits `ms` and returns the pending frames matching `pred` (expected: none).
  async quietFor(pred = () => true, ms = 300) {
    await sleep(ms);
    return this.pending.filter(pred);
  }

  // Sends hello (with `resume` if given) and waits for welcome.
  async hello(resume, timeoutMs = 3000) {
    this.send(resume ? { op: 'hello', resume } : { op: 'hello' });
    return this.next({ op: 'welcome' }, timeoutMs);
  }

  ack(stream, seq) {
    this.send({ op: 'ack', stream, seq });
  }

  // Closes with `code` and waits for the closing handshake (so every frame sent before has
  // been read by the server).
  async close(code = 1000, timeoutMs = 3000) {
    if (!this.closeInfo) {
      if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code);
      try {
        await withTimeout(this.closed, timeoutMs, 'websocket close handshake');
      } catch (e) {
        this.ws.terminate();
        throw e;
      }
    }
    return this.closeInfo;
  }

  // Best effort, for after() hooks.
  terminate() {
    if (!this.closeInfo) this.ws.terminate();
  }

  describe(max = 12) {
    const shown = this.frames.slice(-max).map((f) => JSON.stringify(f).slice(0, 300));
    return `${this.frames.length} frame(s)${this.frames.length > max ? ', last ' + max : ''}: [${shown.join(', ')}]` +
      (this.closeInfo ? ` closed ${this.closeInfo.code}` : '');
  }
}

// Opens GET /ws?token=… Resolves a WsClient once open; rejects if the upgrade is refused (the
// error has .status and .body).
export function connectWs(url, token, { timeoutMs = 5000 } = {}) {
  const wsUrl = url.replace(/^http/, 'ws') + '/ws' + (token != null ? `?token=${encodeURIComponent(token)}` : '');
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { handshakeTimeout: timeoutMs });
    const client = new WsClient(ws); // collects frames from the start
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const err = new Error(`websocket upgrade refused: ${res.statusCode} ${text}`);
        err.status = res.statusCode;
        err.body = body;
        err.text = text;
        req.destroy();
        reject(err);
      });
    });
    client.closed.then((info) => reject(new Error(`websocket closed before open: ${info.code} ${info.reason}`)));
  });
}

// Connects and says hello; resolves {ws, welcome}.
export async function connectMerchant(url, token, resume) {
  const ws = await connectWs(url, token);
  const welcome = await ws.hello(resume);
  return { ws, welcome };
}

// ---------------------------------------------------------------- assertions

// An HTTP error answer of the contract: `status` and JSON {"error": code, "message": string}.
export function assertError(res, status, code, what = '') {
  const got = `${what ? what + ': ' : ''}got ${res.status} ${String(res.text).slice(0, 300)}`;
  assert.equal(res.status, status, got);
  assert.match(String(res.headers['content-type'] ?? res.headers.get?.('content-type')), /application\/json/, `content-type; ${got}`);
  assert.equal(res.body?.error, code, got);
  assert.equal(typeof res.body?.message, 'string', `message; ${got}`);
}

// A 202 of POST /api/orders for `merchant`.
export function assertAccepted(res, merchant, what = '') {
  const got = `${what ? what + ': ' : ''}got ${res.status} ${String(res.text).slice(0, 300)}`;
  assert.equal(res.status, 202, got);
  assert.equal(res.body?.stream, `orders:${merchant}`, got);
  assert.ok(Number.isInteger(res.body?.seq) && res.body.seq >= 1, `seq; ${got}`);
  assert.ok(typeof res.body?.id === 'string' && res.body.id.length > 0, `id; ${got}`);
  return res.body;
}

// A push frame of the order whose 202 body is `accepted` and whose posted body was `body`.
export function assertOrderPush(frame, accepted, body) {
  const got = `got ${JSON.stringify(frame).slice(0, 400)}`;
  assert.equal(frame.op, 'push', got);
  assert.equal(frame.stream, accepted.stream, got);
  assert.equal(frame.seq, accepted.seq, got);
  assert.equal(frame.id, accepted.id, got);
  assert.equal(frame.kind, 'order', got);
  assert.ok(Number.isInteger(frame.ts) && Math.abs(frame.ts - Date.now()) < 10 * 60 * 1000, `ts is ms UTC; ${got}`);
  if (body !== undefined) assert.deepEqual(frame.data, body, got);
}

// Posts `bodies` one after another with `key`; returns the 202 bodies.
export async function postOrders(url, key, bodies) {
  const out = [];
  for (const b of bodies) out.push(assertAccepted(await postOrder(url, key, b), b.merchant));
  return out;
}

export const order = (merchant, orderId, extra = {}) => ({ merchant, order_id: orderId, ...extra });
