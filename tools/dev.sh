#!/usr/bin/env bash
# The README's commands, from a fresh Debian 12 machine:
#   tools/dev.sh run [switchboard flags]   install, build (RelWithDebInfo) and start a dev node
#   tools/dev.sh test                      install, build (Debug + ASan/UBSan) and run every test
#   tools/dev.sh cluster                   install, build and start etcd, nodes n1-n3 and nginx on
#                                          loopback (docs/operations.md); Ctrl-C stops them all
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
jobs=2

bash tools/install-deps.sh

npm_ci() {  # installs a test folder's pinned npm packages (never a browser download)
  (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
}

# The dev cluster: etcd, three nodes and nginx (deploy/nginx.conf) on loopback, data and logs in
# ./data/cluster. Every process is started in the background and stopped by its PID.
cluster() {
  local dir=data/cluster
  pids=() names=()  # global: the EXIT trap reads them after this function has returned
  mkdir -p "$dir"/etcd "$dir"/n{1,2,3} "$dir"/nginx/{logs,temp}

  stop() {  # stop PID...: SIGTERM, 30 s in all to exit, then SIGKILL; reaps them
    local pid waited=0
    kill -TERM "$@" 2>/dev/null || true
    for pid in "$@"; do
      while kill -0 "$pid" 2>/dev/null && ((waited < 300)); do
        sleep 0.1
        waited=$((waited + 1))
      done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    done
  }
  stop_all() {  # nginx, then the nodes, then etcd: the nodes leave the cluster through etcd
    trap - EXIT INT TERM
    local stage i group
    for stage in 'nginx' 'n[0-9]*' 'etcd'; do
      group=()
      for ((i = 0; i < ${#pids[@]}; i++)); do
        # shellcheck disable=SC2053 # $stage is a pattern
        if [[ ${names[i]} == $stage ]]; then group+=("${pids[i]}"); fi
      done
      if ((${#group[@]} > 0)); then stop "${group[@]}"; fi
    done
    pids=()
    echo "cluster stopped"
  }
  trap stop_all EXIT
  trap 'stop_all; exit 130' INT
  trap 'stop_all; exit 143' TERM

  start() {  # start NAME LOG COMMAND...: in the background, output to LOG, in its own session
    local name=$1 log=$2  # so that Ctrl-C reaches only this script, which stops all in order
    shift 2
    setsid "$@" >"$log" 2>&1 </dev/null &
    pids+=($!)
    names+=("$name")
  }
  fail() {  # fail NAME LOG MESSAGE: the log's tail, then stop everything (EXIT trap)
    echo "cluster: $1: $3; last lines of $2:" >&2
    tail -n 20 "$2" >&2 || true
    exit 1
  }
  await() {  # await NAME LOG URL: until URL answers 200, at most 30 s, while the process lives
    local name=$1 log=$2 url=$3 pid i deadline=$((SECONDS + 30))
    for ((i = 0; i < ${#names[@]}; i++)); do
      if [ "${names[i]}" = "$name" ]; then pid=${pids[i]}; fi
    done
    until curl -sf -o /dev/null --max-time 2 "$url"; do
      kill -0 "$pid" 2>/dev/null || fail "$name" "$log" "exited"
      ((SECONDS < deadline)) || fail "$name" "$log" "no 200 from $url within 30 s"
      sleep 0.2
    done
  }

  start etcd "$dir/etcd.log" /usr/bin/etcd --name sb-dev --data-dir "$dir/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster sb-dev=http://127.0.0.1:2380
  await etcd "$dir/etcd.log" http://127.0.0.1:2379/health
  local k
  for k in 1 2 3; do
    start "n$k" "$dir/n$k.log" ./build/switchboard --node-id "n$k" --listen "127.0.0.1:808$k" \
      --cluster-listen "127.0.0.1:909$k" --data-dir "$dir/n$k" --etcd http://127.0.0.1:2379
  done
  for k in 1 2 3; do await "n$k" "$dir/n$k.log" "http://127.0.0.1:808$k/readyz"; done
  # daemon off: nginx stays this script's child, stopped by its PID like the others.
  start nginx "$dir/nginx.log" nginx -c "$repo/deploy/nginx.conf" -p "$repo/$dir/nginx/" \
    -e logs/error.log -g 'daemon off;'
  await nginx "$dir/nginx/logs/error.log" http://127.0.0.1:8080/readyz

  cat <<EOT
Cluster up (data and logs in ./$dir):
  http://127.0.0.1:8080/   nginx: n1 weight 2, n2 weight 1, n3 backup ($dir/nginx/logs/)
  http://127.0.0.1:8081/   n1, cluster port 127.0.0.1:9091 ($dir/n1.log)
  http://127.0.0.1:8082/   n2, cluster port 127.0.0.1:9092 ($dir/n2.log)
  http://127.0.0.1:8083/   n3, cluster port 127.0.0.1:9093 ($dir/n3.log)
  http://127.0.0.1:2379    etcd ($dir/etcd.log)
Inspect it with: build/tools/sbctl/sbctl nodes
Ctrl-C stops everything.
EOT
  # Until Ctrl-C or SIGTERM (the traps stop everything). A process that exits meanwhile (say a
  # node killed with -9 to watch the others take over) is reported; the others keep running.
  local live=("${pids[@]}") done_pid status
  while ((${#live[@]} > 0)); do
    status=0
    wait -n -p done_pid "${live[@]}" || status=$?
    for ((k = 0; k < ${#pids[@]}; k++)); do
      if [ "${pids[k]}" = "$done_pid" ]; then
        echo "cluster: ${names[k]} exited (status $status); the others keep running" >&2
      fi
    done
    for k in "${!live[@]}"; do if [ "${live[k]}" = "$done_pid" ]; then unset 'live[k]'; fi; done
  done
  echo "cluster: every process has exited" >&2
  exit 1
}

case "${1:-}" in
  run)
    shift
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_SANITIZE=OFF >/dev/null
    cmake --build build -j"$jobs" --target switchboard
    echo "Open http://127.0.0.1:8080/ (dev mode: embedded default configuration, data in ./data)"
    exec ./build/switchboard "$@"
    ;;
  test)
    echo "== format check"
    git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror
    echo "== build (Debug, ASan+UBSan)"
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSB_SANITIZE=ON >/dev/null
    cmake --build build-asan -j"$jobs"
    export SWITCHBOARD_BIN="$repo/build-asan/switchboard"
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
    echo "== unit tests"
    (cd build-asan && ctest --output-on-failure -j"$jobs" --timeout 300)
    echo "== integration tests (real daemon on loopback)"
    npm_ci tests/integration
    # One file at a time (each starts its own daemon); works with Debian's Node 18 and newer.
    for f in tests/integration/*.test.mjs; do node --test "$f"; done
    echo "== cluster tests (a real etcd and several daemons on loopback)"
    npm_ci tests/cluster
    export SBCTL_BIN="$repo/build-asan/tools/sbctl/sbctl"
    for f in tests/cluster/*.test.mjs; do node --test "$f"; done
    echo "== browser tests (Debian chromium, headless)"
    npm_ci tests/browser
    for f in tests/browser/*.test.mjs; do node --test "$f"; done
    echo "== all tests passed"
    ;;
  cluster)
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_SANITIZE=OFF >/dev/null
    cmake --build build -j"$jobs" --target switchboard sbctl
    cluster
    ;;
  *)
    echo "usage: tools/dev.sh run [flags] | tools/dev.sh test | tools/dev.sh cluster" >&2
    exit 2
    ;;
esac
