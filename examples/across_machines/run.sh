#!/usr/bin/env bash
# The word-count pipeline over tcp:// with CURVE: the source and the sink play host A (they bind
# and are CURVE servers), the stages play host B (they connect with their own key pair and
# the servers' public key). Here both "hosts" are this machine, on 127.0.0.1; README.md gives
# the commands for two machines.
#   examples/across_machines/run.sh [BUILD_DIR]
set -euo pipefail
bin=$(cd "${1:-build}" && pwd)/examples/pipeline
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
documents=1000
stages=2

cd "$dir"
"$bin/wordcount-keys" server >/dev/null   # host A: server.keys stays there, server.pub goes to B
"$bin/wordcount-keys" worker >/dev/null   # host B: worker.keys stays there, worker.pub goes to A
"$bin/wordcount-keys" intruder >/dev/null # a key pair host A does not know

# Host A. Port * lets the system choose; each writes the address it got.
"$bin/wordcount-sink" --from 'tcp://127.0.0.1:*' --endpoint-file sink.addr --stages $stages \
  --documents $documents --keys server.keys --allow worker.pub >sink.out &
sink=$!
"$bin/wordcount-source" --to 'tcp://127.0.0.1:*' --endpoint-file source.addr --stages $stages \
  --documents $documents --keys server.keys --allow worker.pub >source.out &
source=$!
for _ in $(seq 100); do [ -s sink.addr ] && [ -s source.addr ] && break; sleep 0.1; done
echo "host A: source at $(cat source.addr), sink at $(cat sink.addr), both CURVE servers"

# An intruder with a key host A does not allow cannot take documents nor send counts: its
# handshake is refused, so it waits, then gives up (not counted as a stage either).
timeout 3 "$bin/wordcount-stage" --from "$(cat source.addr)" --to "$(cat sink.addr)" \
  --keys intruder.keys --server-key server.pub >/dev/null 2>&1 &
intruder=$!

# Host B.
pids=()
for _ in $(seq $stages); do
  "$bin/wordcount-stage" --from "$(cat source.addr)" --to "$(cat sink.addr)" \
    --keys worker.keys --server-key server.pub &
  pids+=($!)
done

status=0
for pid in "$source" "${pids[@]}" "$sink"; do
  wait "$pid" || status=1
done
wait "$intruder" && { echo "the intruder was let in" >&2; status=1; }
cat source.out sink.out
sent=$(awk '{print $5}' source.out)
counted=$(awk 'NR == 1 {print $4}' sink.out)
if [ "$status" -ne 0 ] || [ "$sent" != "$counted" ]; then
  echo "across_machines: FAILED (status $status, $sent words sent, $counted counted)" >&2
  exit 1
fi
