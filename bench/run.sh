#!/usr/bin/env bash
# The benchmark, one command: bench/run.sh [--quick] [options of bench/run.py]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/install-deps.sh wrk gcc
swift build -c release --product todo-fcgi >&2
exec python3 bench/run.py "$@"
