#!/usr/bin/env bash
# Runs the benchmark scenarios of bench/README.md against build/switchboard and then against the
# Node peer (bench/peer_ws_server.js), each scenario on a freshly started server, and prints a
# table with the ratio. Builds nothing: it expects a Release/RelWithDebInfo build/switchboard and
# build/tools/loadgen. Every step is bounded in time; servers are stopped on exit.
#
#   bench/run.sh                      all scenarios (about 8 minutes)
#   SCENARIOS="a c" bench/run.sh      a subset: a idle, b rates, c fan-out, d replay, e chat
#   RATES="1000 5000" DURATION=10 bench/run.sh
#   BUILD=build-bench bench/run.sh   binaries from another build dir (SB=, LOADGEN= for each)
#   OUT=dir bench/run.sh              where logs and the per-run JSON results go
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SB=${SB:-$BUILD/switchboard}
LOADGEN=${LOADGEN:-$BUILD/tools/loadgen}
PEER=$ROOT/bench/peer_ws_server.js
SCENARIOS=${SCENARIOS:-"a b c d"}  # e (chat) runs only when asked for
TARGETS=${TARGETS:-"switchboard peer"}
RATES=${RATES:-"1000 2000 3000 5000 10000 20000"}
DURATION=${DURATION:-20}
IDLE_CONNS=${IDLE_CONNS:-10000}
RATE_CONNS=${RATE_CONNS:-2000}        # scenario b: subscribed dashboards ...
RATE_MERCHANTS=${RATE_MERCHANTS:-1000} # ... over this many merchants (2 tabs each)
FAN_MERCHANTS=${FAN_MERCHANTS:-10}
FAN_TABS=${FAN_TABS:-100}
FAN_RATE=${FAN_RATE:-1000}
REPLAY_ORDERS=${REPLAY_ORDERS:-50000}
REPLAY_CONNS=${REPLAY_CONNS:-1}
CHAT_CUSTOMERS=${CHAT_CUSTOMERS:-200} # scenario e: customers of m1 ...
CHAT_AGENTS=${CHAT_AGENTS:-10}       # ... served by this many agents
CHAT_RATE=${CHAT_RATE:-500}          # messages/s, customer and agent in turn
CHAT_DURATION=${CHAT_DURATION:-20}
P99_BUDGET_MS=${P99_BUDGET_MS:-20}
OUT=${OUT:-$(mktemp -d /tmp/sb-bench.XXXXXX)}
# The daemon's per-IP and per-principal rate limits protect it from one abusive client; the
# whole benchmark comes from one IP and one service key, so they are lifted for the run.
SB_FLAGS=(--set limits.ip_rate=10000000 --set limits.ip_burst=10000000
  --set limits.principal_rate=10000000 --set limits.principal_burst=10000000
  --set limits.max_connections_per_ip=20000)
SB_EXTRA=()  # flags for one scenario only (e: the agents' capacity)

ulimit -n 20000
mkdir -p "$OUT"
for f in "$LOADGEN" "$SB"; do
  [[ " $TARGETS " != *" switchboard "* && $f == "$SB" ]] && continue
  [ -x "$f" ] || { echo "run.sh: $f is missing: build it first (see bench/README.md)" >&2; exit 1; }
done
if [[ " $TARGETS " == *" switchboard "* ]] && ldd "$SB" | grep -q 'libasan\|libtsan'; then
  echo "run.sh: WARNING: $SB is a sanitizer build: its figures mean nothing (see bench/README.md)" >&2
fi
if [[ " $TARGETS " == *" peer "* && ! -d $ROOT/bench/node_modules/ws ]]; then
  npm ci --prefix "$ROOT/bench" --no-audit --no-fund >/dev/null
fi

SERVER_PID=""
LOADS=()
stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
trap stop_server EXIT

