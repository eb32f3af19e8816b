// Jepsen-style pieces shared by the replication tests (failover.test.mjs, chaos.test.mjs) and
// bench/chaos_bench.mjs: a load that appends orders and logs every operation (invoke → ok / fail
// / info), and the checkers of a stream's stored history and of a dashboard against it.
import { writeFileSync } from 'node:fs';
import * as cl from './cluster.mjs';

const { sb } = cl;

// 503 codes (and error frames) allowed while an owner is lost.
export const OK_ERRORS = ['owner_unavailable', 'unavailable'];

export const LOAD_DEFAULTS = {
  paceMs: 20, // a new order every 20 ms (the merchants in turn)
  maxInFlight: 6, // orders being posted or retried at once; a tick beyond that is skipped
  retryMs: 100, // a refused order is retried after min(Retry-After, this)
  requestTimeoutMs: 5000, // one POST; a timeout is an indeterminate outcome, retried with the same key
  orderDeadlineMs: 30000, // one order, all its retries
  keyPrefix: 'fo', // Idempotency-Key = <keyPrefix>-<pid>-<tag>-<i>
  aborted: () => false, // true: no new order, no retry (the test is ending)
  serviceKey: undefined, // the service key (undefined: the harness's dev key)
};

// Orders for `merchants` (in turn), a new one every paceMs while fewer than maxInFlight are
// outstanding, each posted on nodes() in turn (attempt by attempt) with its own Idempotency-Key
// until a 202. Every POST is logged: invoke, then ok (202), fail (an HTTP refusal) or info
// (network error or timeout: the outcome is unknown until a retry with the same key answers).
// A refusal other than 503 owner_unavailable/unavailable or 429 (with Retry-After) is
// `unexpected` and gives the order up.
export class Load {
  constructor(tag, merchants, nodes, opts = {}) {
    this.tag = tag;
    this.merchants = merchants;
    this.nodes = nodes;
    this.opts = { ...LOAD_DEFAULTS, ...opts };
    this.history = [];
    this.acked = new Map(merchants.map((m) => [m, []])); // m → [{seq, id, order_id, key, node, invokedAt, at}]
    this.issued = new Set(); // every order_id posted (acknowledged or not)
    this.unexpected = []; // answers outside the contract
    this.gaveUp = []; // orders never acknowledged
    this.refusals = {}; // "503 owner_unavailable" / "network" … → count
    this.networkErrors = []; // the first few network errors and timeouts (node: message)
    this.outstanding = new Set();
    this.stopping = false;
    this.next = 0;
  }

  start() {
    const { paceMs, maxInFlight, aborted } = this.opts;
    this.loop = (async () => {
      while (!this.stopping && !aborted()) {
        if (this.outstanding.size < maxInFlight) {
          const p = this.order(this.next++);
          this.outstanding.add(p);
          p.finally(() => this.outstanding.delete(p));
        }
        await cl.sleep(paceMs);
      }
    })();
    return this;
  }

  // Stops starting orders and waits (≤ ms) for the outstanding ones to be acknowledged.
  async stop(ms = 40000) {
    this.stopping = true;
    await this.loop;
    await sb.withTimeout(Promise.all([...this.outstanding]), ms, `the last ${this.outstanding.size} order(s) of load ${this.tag}`);
  }

  count(m) {
    return this.acked.get(m).length;
  }

  // The first 202 for `m` of a POST sent at or after `t`: {at, invokedAt, node, seq} or undefined.
  firstAckSince(m, t) {
    return this.acked.get(m).filter((a) => a.invokedAt >= t).sort((a, b) => a.at - b.at)[0];
  }

