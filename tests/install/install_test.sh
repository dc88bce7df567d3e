#!/usr/bin/env bash
# `meson install` into a scratch root, then build a user program against it with pkg-config,
# as the README tells users to.
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/brine-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
meson install -C "$build" --destdir "$work/root" --no-rebuild --quiet >/dev/null
pc=$(find "$work/root" -name brine.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: brine.pc was not installed"; exit 1; }
prefix=$(sed -n 's/^prefix=//p' "$pc")
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --define-variable=prefix="$work/root$prefix" --cflags --libs brine)
g++ -std=c++20 -Wall -Wextra -Werror "$src" $flags -o "$work/app"
libdir=$(pkg-config --define-variable=prefix="$work/root$prefix" --variable=libdir brine)
LD_LIBRARY_PATH=$libdir "$work/app"
