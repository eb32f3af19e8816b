#!/usr/bin/env bash
# Issue 10's scenario, Switchboard and the Node `ws` peer in one run (bench/run.sh does the
# running): 10,000 subscribers, each its own merchant, every push acked cumulatively per read
# batch, a rate ladder; then the idle scenario (a). Prints run.sh's table and, per target, the
# highest rate that passes: no loss (every push delivered, no gaps), e2e p99 <= 50 ms, accepted
# >= 95 % of the target rate. Expects a Release build (BUILD=build-rel by default).
#
#   bench/compare.sh
#   RATES="2000 5000 10000" DURATION=10 bench/compare.sh
#   IDLE_CONNS=19000 SCENARIOS=a bench/compare.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-$ROOT/build-rel}
export RATES=${RATES:-"1000 2000 5000 10000 20000"}
export DURATION=${DURATION:-10}
export SCENARIOS=${SCENARIOS:-"b a"}
export RATE_CONNS=${RATE_CONNS:-10000}
export RATE_MERCHANTS=${RATE_MERCHANTS:-$RATE_CONNS}  # each subscriber its own merchant
export P99_BUDGET_MS=${P99_BUDGET_MS:-50}
export OUT=${OUT:-$(mktemp -d /tmp/sb-compare.XXXXXX)}

"$ROOT/bench/run.sh"

[[ " $SCENARIOS " == *" b "* ]] || exit 0
echo
echo "issue 10 pass rule: no loss, e2e p99 <= ${P99_BUDGET_MS} ms, accepted >= 95 % of target"
declare -A best
for t in ${TARGETS:-switchboard peer}; do
  best[$t]=0
  for r in $RATES; do
    f=$OUT/b$r-$t.json
    verdict=$(node -e '
      const fs=require("fs"); const [f,rate,budget]=process.argv.slice(1);
      if (!fs.existsSync(f) || !fs.statSync(f).size) { console.log("no result"); process.exit(); }
      const r=JSON.parse(fs.readFileSync(f)); const why=[];
      if (r.all_delivered!==true || r.gaps) why.push("loss");
      if (!(r.e2e_p99_ms <= Number(budget))) why.push("p99 "+r.e2e_p99_ms+" ms");
      if (!(r.post_rate >= 0.95*Number(rate))) why.push("achieved "+Math.round(r.post_rate)+"/s");
      console.log(why.length ? "FAIL ("+why.join(", ")+")" : "pass");' "$f" "$r" "$P99_BUDGET_MS")
    printf '  %-12s %6s/s  %s\n' "$t" "$r" "$verdict"
    [ "$verdict" = pass ] && best[$t]=$r
  done
done
sb=${best[switchboard]:-0} peer=${best[peer]:-0}
echo "highest passing rate: switchboard ${sb}/s, peer ${peer}/s, ratio $(node -e \
  'const [a,b]=process.argv.slice(1).map(Number);console.log(b?(a/b).toFixed(2)+"x":"-")' "$sb" "$peer")"
