#!/usr/bin/env bash
# Builds tests/compat/exchange.cpp with g++ and with clang++ and checks that both print the same
# fingerprints and schemas and read each other's files. Exit 77 (skip) without both compilers.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
for c in g++ clang++; do
  command -v "$c" >/dev/null || { echo "skip: $c not found"; exit 77; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/brine-compat.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The codec's sources (meson's brine_codec_sources) come as arguments.
codec=("$@")
[ ${#codec[@]} -gt 0 ] || { echo "usage: cross_compiler.sh CODEC_SOURCE..."; exit 2; }
for c in g++ clang++; do
  "$c" -std=c++20 -O1 -Wall -Wextra -Werror -I"$root/core/include" \
    "$root/tests/compat/exchange.cpp" "${codec[@]}" -o "$work/exchange-$c" &
done
wait
"$work/exchange-g++" print >"$work/gcc.txt"
"$work/exchange-clang++" print >"$work/clang.txt"
if ! diff -u "$work/gcc.txt" "$work/clang.txt"; then
  echo "FAIL: GCC and clang disagree on fingerprints or schemas"
  exit 1
fi
"$work/exchange-g++" write "$work/from-gcc.brine"
"$work/exchange-clang++" write "$work/from-clang.brine"
"$work/exchange-clang++" read "$work/from-gcc.brine"
"$work/exchange-g++" read "$work/from-clang.brine"
cmp "$work/from-gcc.brine" "$work/from-clang.brine"
cat "$work/gcc.txt"
echo "GCC and clang agree on $(wc -l <"$work/gcc.txt") fingerprints and exchange files"
