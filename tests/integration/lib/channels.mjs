// Helpers for the channel integration tests (channels_*.test.mjs): WeChat callback signing and
// message bodies, a stand-in for WeChat's API servers, an app-webhook receiver, and the admin
// endpoints of channels and the outbox (docs/PROTOCOL.md, "Channels"). Loopback only; every
// server here listens on 127.0.0.1:0 and is closed by its close().
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { test as nodeTest } from 'node:test';
import * as sb from './daemon.mjs';
import * as chat from './chat.mjs';

// ---------------------------------------------------------------- WeChat callbacks

// hex(sha1(concat(sort([token, timestamp, nonce])))): WeChat's callback signature.
export function wechatSign(token, timestamp, nonce) {
  const parts = [String(token), String(timestamp), String(nonce)].sort();
  return createHash('sha1').update(parts.join('')).digest('hex');
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

let nonceCounter = 0;
const freshNonce = () => `${process.pid}${++nonceCounter}${Math.floor(Math.random() * 1e6)}`;

// The query string (without "?") of a callback signed with `token`. `signature` overrides the
// computed one; `echostr` is added for GET verification.
export function wechatQuery(token, { timestamp = nowSeconds(), nonce = freshNonce(), echostr, signature } = {}) {
  const q = new URLSearchParams({
    signature: signature ?? wechatSign(token, timestamp, nonce),
    timestamp: String(timestamp),
    nonce: String(nonce),
  });
  if (echostr !== undefined) q.set('echostr', String(echostr));
  return q.toString();
}

// A value inside CDATA sections ("]]>" split across two sections, as WeChat does).
export const cdata = (v) => `<![CDATA[${String(v).replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;

// A plaintext-mode callback body:
//   <xml><ToUserName>…</ToUserName><FromUserName>…</FromUserName><CreateTime>…</CreateTime>
//   <MsgType>…</MsgType>[<Content>…</Content>][<MsgId>…</MsgId>]…extra…</xml>
// String fields go in CDATA. `contentRaw` puts Content in as written (entities, character
// data); `content: null` leaves Content out. `extra` is {Element: value} (CDATA) or a string
// inserted verbatim before </xml>. `msgId: null` leaves MsgId out.
export function wechatXml({
  to = 'gh_switchboard_test',
  from,
  type = 'text',
  content,
  contentRaw,
  msgId,
  createTime = nowSeconds(),
  extra = {},
} = {}) {
  const out = ['<xml>'];
  out.push(`<ToUserName>${cdata(to)}</ToUserName>`);
  out.push(`<FromUserName>${cdata(from)}</FromUserName>`);
  out.push(`<CreateTime>${createTime}</CreateTime>`);
  out.push(`<MsgType>${cdata(type)}</MsgType>`);
  if (contentRaw !== undefined) out.push(`<Content>${contentRaw}</Content>`);
  else if (content !== undefined && content !== null) out.push(`<Content>${cdata(content)}</Content>`);
  if (typeof extra === 'string') out.push(extra);
  else for (const [k, v] of Object.entries(extra)) out.push(`<${k}>${cdata(v)}</${k}>`);
  if (msgId !== undefined && msgId !== null) out.push(`<MsgId>${msgId}</MsgId>`);
  out.push('</xml>');
  return out.join('\n');
}

// A fresh MsgId (decimal, at most 20 digits) and openid, unique per process.
const msgIdBase = BigInt(Date.now()) * 1000n;
let msgCounter = 0;
export const freshMsgId = () => String(msgIdBase + BigInt(++msgCounter));
let openidCounter = 0;
export const freshOpenid = (prefix = 'o') => `${prefix}Wx${process.pid}_${++openidCounter}`;

// POST /wechat/{merchant}?signature&timestamp&nonce with `xml` as a text/xml body, signed with
// `token`. opts: {timestamp, nonce, signature, raw (plain TCP request, for oversized bodies),
// headers, timeoutMs}. Resolves {status, headers, text, body, ms} (lib/daemon.mjs request()).
export function postWechat(url, merchant, token, xml, opts = {}) {
  const target = `${url}/wechat/${encodeURIComponent(merchant)}?${wechatQuery(token, opts)}`;
  const headers = { 'content-type': 'text/xml; charset=utf-8', ...(opts.headers ?? {}) };
  const body = Buffer.isBuffer(xml) ? xml : Buffer.from(xml, 'utf8');
  if (opts.raw) {
    return sb.rawRequest(target, { method: 'POST', headers: { ...headers, 'content-length': body.length }, body, timeoutMs: opts.timeoutMs ?? 10000 });
  }
  return sb.request(target, { method: 'POST', headers, body, timeoutMs: opts.timeoutMs ?? 10000 });
}

// GET /wechat/{merchant}?signature&timestamp&nonce&echostr (the URL verification).
export function getWechat(url, merchant, token, opts = {}) {
  return sb.request(`${url}/wechat/${encodeURIComponent(merchant)}?${wechatQuery(token, opts)}`, { timeoutMs: opts.timeoutMs ?? 10000 });
}

// The text of element `name` of a (reply) XML document: CDATA sections and character data
// joined, the five predefined entities decoded. undefined if absent.
export function xmlField(xml, name) {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  if (!m) return undefined;
  let out = '';
  const re = /<!\[CDATA\[([\s\S]*?)\]\]>|([^<]+)/g;
  for (let part; (part = re.exec(m[1])); ) {
    if (part[1] !== undefined) out += part[1];
    else
      out += part[2]
        .replaceAll('&lt;', '<')
        .replaceAll('&gt;', '>')
        .replaceAll('&quot;', '"')
        .replaceAll('&apos;', "'")
        .replaceAll('&amp;', '&');
  }
  return out;
}

// ---------------------------------------------------------------- servers

// Reads a request's body; resolves the Buffer.
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function listen(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address().port;
}

function closeServer(server) {
  server.closeAllConnections?.();
  return sb.withTimeout(new Promise((resolve) => server.close(() => resolve())), 5000, 'closing a test HTTP server');
}

function sendJson(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// A stand-in for WeChat's API (api.weixin.qq.com) on 127.0.0.1:0, speaking the documented calls:
//   GET  /cgi-bin/token?grant_type=client_credential&appid=&secret=
//        → {"access_token":"TOKEN-<n>","expires_in":7200}, a new token per fetch, which becomes
//          the current one (older tokens stop working: 40001); a wrong appid/secret →
//          {"errcode":40013,"errmsg":"invalid appid"}
//   POST /cgi-bin/message/custom/send?access_token=
//        → with the current token: records {token, body} in `sends`, {"errcode":0,"errmsg":"ok"};
//          with a token expired by expireCurrentToken(): 42001; any other token: 40001.
// Controls: expireCurrentToken(), down(status) (answer every request with `status`, or with
// no status destroy every connection), up(). Records: sends (accepted deliveries, in order),
// attempts (every custom/send call with its errcode, or down: true), tokenFetches (successful
// token answers), tokenRequests (every token call), issued (tokens handed out), downHits.
export async function startWechatStandin({ appId = 'wx-standin-app', appSecret = 'standin-app-secret', expiresIn = 7200 } = {}) {
  const s = {
    appId,
    appSecret,
    sends: [],
    attempts: [],
    tokenFetches: 0,
    tokenRequests: [],
    issued: [],
    current: null,
    expired: new Set(),
    downMode: null,
    downHits: 0,
    unknown: [],
  };
  let counter = 0;

  const server = http.createServer(async (req, res) => {
    let raw;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const u = new URL(req.url, 'http://standin');
    if (s.downMode !== null) {
      s.downHits++;
      if (u.pathname === '/cgi-bin/message/custom/send') {
        s.attempts.push({ token: u.searchParams.get('access_token'), raw: raw.toString('utf8'), down: true, at: Date.now() });
      }
      if (s.downMode === 'destroy') return req.socket.destroy();
      return sendJson(res, s.downMode, { error: 'down for a test' });
    }
    if (req.method === 'GET' && u.pathname === '/cgi-bin/token') {
      const q = u.searchParams;
      s.tokenRequests.push({ query: Object.fromEntries(q), at: Date.now() });
      if (q.get('grant_type') !== 'client_credential' || q.get('appid') !== s.appId || q.get('secret') !== s.appSecret) {
        return sendJson(res, 200, { errcode: 40013, errmsg: 'invalid appid' });
      }
      const token = `TOKEN-${++counter}`;
      s.current = token;
      s.issued.push(token);
      s.tokenFetches++;
      return sendJson(res, 200, { access_token: token, expires_in: expiresIn });
    }
    if (req.method === 'POST' && u.pathname === '/cgi-bin/message/custom/send') {
      const token = u.searchParams.get('access_token');
      const text = raw.toString('utf8');
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const attempt = { token, raw: text, body, contentType: req.headers['content-type'], at: Date.now() };
      s.attempts.push(attempt);
      if (token && token === s.current) {
        if (!body || typeof body !== 'object') {
          attempt.errcode = 47001;
          return sendJson(res, 200, { errcode: 47001, errmsg: 'data format error' });
        }
        attempt.errcode = 0;
        s.sends.push({ token, body, raw: text, contentType: req.headers['content-type'], at: Date.now() });
        return sendJson(res, 200, { errcode: 0, errmsg: 'ok' });
      }
      if (token && s.expired.has(token)) {
        attempt.errcode = 42001;
        return sendJson(res, 200, { errcode: 42001, errmsg: 'access_token expired' });
      }
      attempt.errcode = 40001;
      return sendJson(res, 200, { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    }
    s.unknown.push({ method: req.method, url: req.url });
    sendJson(res, 404, { errcode: -1, errmsg: 'no such api in the stand-in' });
  });
  const port = await listen(server);
  s.url = `http://127.0.0.1:${port}`;

  // The current token stops working: further sends with it get 42001 until a new fetch.
  s.expireCurrentToken = () => {
    if (s.current) s.expired.add(s.current);
    const old = s.current;
    s.current = null;
    return old;
  };
  s.down = (status) => {
    s.downMode = status ?? 'destroy';
  };
  s.up = () => {
    s.downMode = null;
  };
  // Accepted deliveries whose text content is `text` (and, if given, touser `openid`).
  s.sendsOf = (text, openid) => s.sends.filter((x) => x.body?.text?.content === text && (openid === undefined || x.body?.touser === openid));
  s.close = () => closeServer(server);
  return s;
}

