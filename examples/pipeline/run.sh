#!/usr/bin/env bash
# The word-count pipeline on this machine: one source, three stages, one sink, five processes
# connected over ipc://. Fan-out from the source to the stages, fan-in from the stages to the
# sink; each program exits by itself when its input ends.
#   examples/pipeline/run.sh [BUILD_DIR]
set -euo pipefail
bin=${1:-build}/examples/pipeline
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
documents=2000
stages=3

"$bin/wordcount-sink" --from "ipc://$dir/counts" --stages $stages --documents $documents \
  >"$dir/sink.out" &
sink=$!
"$bin/wordcount-source" --to "ipc://$dir/docs" --stages $stages --documents $documents \
  >"$dir/source.out" &
source=$!
pids=()
for _ in $(seq $stages); do
  "$bin/wordcount-stage" --from "ipc://$dir/docs" --to "ipc://$dir/counts" &
  pids+=($!)
done

status=0
for pid in "$source" "${pids[@]}" "$sink"; do
  wait "$pid" || status=1
done
cat "$dir/source.out" "$dir/sink.out"
# Every word the source sent was counted once.
sent=$(awk '{print $5}' "$dir/source.out")
counted=$(awk 'NR == 1 {print $4}' "$dir/sink.out")
if [ "$status" -ne 0 ] || [ "$sent" != "$counted" ]; then
  echo "pipeline: FAILED (status $status, $sent words sent, $counted counted)" >&2
  exit 1
fi
