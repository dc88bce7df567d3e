#!/usr/bin/env bash
# C++ writes a file, Python reads it.   examples/python_reader/run.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
file=$(mktemp --suffix=.brine)
trap 'rm -f "$file"' EXIT
"${1:-build}/examples/python_reader/python_reader" "$file"
python3 "$here/read.py" "$file"