  async order(i) {
    const { retryMs, requestTimeoutMs, orderDeadlineMs, keyPrefix, aborted, serviceKey } = this.opts;
    const m = this.merchants[i % this.merchants.length];
    const orderId = `${this.tag}-${i}`;
    const key = `${keyPrefix}-${process.pid}-${this.tag}-${i}`;
    const body = sb.order(m, orderId, { i, tag: this.tag });
    this.issued.add(orderId);
    const deadline = Date.now() + orderDeadlineMs;
    for (let attempt = 0; ; attempt++) {
      const list = this.nodes();
      // Each merchant's orders go to the nodes in turn, and so do an order's retries.
      const node = list[(Math.floor(i / this.merchants.length) + attempt) % list.length];
      const invokedAt = Date.now();
      this.history.push({ t: invokedAt, type: 'invoke', order: orderId, key, m, node: node.id, attempt });
      let res;
      let error;
      try {
        res = await cl.postOrderTo(node, body, { idempotencyKey: key, timeoutMs: requestTimeoutMs, key: serviceKey });
      } catch (err) {
        error = err.message.slice(0, 200);
      }
      const at = Date.now();
      let waitMs = retryMs;
      if (res?.status === 202) {
        const a = res.body;
        if (a?.stream !== `orders:${m}` || !Number.isInteger(a?.seq) || a.seq < 1 || typeof a?.id !== 'string' || !a.id) {
          this.history.push({ t: at, type: 'fail', order: orderId, node: node.id, status: 202, bad: res.text.slice(0, 200) });
          this.unexpected.push({ order: orderId, node: node.id, status: 202, text: res.text.slice(0, 200), why: 'malformed 202' });
          return;
        }
        this.history.push({ t: at, type: 'ok', order: orderId, node: node.id, seq: a.seq, id: a.id });
        this.acked.get(m).push({ seq: a.seq, id: a.id, order_id: orderId, key, node: node.id, invokedAt, at, attempts: attempt + 1 });
        return;
      }
      if (error) {
        this.history.push({ t: at, type: 'info', order: orderId, node: node.id, error });
        this.refusals.network = (this.refusals.network ?? 0) + 1;
        if (this.networkErrors.length < 5) this.networkErrors.push(`${node.id}: ${error}`);
      } else {
        const code = res.body?.error;
        this.history.push({ t: at, type: 'fail', order: orderId, node: node.id, status: res.status, error: code });
        const k = `${res.status} ${code ?? ''}`.trim();
        this.refusals[k] = (this.refusals[k] ?? 0) + 1;
        const ra = cl.retryAfterSeconds(res);
        if (res.status === 429 || (res.status === 503 && OK_ERRORS.includes(code))) {
          if (ra === undefined) this.unexpected.push({ order: orderId, node: node.id, status: res.status, text: res.text.slice(0, 200), why: 'no Retry-After' });
          waitMs = Math.min(retryMs, ra === undefined ? retryMs : Math.max(ra * 1000, 20));
        } else {
          // Not a refusal the contract allows: the order is given up (it may or may not be
          // stored; the checker allows it at most once).
          this.unexpected.push({ order: orderId, node: node.id, status: res.status, text: res.text.slice(0, 200), at });
          this.gaveUp.push({ order: orderId, m, status: res.status });
          return;
        }
      }
      if (aborted() || Date.now() + waitMs > deadline) {
        this.gaveUp.push({ order: orderId, m, last: error ?? `${res.status} ${res.text.slice(0, 120)}`, aborted: aborted() });
        return;
      }
      await cl.sleep(waitMs);
    }
  }
}

// Writes the loads' operation histories to `file` (a JSON list; {...extra, loads} with `extra`);
// says where on stderr.
export function saveHistories(loads, file, what, extra = {}) {
  try {
    const list = loads.map((l) => ({ tag: l.tag, merchants: l.merchants, refusals: l.refusals, unexpected: l.unexpected, gaveUp: l.gaveUp, acked: Object.fromEntries(l.acked), history: l.history }));
    writeFileSync(file, JSON.stringify(Object.keys(extra).length ? { ...extra, loads: list } : list, null, 1));
    process.stderr.write(`\n${what}: the operation histories are in ${file}\n`);
  } catch (err) {
    process.stderr.write(`\n${what}: could not save the histories: ${err.message}\n`);
  }
}

