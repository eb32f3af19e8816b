#!/usr/bin/env bash
# The README's two commands, from a fresh Debian 12 machine:
#   tools/dev.sh run [switchboard flags]   install, build (RelWithDebInfo) and start a dev node
#   tools/dev.sh test                      install, build (Debug + ASan/UBSan) and run every test
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
jobs=2

bash tools/install-deps.sh

npm_ci() {  # installs a test folder's pinned npm packages (never a browser download)
  (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
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
    echo "== browser tests (Debian chromium, headless)"
    npm_ci tests/browser
    for f in tests/browser/*.test.mjs; do node --test "$f"; done
    echo "== all tests passed"
    ;;
  *)
    echo "usage: tools/dev.sh run [flags] | tools/dev.sh test" >&2
    exit 2
    ;;
esac
