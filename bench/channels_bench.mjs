#!/usr/bin/env node
// Channels benchmark (not part of CI; see bench/README.md, "Channels"). Starts one daemon on
// loopback with a fresh data directory (storage.sync = true, rate limits lifted), a stand-in for
// WeChat's API and an app webhook receiver (both in this process, from
// tests/integration/lib/channels.mjs), one agent on /ws enrolled by [chat] agents, and measures:
//   1. WeChat callback intake: WX_N signed `POST /wechat/m1` text callbacks (distinct MsgIds) from
//      WX_USERS openids, CONC in flight (closed loop), after WARMUP unmeasured ones from other
//      openids: accepted/s and callback latency (answered once fsynced).
//   2. WeChat outbound: the agent replies WX_K times (round robin over those conversations) with
//      `send` over /ws, at most SEND_WINDOW sends without their `sent`; the stand-in records each
//      custom/send: deliveries/s and latency send → stand-in, token fetches, duplicates, order.
//      Then PACED_K replies offered at PACED_RATE/s (open loop), then PROBE replies one at a time
//      (each after the previous arrived): latency under a steady load and without one.
//   3. The same for the app channel: POST /api/channels/app/messages in (APP_N from APP_USERS
//      users), the webhook receiver out (APP_K replies).
//
//   node bench/channels_bench.mjs                      defaults, about 25 s
//   node bench/channels_bench.mjs WX_N=4000 CONC=64    parameters as NAME=value or in the env
//
// Parameters: SWITCHBOARD_BIN (default build-rel/switchboard), WX_N, WX_USERS, WX_K, APP_N,
// APP_USERS, APP_K, CONC, SEND_WINDOW, PACED_K, PACED_RATE, PROBE, WARMUP, SENDERS (the daemon's
// outbox.senders; unset = its default, 2), CLIENT (http: node:http keep-alive, the default;
// fetch: the libs' postWechat/postAppMessage), PHASE_TIMEOUT_S (bound of each wait),
// TOTAL_TIMEOUT_S (the whole run). Prints a summary and one line `RESULT {json}`; exits 0 when
// every request was accepted and every reply delivered, 1 otherwise, 3 on TOTAL_TIMEOUT_S.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { procCpuS } from './lib/proc.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
for (const a of process.argv.slice(2)) {
  const m = /^([A-Z_]+)=(.*)$/.exec(a);
  if (!m) {
    console.error(`channels_bench: unknown argument ${a} (expected NAME=value)`);
    process.exit(2);
  }
  process.env[m[1]] = m[2];
}
// lib/daemon.mjs reads SWITCHBOARD_BIN when it is loaded: set it first, then import the libs.
process.env.SWITCHBOARD_BIN ??= path.join(ROOT, 'build-rel/switchboard');
const sb = await import('../tests/integration/lib/daemon.mjs');
const chat = await import('../tests/integration/lib/chat.mjs');
const ch = await import('../tests/integration/lib/channels.mjs');

const int = (name, def) => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative integer`);
  return n;
};
const P = {
  bin: sb.BIN,
  wx_n: int('WX_N', 20000),
  wx_users: int('WX_USERS', 200),
  wx_k: int('WX_K', 2000),
  app_n: int('APP_N', 20000),
  app_users: int('APP_USERS', 200),
  app_k: int('APP_K', 2000),
  conc: Math.max(1, int('CONC', 32)),
  send_window: Math.max(1, int('SEND_WINDOW', 32)),
  probe: int('PROBE', 20),
  senders: process.env.SENDERS ? int('SENDERS', 2) : null,
  client: process.env.CLIENT ?? 'http',
  warmup: int('WARMUP', 200),
  paced_k: int('PACED_K', 1000),
  paced_rate: int('PACED_RATE', 500),
  phase_timeout_s: int('PHASE_TIMEOUT_S', 30),
  total_timeout_s: int('TOTAL_TIMEOUT_S', 120),
};

const MERCHANT = 'm1';
const WX_TOKEN = 'benchCallbackToken42';
const ACCOUNT = 'gh_bench00000001';
const APP_SECRET = 'bench-app-webhook-secret-0123456789';
const AGENT = 'agentX';

// ---------------------------------------------------------------- small helpers

const now = () => performance.now();
const fmt = (ms) => (ms === undefined || ms === null || Number.isNaN(ms) ? '-' : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0));
function pct(sorted, p) {
  if (!sorted.length) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}
function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const r = (x) => (x === undefined ? null : Math.round(x * 100) / 100);
  return { n: s.length, p50: r(pct(s, 50)), p99: r(pct(s, 99)), max: r(s[s.length - 1]) };
}
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function procRssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}
const selfCpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

// The intake's HTTP client. `http` (default): node:http on keep-alive connections, at most CONC
// of them; the lib's helpers (fetch) cost this process about twice the CPU per request, and this
// process shares the two cores with the daemon. CLIENT=fetch uses them (ch.postWechat,
// ch.postAppMessage) instead. Resolves {status, text}.
let keepAlive;
function post(url, target, headers, body, timeoutMs = 10000) {
  keepAlive ??= new http.Agent({ keepAlive: true, maxSockets: P.conc });
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: target, method: 'POST', agent: keepAlive, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms: POST ${target}`)));
    req.on('error', reject);
    req.end(body);
  });
}