// Jepsen-style check of one stream: `entries` (its stored history [{seq, id, data}]) against
// `acked` (the 202s [{seq, id, order_id}]): every acknowledged (seq, id) is stored with its
// order; no two entries share a seq; seqs are 1..n without a gap; no id and no order_id is
// stored twice (a retried Idempotency-Key is one entry); no two 202s name one seq with two ids.
// With `partial`, entries appended after the read may be missing: then only the acknowledged
// entries up to the highest seq read are required, and the gap check covers what was read.
// With `issued` (a Set of order ids), every stored order must be one of them.
// Returns the problems found (empty: the history is valid).
export function checkStream(stream, acked, entries, { partial = false, issued } = {}) {
  const problems = [];
  const bySeq = new Map();
  const byId = new Map();
  const byOrder = new Map();
  for (const e of entries) {
    if (bySeq.has(e.seq)) problems.push(`${stream}: seq ${e.seq} stored twice (ids ${bySeq.get(e.seq).id}, ${e.id})`);
    else bySeq.set(e.seq, e);
    if (byId.has(e.id)) problems.push(`${stream}: id ${e.id} stored at seqs ${byId.get(e.id)} and ${e.seq}`);
    else byId.set(e.id, e.seq);
    const o = e.data?.order_id;
    if (o === undefined) problems.push(`${stream}: seq ${e.seq} has no order_id: ${JSON.stringify(e.data).slice(0, 200)}`);
    else if (byOrder.has(o)) problems.push(`${stream}: order ${o} stored twice, seqs ${byOrder.get(o)} and ${e.seq} (the Idempotency-Key was not honoured)`);
    else byOrder.set(o, e.seq);
    if (issued && o !== undefined && !issued.has(o)) problems.push(`${stream}: seq ${e.seq} stores order ${o}, which no client posted`);
  }
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  const gaps = seqs.filter((s, i) => s !== i + 1);
  if (gaps.length) problems.push(`${stream}: seqs are not 1..${seqs.length}: first out of place ${gaps.slice(0, 5).join(',')} (read ${seqs.length}, highest ${seqs.at(-1)})`);
  const maxRead = seqs.at(-1) ?? 0;
  const ackBySeq = new Map();
  for (const a of acked) {
    const other = ackBySeq.get(a.seq);
    if (other && other.id !== a.id) problems.push(`${stream}: two 202s for seq ${a.seq}: ${other.order_id} → ${other.id}, ${a.order_id} → ${a.id} (renumbered)`);
    ackBySeq.set(a.seq, a);
    const e = bySeq.get(a.seq);
    if (!e) {
      if (!partial || a.seq <= maxRead) problems.push(`${stream}: acknowledged ${a.order_id} (seq ${a.seq}, id ${a.id}) is missing`);
    } else if (e.id !== a.id) problems.push(`${stream}: acknowledged ${a.order_id} seq ${a.seq} id ${a.id}, stored id ${e.id} (order ${e.data?.order_id})`);
    else if (e.data?.order_id !== a.order_id) problems.push(`${stream}: seq ${a.seq} acknowledged for ${a.order_id}, stored for ${e.data?.order_id}`);
  }
  const ackedOrders = new Set(acked.map((a) => a.order_id));
  if (ackedOrders.size !== acked.length) problems.push(`${stream}: an order was acknowledged twice`);
  return problems.slice(0, 40);
}

// A dashboard against the stored history: it saw exactly the stored (seq, id) — none that is not
// stored (pushed, then lost or renumbered), no seq with two ids — and kept its socket.
export function checkDashboard(d, entries, { okErrors = OK_ERRORS } = {}) {
  const problems = [];
  const stored = new Map(entries.map((e) => [e.seq, e.id]));
  for (const [seq, id] of d.seen) if (stored.get(seq) !== id) problems.push(`${d.stream} on ${d.connections.join('→')}: pushed seq ${seq} as ${id}, stored ${stored.get(seq) ?? 'nothing'}`);
  for (const x of d.conflicts) problems.push(`${d.stream}: seq ${x.seq} pushed as ${x.first}, then as ${x.then}`);
  const missing = entries.filter((e) => !d.seen.has(e.seq)).map((e) => e.seq);
  if (missing.length) problems.push(`${d.stream}: never pushed seqs ${missing.slice(0, 10).join(',')}${missing.length > 10 ? '…' : ''} (contiguous ${d.contiguous})`);
  if (d.closes.length || !d.isOpen) problems.push(`${d.stream}: the socket closed: ${JSON.stringify(d.closes)} (open ${d.isOpen})`);
  const badErrors = d.errors.filter((e) => !okErrors.includes(e.code));
  if (badErrors.length) problems.push(`${d.stream}: error frames ${JSON.stringify(badErrors.slice(0, 3))}`);
  return problems.slice(0, 40);
}
