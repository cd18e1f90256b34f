#!/usr/bin/env bash
# The benchmark, one command: bench/run.sh [--quick] [options of bench/run.py]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/install-deps.sh wrk gcc
swift build -c release --product todo-fcgi >&2
swift build -c release --product todo-bench >&2   # query plans (--scale) and the in-process stage split
exec python3 bench/run.py "$@"