# start_server TARGET NAME: starts a fresh server, sets SERVER_PID and URL.
start_server() {
  local target=$1 name=$2 dir=$OUT/$2
  mkdir -p "$dir"
  if [ "$target" = switchboard ]; then
    "$SB" --data-dir "$dir/data" --listen 127.0.0.1:0 "${SB_FLAGS[@]}" ${SB_EXTRA[@]+"${SB_EXTRA[@]}"} >"$dir/server.out" 2>"$dir/server.err" &
  else
    node "$PEER" 127.0.0.1:0 >"$dir/server.out" 2>"$dir/server.err" &
  fi
  SERVER_PID=$!
  URL=""
  for _ in $(seq 200); do
    URL=$(grep -o 'listening on http://[0-9.:]*' "$dir/server.out" 2>/dev/null | head -1 | sed 's/listening on //') || true
    [ -n "$URL" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$URL" ]; then
    echo "run.sh: $target did not print its listening line; see $dir/server.err" >&2
    tail -5 "$dir/server.err" >&2
    exit 1
  fi
}

# run NAME TARGET LOADGEN-ARGS...: one scenario on a fresh server; the RESULT json lands in
# $OUT/NAME-TARGET.json.
run() {
  local name=$1 target=$2
  shift 2
  start_server "$target" "$name-$target"
  echo "== $name $target: loadgen --target $target --url $URL $*" >&2
  LOADS+=("$(printf '%-6s %-12s %s' "$name" "$target" "$(cut -d' ' -f1-3 /proc/loadavg)")")
  timeout 600 "$LOADGEN" --target "$target" --url "$URL" --server-pid "$SERVER_PID" "$@" \
    >"$OUT/$name-$target.log" 2>&1 || echo "run.sh: loadgen exited $? (see $OUT/$name-$target.log)" >&2
  grep -v '^RESULT' "$OUT/$name-$target.log" | sed 's/^/   /' >&2 || true
  grep '^RESULT' "$OUT/$name-$target.log" | sed 's/^RESULT //' >"$OUT/$name-$target.json" || true
  stop_server
}

# field NAME TARGET KEY: a value from a result (empty when absent).
field() {
  local f=$OUT/$1-$2.json
  [ -s "$f" ] || return 0
  node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));const v=r[process.argv[2]];
    if (v!==undefined) console.log(typeof v==="number"&&!Number.isInteger(v)?v.toFixed(2):v)' "$f" "$3" 2>/dev/null || true
}

ROWS=()
# row LABEL NAME KEY: one line of the table, switchboard | peer | ratio.
row() {
  local label=$1 name=$2 key=$3 a b ratio=""
  a=$(field "$name" switchboard "$key")
  b=$(field "$name" peer "$key")
  if [[ -n $a && -n $b ]]; then
    ratio=$(node -e 'const [a,b]=process.argv.slice(1).map(Number);console.log(b?(a/b).toFixed(2)+"x":"")' "$a" "$b")
  fi
  ROWS+=("$(printf '%-42s %14s %14s %9s' "$label" "${a:--}" "${b:--}" "$ratio")")
}

# scenario JOB TARGET: one job of the list below on one target.
scenario() {
  local job=$1 t=$2
  case $job in
    a) run a "$t" --connections "$IDLE_CONNS" --merchants 1000 --connect-only --hold 5 ;;
    b*) run "$job" "$t" --connections "$RATE_CONNS" --merchants "$RATE_MERCHANTS" --rate "${job#b}" \
          --duration "$DURATION" --ack ;;
    c) run c "$t" --connections $((FAN_MERCHANTS * FAN_TABS)) --merchants "$FAN_MERCHANTS" \
         --rate "$FAN_RATE" --duration "$DURATION" --ack ;;
    d) [ "$t" = peer ] && return 0  # the peer keeps no history to replay
       run d "$t" --connections "$REPLAY_CONNS" --merchants 1 --preload "$REPLAY_ORDERS" --ack ;;
    e) [ "$t" = peer ] && return 0  # the peer has no chat
       # Unenrolled agents get max_concurrent 5 in dev mode: enrol agent0.. with room for all.
       local agents="" i
       for ((i = 0; i < CHAT_AGENTS; i++)); do agents+="${agents:+,}m1:agent$i:1:1000"; done
       SB_EXTRA=(--set "chat.agents=$agents")
       run e "$t" --chat --customers "$CHAT_CUSTOMERS" --agents "$CHAT_AGENTS" --rate "$CHAT_RATE" \
         --duration "$CHAT_DURATION"
       SB_EXTRA=() ;;
  esac
}