// An app backend's webhook on 127.0.0.1:0 (`url` ends in /hook). Every POST is recorded in
// `attempts` as {delivery, raw, body, headers, verified, status}; `verified` says whether
// X-Switchboard-Signature is sha256=<hex HMAC-SHA256(secret, raw body)>. A request that does
// not verify is answered 401; while fail(status) is in force every request is answered with
// that status; otherwise 200. A verified delivery answered 2xx is kept once per
// X-Switchboard-Delivery in `deliveries` (a Map, in arrival order): what a receiver that
// de-duplicates by delivery id has seen.
export async function startWebhookReceiver(secret) {
  const r = { attempts: [], deliveries: new Map(), failStatus: null };
  const server = http.createServer(async (req, res) => {
    let raw;
    try {
      raw = await readBody(req);
    } catch {
      return;
    }
    const sig = String(req.headers['x-switchboard-signature'] ?? '');
    const expected = 'sha256=' + createHmac('sha256', secret).update(raw).digest('hex');
    const verified = sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
    let body;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const delivery = req.headers['x-switchboard-delivery'];
    const a = { method: req.method, path: req.url, delivery, raw: raw.toString('utf8'), body, headers: { ...req.headers }, verified, at: Date.now() };
    r.attempts.push(a);
    if (req.method !== 'POST' || new URL(req.url, 'http://receiver').pathname !== '/hook') {
      a.status = 404;
      return sendJson(res, 404, { error: 'not_found' });
    }
    if (r.failStatus !== null) {
      a.status = r.failStatus;
      return sendJson(res, r.failStatus, { error: 'failing for a test' });
    }
    if (!verified) {
      a.status = 401;
      return sendJson(res, 401, { error: 'bad_signature' });
    }
    a.status = 200;
    if (delivery && !r.deliveries.has(delivery)) r.deliveries.set(delivery, { body, raw: a.raw, headers: a.headers, at: a.at });
    sendJson(res, 200, { ok: true });
  });
  const port = await listen(server);
  r.url = `http://127.0.0.1:${port}/hook`;
  r.fail = (status = 503) => {
    r.failStatus = status;
  };
  r.ok = () => {
    r.failStatus = null;
  };
  // Attempts / accepted deliveries whose body text is `text`.
  r.attemptsOf = (text) => r.attempts.filter((a) => a.body?.text === text);
  r.deliveriesOf = (text) => [...r.deliveries.values()].filter((d) => d.body?.text === text);
  r.close = () => closeServer(server);
  return r;
}

