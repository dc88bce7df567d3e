#!/usr/bin/env bash
# brine's two everyday commands, usable on a fresh Debian 12 machine:
#   ./dev.sh demo   build and run the demo (options after 'demo' go to brine-demo; --help lists them)
#   ./dev.sh test   build and run the whole test suite
# Missing Debian packages are installed when run as root; otherwise the script says what to install.
set -euo pipefail
cd "$(dirname "$0")"

packages=(g++ clang meson ninja-build pkg-config libzmq3-dev cppzmq-dev libboost-dev catch2 libcli11-dev libfmt-dev nlohmann-json3-dev)

ensure_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "brine needs these Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "installing ${missing[*]} ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The demo builds only what it runs; the tests build everything.
demo_targets=(examples/demo/brine-demo examples/demo/brine-demo-producer examples/demo/brine-demo-worker
  examples/demo/brine-demo-sink examples/demo/brine-demo-stats tools/brine-inspect)

setup() {
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" >/dev/null
  fi
  ninja -C "$dir" "$@"
}

case "${1:-}" in
  demo)
    ensure_packages
    setup build "${demo_targets[@]}"
    ./build/examples/demo/brine-demo --out build/brine-demo-result.brine "${@:2}"
    ;;
  test)
    ensure_packages
    setup build
    meson test -C build --print-errorlogs "${@:2}"
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