// Measures wall time and CPU of the daemon and of this process over one phase, and the daemon's
// synced RocksDB writes (group commits: sb_storage_rounds_total) and write sets committed in them.
async function storageCounters(d) {
  try {
    return [await sb.metric(d.url, 'sb_storage_rounds_total'), await sb.metric(d.url, 'sb_storage_sets_total')];
  } catch {
    return [NaN, NaN];
  }
}
async function meter(d) {
  const pid = d.rec.child.pid;
  const [r0, s0] = await storageCounters(d);
  const t0 = now(), d0 = procCpuS(pid), c0 = selfCpuS();
  return async () => {
    const wall = (now() - t0) / 1000;
    const out = {
      wall_s: round(wall, 3),
      daemon_cpu_pct: round((100 * (procCpuS(pid) - d0)) / wall),
      client_cpu_pct: round((100 * (selfCpuS() - c0)) / wall),
    };
    const [r1, s1] = await storageCounters(d);
    out.synced_writes = r1 - r0;
    out.synced_writes_per_s = round((r1 - r0) / wall);
    out.sets_per_synced_write = r1 > r0 ? round((s1 - s0) / (r1 - r0), 2) : null;
    return out;
  };
}

// Resolves when check() is truthy (polled every 20 ms), false after `ms`.
async function until(check, ms) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sb.sleep(20);
  }
  return true;
}

