#!/usr/bin/env node
// Chaos benchmark (issue 9; not part of CI; see bench/README.md, "Chaos"): the long run of
// tests/cluster/chaos.test.mjs. Three switchboard nodes, each in its own network namespace
// (tests/cluster/lib/netns.mjs; needs root), --replication-factor 3, etcd on the bridge. ROUNDS
// rounds of every nemesis in NEMESES, one cluster for all of them (chaosRound: two hot merchants
// owned by a node that is not the controller, orders on every reachable node, each retried with
// its Idempotency-Key, every POST logged; after the heal the checker reads every stream from 0
// through every node):
//   kill    kill -9 of the owner (restarted on its data dir once its streams are served again)
//   stop    SIGSTOP of the owner for HOLD_MS, then SIGCONT
//   cut     {owner} | rest for HOLD_MS (its veth down), a client in its namespace writing to it
//   cut2    {owner + one backup} | rest for HOLD_MS (moved to a bridge of their own); with R = 3
//           the rest holds one replica and cannot take over: its wait includes the cut
//   wipe    kill -9 of the owner, its data dir deleted, restarted empty (a new storage uuid)
//   double  kill -9 of the owner; once served again the owner restarts (being caught up) and the
//           other non-controller node is killed right then: the time is that second failover's
// Failover time: from the fault to the first 202 of a POST sent after it, per merchant; printed
// as p50/p99/max per nemesis (all merchants of all rounds).
//
//   node bench/chaos_bench.mjs --rounds 3
//   node bench/chaos_bench.mjs --nemeses kill,cut --rounds 10 --hold-ms 8000
//
// Parameters (--name value, --name=value or NAME=value; defaults): SWITCHBOARD_BIN
// (build-rel/switchboard), ROUNDS (5), NEMESES (kill,stop,cut,cut2,wipe,double), HOLD_MS (6000),
// BOUND_MS (15000), MERCHANTS (2), WARM (10), AFTER (5), OUT (a new /tmp/sb-chaos-bench.* dir:
// every node's log, result.json). Prints a table and one line `RESULT {json}`; exit 0 when every
// round passed the checker, 1 otherwise.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = /^(?:--([a-z0-9-]+)(?:=(.*))?|([A-Z0-9_]+)=(.*))$/s.exec(argv[i]);
  if (!m) {
    console.error(`chaos_bench: unknown argument ${argv[i]}`);
    process.exit(2);
  }
  if (m[1] !== undefined) process.env[m[1].toUpperCase().replaceAll('-', '_')] = m[2] ?? argv[++i];
  else process.env[m[3]] = m[4];
}
process.env.SWITCHBOARD_BIN ??= path.join(ROOT, 'build-rel/switchboard');
process.env.ASAN_OPTIONS ??= 'detect_leaks=0:abort_on_error=1';
if (process.getuid?.() !== 0) {
  console.error('chaos_bench: needs root (ip netns)');
  process.exit(2);
}
const cl = await import('../tests/cluster/lib/cluster.mjs');
const nx = await import('../tests/cluster/lib/netns.mjs');

const num = (name, def) => (process.env[name] ? Number(process.env[name]) : def);
const P = {
  bin: cl.BIN,
  rounds: num('ROUNDS', 5),
  nemeses: (process.env.NEMESES ?? 'kill,stop,cut,cut2,wipe,double').split(',').filter(Boolean),
  hold_ms: num('HOLD_MS', 6000),
  bound_ms: num('BOUND_MS', 15000),
  merchants: num('MERCHANTS', 2),
  warm: num('WARM', 10),
  after: num('AFTER', 5),
};
for (const n of P.nemeses) if (!nx.NEMESES[n]) throw new Error(`unknown nemesis ${n} (${Object.keys(nx.NEMESES).join(', ')})`);
const OUT = process.env.OUT || mkdtempSync(path.join(os.tmpdir(), 'sb-chaos-bench.'));
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);
const pct = (s, p) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : null);

log(`chaos bench: ${JSON.stringify(P)}; out ${OUT}`);
const registry = [];
const c = await nx.startChaosCluster(3, { extraArgs: nx.CHAOS_ARGS });
const results = [];
let k = 0;
try {
  for (let round = 0; round < P.rounds; round++) {
    for (const nemesis of P.nemeses) {
      const t0 = Date.now();
      const r = await nx.chaosRound(c, nemesis, { round: k, tag: `${nemesis}${k}`, merchants: P.merchants, warm: P.warm, after: P.after, holdMs: P.hold_ms, boundMs: P.bound_ms, registry, log: (s) => log(s) });
      k++;
      delete r.loadRef;
      r.wallMs = Date.now() - t0;
      results.push(r);
      log(`${nemesis} round ${round}: failover ${JSON.stringify(r.failoverMs)} ms, dashboards ${JSON.stringify(r.pushFailoverMs)} ms${r.servedOnlyAfterHeal ? ' (served only after the heal)' : ''}; ${r.problems.length ? `PROBLEMS ${JSON.stringify(r.problems.slice(0, 5))}` : 'checker ok'}${r.convergence?.length ? `; convergence: ${r.convergence[0].slice(0, 300)}` : ''}; ${r.wallMs} ms`);
      if (r.problems.some((p) => p.startsWith('round aborted'))) throw new Error(`round aborted: ${r.problems[0]}`);
    }
  }
} catch (err) {
  log(`stopped: ${err.message.slice(0, 500)}`);
} finally {
  for (const w of registry) w.terminate();
  for (const x of nx.allLogs()) writeFileSync(path.join(OUT, `${x.label}-${x.pid}.log`), x.stdout + x.log);
  await c.stop().catch((err) => log(`stop: ${err.message.slice(0, 2000)}`));
}

// Per nemesis: every merchant's failover time of every round.
const samples = (rs, key) => rs.flatMap((r) => Object.values(r[key] ?? {})).filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
const summary = {};
for (const n of P.nemeses) {
  const rs = results.filter((r) => r.nemesis === n);
  const times = samples(rs, 'failoverMs');
  const pushes = samples(rs, 'pushFailoverMs');
  summary[n] = { rounds: rs.length, samples: times.length, p50: pct(times, 50), p99: pct(times, 99), max: times.at(-1) ?? null, push_p50: pct(pushes, 50), push_max: pushes.at(-1) ?? null, failed: rs.filter((r) => r.problems.length).length, not_converged: rs.filter((r) => r.convergence?.length).length, after_heal: rs.filter((r) => r.servedOnlyAfterHeal).length };
}
console.log('\nfailover (fault → first 202 on the new owner; push: → that order on the dashboard of another node), ms, all merchants of all rounds');
const head = ['nemesis', 'rounds', 'samples', 'p50', 'p99', 'max', 'push p50', 'push max', 'failed', 'not conv.', 'after heal'];
const rows = Object.entries(summary).map(([n, s]) => [n, s.rounds, s.samples, s.p50, s.p99, s.max, s.push_p50, s.push_max, s.failed, s.not_converged, s.after_heal].map((x) => String(x ?? '-')));
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [head, w.map((n) => '-'.repeat(n)), ...rows]) console.log(r.map((x, i) => (i ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  '));
writeFileSync(path.join(OUT, 'result.json'), JSON.stringify({ params: P, summary, rounds: results }, null, 1));
console.log(`RESULT ${JSON.stringify({ params: P, summary })}`);
const failed = results.some((r) => r.problems.length) || results.length < P.rounds * P.nemeses.length;
process.exit(failed ? 1 : 0);
