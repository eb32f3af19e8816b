// Chaos test (issue 9), the short run: three nodes, each in its own network namespace
// (lib/netns.mjs: veth pairs on a bridge, 10.77.X.0/24, etcd on the bridge's address), started
// with --replication-factor 3. Needs root (`ip netns`); skipped otherwise.
//
// Three rounds, one nemesis each, on one cluster (lib/netns.mjs chaosRound): two hot merchants
// owned by a node that is not the controller, their dashboards on the controller node, orders
// posted on every reachable node (each with its own Idempotency-Key, retried on refusals; every
// POST logged invoke → ok / fail / info, lib/history.mjs). After 10 202s per merchant:
//   1. kill -9 of the owner (restarted on its data dir once its streams are served again);
//   2. SIGSTOP of the owner for 8 s (longer than detection), then SIGCONT;
//   3. {owner} | rest for 8 s (the root side of its veth down), a client inside the owner's
//      namespace writing to it meanwhile (the minority side: a 202 there must never be lost).
// Each must be taken over (etcd: another owner, a higher epoch) and served again (a 202 for each
// merchant) within 15 s of the fault. After the heal (every node running, every link up, the
// cluster agreeing, 5 more orders per merchant), the checker: every acknowledged (stream, seq,
// id) present when reading each stream from 0 through every node; no two entries share a seq;
// no gap; no duplicate id or order; no order nobody posted; the same history through every
// node; the dashboards kept their sockets and saw exactly that history; every backup of the
// merchants' partitions live at its owner's position (replicas converge).
//
// The long run with every nemesis of the issue and the failover percentiles is
// bench/chaos_bench.mjs. On a failure the nodes' logs are printed and the operation histories
// are written to $TMPDIR/sb-chaos-history-<pid>.json.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import * as cl from './lib/cluster.mjs';
import * as history from './lib/history.mjs';

const isRoot = process.getuid?.() === 0;
const nx = isRoot ? await import('./lib/netns.mjs') : null;

// SIGSTOP and cut last this long: well past detection (a paused or cut-off node keeps its
// middleman connection, but answers no ping: suspected after cluster.unresponsive_after, 1 s,
// then taken over), so the takeover is seen during the fault.
const HOLD_MS = 8000;
const BOUND_MS = 15000; // fault → a 202 for every hot merchant (a loaded 2-core machine)

let c;
let aborted = false;
const clients = [];
const rounds = [];

before(
  async () => {
    if (!isRoot) return;
    c = await nx.startChaosCluster(3, { extraArgs: nx.CHAOS_ARGS });
  },
  { timeout: 90000 },
);
after(async () => {
  aborted = true;
  for (const w of clients) w.terminate();
  await c?.stop();
});

function chaosTest(name, nemesis, round) {
  cl.test(name, { timeout: 120000, skip: isRoot ? false : 'needs root for ip netns' }, async (t) => {
    let r;
    try {
      r = await nx.chaosRound(c, nemesis, { round, holdMs: HOLD_MS, boundMs: BOUND_MS, registry: clients, aborted: () => aborted, log: (s) => t.diagnostic(s) });
      rounds.push(r);
      t.diagnostic(`${nemesis}: failover ${JSON.stringify(r.failoverMs)} ms (slowest ${r.slowestMs}), dashboards pushed after ${JSON.stringify(r.pushFailoverMs)} ms, etcd ${JSON.stringify(r.epochs)}, stored ${JSON.stringify(r.stored)}, load ${JSON.stringify(r.load)}`);
      assert.deepEqual(r.problems, [], `${nemesis} round: the checker`);
      assert.deepEqual(r.convergence, [], `${nemesis} round: the replicas converge`);
    } catch (err) {
      nx.dumpLogs(name);
      if (r?.loadRef) history.saveHistories([r.loadRef], path.join(os.tmpdir(), `sb-chaos-history-${process.pid}.json`), name, { nemesis, minority: r.minority, replication: r.replication });
      throw err;
    }
  });
}

chaosTest('kill -9 of the owner: a replica takes over, nothing acknowledged is lost, replicas converge', 'kill', 0);
chaosTest('SIGSTOP of the owner for 8 s: taken over, its stale writes refused after SIGCONT, caught up', 'stop', 1);
chaosTest('{owner} | rest for 8 s: taken over, the minority side never gets a 202 that is lost, caught up', 'cut', 0);
