#!/usr/bin/env bash
# Installs exactly the Debian 12 packages Switchboard needs to build, run and test.
# Idempotent and quiet; runs apt-get update itself; uses sudo when not root.
set -euo pipefail

packages=(
  # compiler and build tools
  g++ make cmake ccache pkg-config git ca-certificates clang-format
  # libraries
  libcaf-dev libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libcapnp-dev capnproto librocksdb-dev libssl-dev libgtest-dev libgmock-dev
  libpugixml-dev
  # the daemon's allocator (issue 10: cheaper malloc and free across threads)
  libjemalloc-dev
  # web pages and browser tests
  libjs-bootstrap5 chromium
  # cluster: coordination service and the load balancer of the dev cluster
  etcd-server etcd-client nginx-light
  # process inspection used by tests and benchmarks
  procps curl
)
# Node.js: Debian's nodejs+npm, unless a Node.js with npm is already installed
# (Debian's npm conflicts with the nodesource build that bundles npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