JOBS=()
for s in $SCENARIOS; do
  if [ "$s" = b ]; then for r in $RATES; do JOBS+=("b$r"); done; else JOBS+=("$s"); fi
done
# Each job runs on both targets back to back, so that both see the same background load.
for job in "${JOBS[@]}"; do
  for t in $TARGETS; do scenario "$job" "$t"; done
done

for s in $SCENARIOS; do
  case $s in
    a) row "a idle: connect rate (conn/s)" a connect_rate
       row "a idle: server bytes per connection" a bytes_per_conn
       row "a idle: connect p99 (ms)" a connect_p99_ms ;;
    b) for r in $RATES; do
         row "b $r/s: orders accepted/s" "b$r" post_rate
         row "b $r/s: 202 p50 (ms)" "b$r" post_p50_ms
         row "b $r/s: 202 p99 (ms)" "b$r" post_p99_ms
         row "b $r/s: pushes delivered/s" "b$r" delivered_rate
         row "b $r/s: e2e p50 (ms)" "b$r" e2e_p50_ms
         row "b $r/s: e2e p99 (ms)" "b$r" e2e_p99_ms
         row "b $r/s: e2e p99.9 (ms)" "b$r" e2e_p999_ms
         row "b $r/s: server CPU (% of a core)" "b$r" server_cpu_pct
       done ;;
    c) row "c fan-out: pushes delivered/s" c delivered_rate
       row "c fan-out: e2e p50 (ms)" c e2e_p50_ms
       row "c fan-out: e2e p99 (ms)" c e2e_p99_ms
       row "c fan-out: e2e p99.9 (ms)" c e2e_p999_ms
       row "c fan-out: server CPU (% of a core)" c server_cpu_pct ;;
    d) row "d replay: orders preloaded/s" d preload_rate
       row "d replay: entries replayed" d replay_entries
       row "d replay: seconds to catch up" d replay_s
       row "d replay: entries/s" d replay_rate ;;
    e) row "e chat: messages sent/s" e send_rate
       row "e chat: delivered to the other side/s" e delivered_rate
       row "e chat: e2e p50 (ms)" e e2e_p50_ms
       row "e chat: e2e p99 (ms)" e e2e_p99_ms
       row "e chat: e2e p99.9 (ms)" e e2e_p999_ms
       row "e chat: server CPU (% of a core)" e server_cpu_pct ;;
  esac
done

# Highest rate of scenario b whose e2e p99 stayed under the budget with every push delivered.
best() {
  local t=$1 best=none r
  for r in $RATES; do
    [ "$(field "b$r" "$t" rate_held)" = true ] || continue
    [ "$(field "b$r" "$t" all_delivered)" = true ] || continue
    node -e 'process.exit(Number(process.argv[1]) < Number(process.argv[2]) ? 0 : 1)' \
      "$(field "b$r" "$t" e2e_p99_ms)" "$P99_BUDGET_MS" && best=$r
  done
  echo "$best"
}

echo
printf '%-42s %14s %14s %9s\n' "scenario / metric" switchboard "node ws peer" "sb/peer"
printf '%s\n' "${ROWS[@]}"
if [[ " $SCENARIOS " == *" b "* ]]; then
  echo
  for t in $TARGETS; do
    echo "highest rate with e2e p99 < ${P99_BUDGET_MS} ms ($t): $(best "$t") orders/s"
  done
fi
errs=""
for f in "$OUT"/*.json; do
  [ -s "$f" ] || continue
  e=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));
    if (r.errors||r.gaps||r.dropped) console.log(JSON.stringify({errors:r.error_kinds,gaps:r.gaps,dropped:r.dropped}))' "$f")
  [ -n "$e" ] && errs+="$(basename "$f" .json): $e"$'\n'
done
if [ -n "$errs" ]; then printf '\nerrors:\n%s' "$errs"; fi
echo
echo "load average (1, 5, 15 min) when each run started (2 cores; the benchmark itself adds 1-2, more means other work shared the cores and the figures are noisy):"
printf '  %s\n' "${LOADS[@]}"
echo "logs and results: $OUT"
