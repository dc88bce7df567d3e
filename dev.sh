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

# The demo builds only what it runs (optimised, in build/); the tests build everything.
demo_targets=(examples/demo/brine-demo examples/demo/brine-demo-producer examples/demo/brine-demo-worker
  examples/demo/brine-demo-sink examples/demo/brine-demo-stats tools/brine-inspect)

# setup DIR [meson options] -- [targets]: configures DIR once, then builds.
setup() {
  local dir=$1 options=()
  shift
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    options+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "${options[@]}" >/dev/null
  fi
  ninja -C "$dir" "$@"
}

case "${1:-}" in
  demo)
    ensure_packages
    setup build -- "${demo_targets[@]}"
    ./build/examples/demo/brine-demo --out build/brine-demo-result.brine "${@:2}"
    ;;
  test)
    ensure_packages
    # Tests are built apart, with -O1 and no debug information: half the compile time of the
    # demo's optimised build, and still fast enough to run.
    setup build-test -Doptimization=1 -Ddebug=false
    meson test -C build-test --print-errorlogs "${@:2}"
    ;;
  *)
    echo "usage: $0 demo|test" >&2
    exit 2
    ;;
esac