// Runs fn(i) for i in [0, n) with `width` calls in flight; stops starting new calls after
// `deadlineMs` (wall). Resolves the number started.
async function pool(n, width, fn, deadlineMs) {
  let next = 0;
  const stopAt = Date.now() + deadlineMs;
  const worker = async () => {
    while (next < n && Date.now() < stopAt) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return next;
}

// ---------------------------------------------------------------- the agent

// One agent connection: acks every push, learns customer → conv from `assigned` entries,
// counts message pushes from customers, and matches `sent`/`error` answers of its sends.
async function startAgent(url) {
  const token = await chat.agentToken(url, AGENT, MERCHANT);
  const { ws } = await chat.participant(url, token);
  const a = { ws, convOf: new Map(), customerMsgs: 0, errors: [], waiting: new Map() };
  // From here on this listener replaces WsClient's (which keeps every frame): one JSON parse
  // per frame, and every push acked as it arrives (as chat.autoAck does).
  ws.ws.removeAllListeners('message');
  ws.frames.length = 0;
  ws.pending.length = 0;
  ws.ws.on('message', (data) => {
    let f;
    try {
      f = JSON.parse(data.toString('utf8'));
    } catch {
      a.errors.push({ op: '<not json>' });
      return;
    }
    if (f.op === 'push' && typeof f.stream === 'string' && Number.isInteger(f.seq)) ws.ack(f.stream, f.seq);
    if (f.op === 'push' && f.kind === 'assigned' && f.data?.customer) a.convOf.set(f.data.customer, f.data.conv);
    else if (f.op === 'push' && f.kind === 'message' && f.data?.role === 'customer') a.customerMsgs++;
    else if (f.op === 'sent') {
      const w = a.waiting.get(f.id);
      if (w) {
        a.waiting.delete(f.id);
        w(f);
      }
    } else if (f.op === 'error') {
      a.errors.push(f);
      // error frames carry only the op as ref: fail the oldest waiting send
      const first = a.waiting.keys().next();
      if (!first.done) {
        const w = a.waiting.get(first.value);
        a.waiting.delete(first.value);
        w(f);
      }
    }
  });
  // A closed connection answers every waiting send.
  ws.closed.then((info) => {
    for (const [id, w] of a.waiting) w({ op: 'closed', id, ...info });
    a.waiting.clear();
  });
  // Sends and resolves the answer frame (sent or error; {op: 'timeout'} after PHASE_TIMEOUT_S).
  a.send = (conv, id, text) =>
    new Promise((resolve) => {
      if (!ws.isOpen) return resolve({ op: 'closed', id });
      const timer = setTimeout(() => {
        a.waiting.delete(id);
        resolve({ op: 'timeout', id });
      }, P.phase_timeout_s * 1000);
      a.waiting.set(id, (f) => {
        clearTimeout(timer);
        resolve(f);
      });
      ws.send({ op: 'send', conv, id, text });
    });
  return a;
}

// ---------------------------------------------------------------- phases

// Intake: n requests, CONC in flight. postOne(i) → {ok, status, text}.
async function intake(d, name, n, postOne) {
  const lat = [];
  const bad = new Map(); // "status body" → count
  let ok = 0, over5s = 0, thrown = 0;
  const perSecond = []; // answers accepted in each second of the phase (to see stalls)
  const m = await meter(d);
  const tPhase = now();
  const started = await pool(
    n,
    P.conc,
    async (i) => {
      const t0 = now();
      let res;
      try {
        res = await postOne(i);
      } catch (err) {
        thrown++;
        const k = `exception ${String(err.message).slice(0, 120)}`;
        bad.set(k, (bad.get(k) ?? 0) + 1);
        return;
      }
      const ms = now() - t0;
      if (ms > 5000) over5s++;
      if (res.ok) {
        ok++;
        lat.push(ms);
        const sec = Math.floor((now() - tPhase) / 1000);
        while (perSecond.length <= sec) perSecond.push(0);
        perSecond[sec]++;
      } else {
        const k = `${res.status} ${String(res.text).slice(0, 120)}`;
        bad.set(k, (bad.get(k) ?? 0) + 1);
      }
    },
    P.phase_timeout_s * 1000,
  );
  const cost = await m();
  return {
    name,
    requests: started,
    accepted: ok,
    refused: started - ok - thrown,
    exceptions: thrown,
    over_5s: over5s,
    accepted_per_s: round(ok / cost.wall_s),
    latency_ms: stats(lat),
    errors: Object.fromEntries(bad),
    accepted_per_second: perSecond,
    ...cost,
  };
}

// Outbound: k replies over the conversations in `convs` (customer → conv, in order), with
// SEND_WINDOW sends in flight; `arrived` (a Map text → perf time, filled by the receiver hook)
// tells when each reached the channel. Then PROBE replies one at a time.
async function outbound(d, agent, name, convs, k, arrived, prefix) {
  const customers = [...convs.keys()];
  const tSend = new Array(k), tSent = new Array(k);
  const sendErrors = [];
  const m = await meter(d);
  const tStart = now();
  await pool(
    k,
    P.send_window,
    async (i) => {
      const conv = convs.get(customers[i % customers.length]);
      const text = `${prefix} reply ${i}`;
      tSend[i] = now();
      const f = await agent.send(conv, `${prefix}-r${i}`, text);
      if (f.op === 'sent') tSent[i] = now();
      else sendErrors.push(f);
    },
    P.phase_timeout_s * 1000,
  );
  const tAllSent = now();
  const texts = Array.from({ length: k }, (_, i) => `${prefix} reply ${i}`);
  const complete = await until(() => texts.every((t) => arrived.has(t)), P.phase_timeout_s * 1000);
  const cost = await m();
  const e2e = [], sendSent = [];
  let last = 0, first = Infinity;
  for (let i = 0; i < k; i++) {
    const at = arrived.get(texts[i]);
    if (at !== undefined && tSend[i] !== undefined) {
      e2e.push(at - tSend[i]);
      last = Math.max(last, at);
      first = Math.min(first, at);
    }
    if (tSent[i] !== undefined) sendSent.push(tSent[i] - tSend[i]);
  }
  const delivered = e2e.length;
  const burst = {
    name,
    replies: k,
    conversations: customers.length,
    send_window: P.send_window,
    complete,
    delivered,
    send_errors: sendErrors.length,
    send_error_sample: sendErrors.slice(0, 3),
    sends_per_s: round(k / ((tAllSent - tStart) / 1000)),
    deliveries_per_s: delivered ? round(delivered / ((last - tStart) / 1000)) : 0,
    send_to_sent_ms: stats(sendSent),
    send_to_channel_ms: stats(e2e),
    first_delivery_ms: delivered ? round(first - tStart, 2) : null,
    last_delivery_ms: delivered ? round(last - tStart, 2) : null,
    ...cost,
  };
  // Paced: PACED_K replies at PACED_RATE per second (open loop: each at its time, whatever the
  // answers), round robin over the conversations.
  if (P.paced_k && P.paced_rate) {
    const pt = new Array(P.paced_k);
    const ptexts = Array.from({ length: P.paced_k }, (_, i) => `${prefix} paced ${i}`);
    const mp = await meter(d);
    const t0 = now();
    let i = 0;
    while (i < P.paced_k && now() - t0 < P.phase_timeout_s * 1000) {
      const due = Math.min(P.paced_k, Math.floor(((now() - t0) / 1000) * P.paced_rate) + 1);
      for (; i < due; i++) {
        const conv = convs.get(customers[i % customers.length]);
        pt[i] = now();
        agent.send(conv, `${prefix}-q${i}`, ptexts[i]).then((f) => f.op !== 'sent' && sendErrors.push(f));
      }
      await sb.sleep(2);
    }
    const tOffered = now();
    const done = await until(() => ptexts.every((t) => arrived.has(t)), P.phase_timeout_s * 1000);
    const lat = [];
    let last = 0;
    for (let j = 0; j < P.paced_k; j++) {
      const at = arrived.get(ptexts[j]);
      if (at !== undefined && pt[j] !== undefined) {
        lat.push(at - pt[j]);
        last = Math.max(last, at);
      }
    }
    burst.paced = {
      replies: P.paced_k,
      offered_per_s: round(i / ((tOffered - t0) / 1000)),
      complete: done,
      delivered: lat.length,
      deliveries_per_s: lat.length ? round(lat.length / ((last - t0) / 1000)) : 0,
      send_to_channel_ms: stats(lat),
      ...(await mp()),
    };
  }
  // Probe: one reply at a time, each after the previous arrived.
  const probe = [];
  for (let i = 0; i < P.probe; i++) {
    const conv = convs.get(customers[i % customers.length]);
    const text = `${prefix} probe ${i}`;
    const t0 = now();
    const f = await agent.send(conv, `${prefix}-p${i}`, text);
    if (f.op !== 'sent') {
      sendErrors.push(f);
      continue;
    }
    if (!(await until(() => arrived.has(text), 5000))) break;
    probe.push(arrived.get(text) - t0);
  }
  burst.probe_send_to_channel_ms = stats(probe);
  return burst;
}

// ---------------------------------------------------------------- main

async function main() {
  const result = { params: { ...P }, started: new Date().toISOString(), loadavg: os.loadavg().map((x) => round(x, 2)) };
  const clean = [];
  let d;
  const watchdog = setTimeout(() => {
    console.error(`channels_bench: TOTAL_TIMEOUT_S=${P.total_timeout_s} exceeded; giving up`);
    if (d) console.error(`--- daemon stderr (tail) ---\n${d.stderr().slice(-3000)}`);
    process.exit(3); // lib/daemon.mjs kills the daemon and removes its temp dirs on exit
  }, P.total_timeout_s * 1000);
  watchdog.unref();
  try {
    // The stand-in and the receiver: every accepted delivery is time-stamped as it is recorded.
    const wx = await ch.startWechatStandin({ appId: 'wxbench0000000001', appSecret: 'bench-wechat-app-secret' });
    clean.push(() => wx.close());
    const wxArrived = new Map();
    wx.sends.push = function (x) {
      wxArrived.set(x.body?.text?.content, now());
      return Array.prototype.push.call(this, x);
    };
    const hook = await ch.startWebhookReceiver(APP_SECRET);
    clean.push(() => hook.close());
    const appArrived = new Map();
    const set = hook.deliveries.set.bind(hook.deliveries);
    hook.deliveries.set = (key, v) => {
      appArrived.set(v.body?.text, now());
      return set(key, v);
    };

    const sections = {
      node: { dev_mode: 'true' },
      // One IP, one service key and one agent make all the traffic: lift the rate limits.
      limits: { principal_rate: 100000, principal_burst: 100000, ip_rate: 100000, ip_burst: 100000 },
      storage: { sync: 'true' },
      chat: { agents: `${MERCHANT}:${AGENT}:1:${Math.max(1000, P.wx_users + P.app_users + 2 * 50 + 10)}` },
      outbox: { retry_base: '100ms', retry_max: '1s', http_timeout: '5s', ...(P.senders ? { senders: P.senders } : {}) },
      [`channel.wechat.${MERCHANT}`]: { token: WX_TOKEN, app_id: wx.appId, app_secret: wx.appSecret, api_base: wx.url },
      [`channel.app.${MERCHANT}`]: { webhook_url: hook.url, secret: APP_SECRET },
    };
    d = await chat.startChat(sections);
    clean.push(() => d.close());
    const pid = d.rec.child.pid;
    result.daemon = { pid, url: d.url, rss_start_mib: procRssMiB(pid) };
    console.error(`daemon ${P.bin} pid ${pid} at ${d.url}, data ${d.dataDir}`);

    const agent = await startAgent(d.url);
    clean.push(() => agent.ws.close().catch(() => agent.ws.terminate()));

    // Each intake phase: WARMUP requests from other customers first (not measured: the JIT of
    // this process warms up, those customers' conversations are opened), then the measured ones.
    // After the last answer, waits until the agent has every message pushed and every
    // conversation assigned.
    const intakePhase = async (name, prefix, users, postOne) => {
      const warmUsers = Array.from({ length: Math.min(P.warmup, 50) }, (_, i) => `${users[0]}w${i}`);
      const before0 = agent.customerMsgs;
      const warm = P.warmup ? await intake(d, `${name} warm-up`, P.warmup, (i) => postOne(`w${i}`, warmUsers[i % warmUsers.length], i)) : { accepted: 0 };
      await until(() => agent.customerMsgs - before0 >= warm.accepted, P.phase_timeout_s * 1000);
      const msgs0 = agent.customerMsgs;
      const r = await intake(d, name, P[`${prefix}_n`], (i) => postOne(`m${i}`, users[i % users.length], i));
      r.warmup = { requests: warm.requests ?? 0, accepted: warm.accepted, accepted_per_s: warm.accepted_per_s ?? null };
      const used = Math.min(users.length, r.accepted ? r.requests : 0);
      const key = (u) => `${prefix === 'wx' ? 'wx' : 'app'}:${u}`;
      const tPush = now();
      const caughtUp = await until(() => agent.customerMsgs - msgs0 >= r.accepted && users.filter((u) => agent.convOf.has(key(u))).length >= used, P.phase_timeout_s * 1000);
      r.agent_pushes = agent.customerMsgs - msgs0;
      r.agent_caught_up_ms_after_last_answer = caughtUp ? round(now() - tPush, 1) : null;
      console.error(name, JSON.stringify(r));
      return r;
    };

    // 1. WeChat intake.
    const openids = Array.from({ length: P.wx_users }, (_, i) => `oBench_${process.pid}_${i}`);
    const msgBase = BigInt(Date.now()) * 1000n;
    let msgSeq = 0n;
    result.wechat_intake = await intakePhase('wechat callbacks', 'wx', openids, async (tag, openid) => {
      const xml = ch.wechatXml({ to: ACCOUNT, from: openid, content: `bench wechat message ${tag}`, msgId: String(msgBase + ++msgSeq) });
      const res =
        P.client === 'fetch'
          ? await ch.postWechat(d.url, MERCHANT, WX_TOKEN, xml, { timeoutMs: 10000 })
          : await post(d.url, `/wechat/${MERCHANT}?${ch.wechatQuery(WX_TOKEN)}`, { 'content-type': 'text/xml; charset=utf-8' }, xml);
      return { ok: res.status === 200 && res.text === 'success', status: res.status, text: res.text };
    });

    // 2. WeChat outbound.
    const wxConvs = new Map(openids.filter((o) => agent.convOf.has(`wx:${o}`)).map((o) => [o, agent.convOf.get(`wx:${o}`)]));
    if (wxConvs.size && P.wx_k) {
      const fetches0 = wx.tokenFetches;
      result.wechat_outbound = await outbound(d, agent, 'wechat custom/send', wxConvs, P.wx_k, wxArrived, 'wx');
      await sb.sleep(300); // a delivery made twice would show by now
      result.wechat_outbound.token_fetches = wx.tokenFetches - fetches0;
      result.wechat_outbound.standin_sends = wx.sends.length;
      result.wechat_outbound.standin_refusals = wx.attempts.filter((x) => x.errcode !== 0).length;
      result.wechat_outbound.duplicates = wx.sends.length - new Set(wx.sends.map((x) => x.body?.text?.content)).size;
      // Order per follower: the k-th reply of a follower arrives after its (k-1)-th.
      let outOfOrder = 0;
      const lastIdx = new Map();
      for (const s of wx.sends) {
        const m = / reply (\d+)$/.exec(s.body?.text?.content ?? '');
        if (!m) continue;
        const i = Number(m[1]);
        if ((lastIdx.get(s.body.touser) ?? -1) > i) outOfOrder++;
        lastIdx.set(s.body.touser, i);
      }
      result.wechat_outbound.out_of_order = outOfOrder;
      console.error('wechat outbound', JSON.stringify(result.wechat_outbound));
    }

    // 3. App channel: intake, then outbound.
    const users = Array.from({ length: P.app_users }, (_, i) => `u${i}`);
    result.app_intake = await intakePhase('app messages', 'app', users, async (tag, user) => {
      const body = { merchant: MERCHANT, user, id: `app-${tag}`, text: `bench app message ${tag}` };
      const res =
        P.client === 'fetch'
          ? await ch.postAppMessage(d.url, sb.DEV_SERVICE_KEY, body)
          : await post(d.url, '/api/channels/app/messages', { 'content-type': 'application/json', authorization: `Bearer ${sb.DEV_SERVICE_KEY}` }, JSON.stringify(body));
      return { ok: res.status === 201, status: res.status, text: res.text };
    });

    const appConvs = new Map(users.filter((u) => agent.convOf.has(`app:${u}`)).map((u) => [u, agent.convOf.get(`app:${u}`)]));
    if (appConvs.size && P.app_k) {
      result.app_outbound = await outbound(d, agent, 'app webhook', appConvs, P.app_k, appArrived, 'app');
      await sb.sleep(300);
      result.app_outbound.webhook_attempts = hook.attempts.length;
      result.app_outbound.webhook_not_200 = hook.attempts.filter((x) => x.status !== 200).length;
      result.app_outbound.webhook_unverified = hook.attempts.filter((x) => !x.verified).length;
      result.app_outbound.duplicates = hook.attempts.filter((x) => x.status === 200).length - hook.deliveries.size;
      let outOfOrder = 0;
      const lastIdx = new Map();
      for (const v of hook.deliveries.values()) {
        const m = / reply (\d+)$/.exec(v.body?.text ?? '');
        if (!m) continue;
        const i = Number(m[1]);
        if ((lastIdx.get(v.body.user) ?? -1) > i) outOfOrder++;
        lastIdx.set(v.body.user, i);
      }
      result.app_outbound.out_of_order = outOfOrder;
      console.error('app outbound', JSON.stringify(result.app_outbound));
    }

    const ob = await ch.getOutbox(d.url, await chat.adminToken(d.url));
    result.outbox_after = ob.status === 200 ? { pending: ob.body.pending.length, failed: ob.body.failed.length } : { status: ob.status, text: ob.text.slice(0, 200) };
    result.agent_error_frames = agent.errors.length;
    result.agent_error_sample = agent.errors.slice(0, 3);
    result.daemon.rss_end_mib = procRssMiB(pid);
    result.daemon.alive = d.rec.child.exitCode === null && d.rec.child.signalCode === null;
    const warn = d.stderr().split('\n').filter((l) => /error|warn|fail|abort|assert/i.test(l));
    result.daemon.stderr_warnings = warn.length;
    result.daemon.stderr_warning_sample = warn.slice(0, 5).map((l) => l.slice(0, 300));
  } finally {
    keepAlive?.destroy();
    for (const f of clean.reverse()) {
      try {
        await f();
      } catch (err) {
        console.error(`channels_bench: cleanup: ${err.message.slice(0, 2000)}`);
        result.cleanup_error = err.message.slice(0, 2000);
      }
    }
    clearTimeout(watchdog);
  }
  return result;
}

function summary(r) {
  const lines = [];
  lines.push(`channels_bench ${r.started}, load average ${r.loadavg.join(' ')}, ${P.bin}`);
  for (const k of ['wechat_intake', 'app_intake']) {
    const x = r[k];
    if (!x) continue;
    lines.push(
      `${x.name}: ${x.accepted}/${x.requests} accepted in ${x.wall_s} s = ${x.accepted_per_s}/s (conc ${P.conc}); ` +
        `latency p50 ${fmt(x.latency_ms.p50)} p99 ${fmt(x.latency_ms.p99)} max ${fmt(x.latency_ms.max)} ms; over 5 s ${x.over_5s}; ` +
        `refused ${x.refused} ${JSON.stringify(x.errors)}; daemon CPU ${x.daemon_cpu_pct}%, client ${x.client_cpu_pct}%; ` +
        `${x.synced_writes_per_s} synced writes/s, ${x.sets_per_synced_write} write sets each; ` +
        `agent got all ${x.agent_pushes} pushes ${x.agent_caught_up_ms_after_last_answer ?? 'NOT'} ms after the last answer; ` +
        `accepted per second [${x.accepted_per_second.join(' ')}]`,
    );
  }
  for (const k of ['wechat_outbound', 'app_outbound']) {
    const x = r[k];
    if (!x) continue;
    lines.push(
      `${x.name}: ${x.delivered}/${x.replies} replies over ${x.conversations} conversations delivered${x.complete ? '' : ' (INCOMPLETE)'}, ` +
        `${x.deliveries_per_s}/s (sends ${x.sends_per_s}/s, window ${x.send_window}); send→channel p50 ${fmt(x.send_to_channel_ms.p50)} ` +
        `p99 ${fmt(x.send_to_channel_ms.p99)} max ${fmt(x.send_to_channel_ms.max)} ms; send→sent p50 ${fmt(x.send_to_sent_ms.p50)} ` +
        `p99 ${fmt(x.send_to_sent_ms.p99)} ms; one at a time (${x.probe_send_to_channel_ms.n}): p50 ${fmt(x.probe_send_to_channel_ms.p50)} ` +
        `max ${fmt(x.probe_send_to_channel_ms.max)} ms; daemon CPU ${x.daemon_cpu_pct}%, client ${x.client_cpu_pct}%` +
        (x.paced
          ? `; paced ${x.paced.delivered}/${x.paced.replies} at ${x.paced.offered_per_s}/s${x.paced.complete ? '' : ' (INCOMPLETE)'}: ` +
            `send→channel p50 ${fmt(x.paced.send_to_channel_ms.p50)} p99 ${fmt(x.paced.send_to_channel_ms.p99)} max ${fmt(x.paced.send_to_channel_ms.max)} ms`
          : '') +
        (x.token_fetches !== undefined ? `; token fetches ${x.token_fetches}, refusals ${x.standin_refusals}` : `; webhook non-200 ${x.webhook_not_200}`) +
        `; duplicates ${x.duplicates}, out of order ${x.out_of_order}, send errors ${x.send_errors}`,
    );
  }
  lines.push(`outbox after: ${JSON.stringify(r.outbox_after)}; agent error frames ${r.agent_error_frames}; daemon RSS ${r.daemon?.rss_start_mib} → ${r.daemon?.rss_end_mib} MiB; stderr warnings ${r.daemon?.stderr_warnings}`);
  return lines.join('\n');
}

let r;
try {
  r = await main();
} catch (err) {
  console.error(`channels_bench: FAILED: ${err.stack ?? err}`);
  process.exit(1);
}
console.log(summary(r));
console.log(`RESULT ${JSON.stringify(r)}`);
const completeAll = ['wechat_outbound', 'app_outbound'].every((k) => !r[k] || (r[k].complete && (!r[k].paced || r[k].paced.complete))) && r.wechat_intake?.accepted === P.wx_n && r.app_intake?.accepted === P.app_n;
process.exit(completeAll && !r.cleanup_error ? 0 : 1);
