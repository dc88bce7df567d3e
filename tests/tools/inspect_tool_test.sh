#!/usr/bin/env bash
# brine-inspect on a real file: text, --json and --raw succeed; a corrupt file fails with a
# message naming the byte offset, never a crash.
set -euo pipefail
inspect=$1
example=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/brine-inspect.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$example" "$work/model.brine" >/dev/null
"$inspect" "$work/model.brine" | grep -q 'name: "tiny-mlp"'
"$inspect" --json "$work/model.brine" | grep -q '"name":"tiny-mlp"'
"$inspect" --raw "$work/model.brine" | grep -q 'magic 62 72 6e 01'
head -c 100 "$work/model.brine" >"$work/cut.brine"
set +e
msg=$("$inspect" "$work/cut.brine" 2>&1)
rc=$?
set -e
[ $rc -eq 1 ] || { echo "expected exit 1 on a cut file, got $rc: $msg"; exit 1; }
echo "$msg" | grep -q 'at byte' || { echo "no offset in: $msg"; exit 1; }
echo "brine-inspect: text, json, raw and a corrupt file behave"