// ---------------------------------------------------------------- JWT

// An HS256 JWT of `claims` signed with `secret` (for principals /api/dev/token will not mint).
export function signJwt(secret, claims) {
  const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
  const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

// ---------------------------------------------------------------- admin API

const jsonHeaders = (token) => ({ 'content-type': 'application/json', ...(token == null ? {} : { authorization: `Bearer ${token}` }) });

// PUT /admin/merchants/{m}/channels/{channel} with `body` (JSON-encoded unless a string).
export function adminPutChannel(url, adminToken, merchant, channel, body) {
  return sb.request(`${url}/admin/merchants/${encodeURIComponent(merchant)}/channels/${encodeURIComponent(channel)}`, {
    method: 'PUT',
    headers: jsonHeaders(adminToken),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

// GET /admin/merchants/{m}/channels.
export function getChannels(url, token, merchant) {
  return sb.request(`${url}/admin/merchants/${encodeURIComponent(merchant)}/channels`, { headers: jsonHeaders(token) });
}

// GET /admin/outbox[?merchant=].
export function getOutbox(url, adminToken, merchant) {
  const q = merchant ? `?merchant=${encodeURIComponent(merchant)}` : '';
  return sb.request(`${url}/admin/outbox${q}`, { headers: jsonHeaders(adminToken) });
}

// POST /api/channels/app/messages with `key` (service key or JWT; null: no Authorization).
export function postAppMessage(url, key, body, headers = {}) {
  return sb.request(`${url}/api/channels/app/messages`, {
    method: 'POST',
    headers: { ...jsonHeaders(key), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

// The conversation of `customer` ("wx:<openid>", "app:<user>") as the merchant lists it.
export async function conversationOf(url, merchantTok, customer) {
  const all = await chat.conversations(url, merchantTok);
  return all.find((c) => c.customer === customer);
}

// Every stored message of `customer`'s conversation (oldest first), [] when there is none.
export async function storedMessagesOf(url, merchantTok, customer) {
  const c = await conversationOf(url, merchantTok, customer);
  return c ? chat.fullHistory(url, merchantTok, c.id) : [];
}

// test() whose failure, when the daemon (`getDaemon()`) died meanwhile, carries its exit and
// stderr (an ASan report, say): otherwise only "socket closed" would show.
export function daemonAwareTest(getDaemon) {
  return (name, fn) =>
    nodeTest(name, async (t) => {
      try {
        return await fn(t);
      } catch (err) {
        const d = getDaemon();
        // A connection failure may be the daemon dying: give it a moment to finish its report.
        const wait = /fetch failed|ECONNREFUSED|ECONNRESET|closed|socket/i.test(String(err?.message)) ? 3000 : 100;
        const exited = d?.rec ? await Promise.race([d.rec.exited, sb.sleep(wait).then(() => null)]) : null;
        if (exited) {
          // A sanitizer report: its headline, first frames and summary; else the stderr tail.
          const lines = d.stderr().split('\n');
          const key = lines.filter((l) => /ERROR: |SUMMARY: |^\s+#[0-3] /.test(l)).slice(0, 12).map((l) => l.slice(0, 300));
          err.message += `\n--- switchboard exited (code ${exited.code}, signal ${exited.signal}); stderr ---\n${key.length ? key.join('\n') : d.stderr().slice(-3000)}`;
        }
        throw err;
      }
    });
}
