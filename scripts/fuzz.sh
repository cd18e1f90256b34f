#!/usr/bin/env bash
# Fuzzes the parsers that see attacker-controlled bytes with libFuzzer + AddressSanitizer.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 30)] [TARGET ...]
# Targets: jwt (token parser/verifier), body (request JSON + validation, JWKS), router (path
# decoding, ids), query (list query string), cgi (FastCGI params -> request -> whole app).
# Seeds: Tests/Fuzz/Corpus/TARGET (committed, small). New inputs found go to a scratch corpus;
# a crash fails the run and leaves the input in .build-fuzz/crashes/ to add to the seeds.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jwt body router query cgi)

out=.build-fuzz
mkdir -p "$out/crashes"
mapfile -t sources < <(find Sources/ASCII Sources/Clocks Sources/JSON Sources/JWT Sources/SQLite Sources/TodoAPI -name '*.swift' | sort)
if [ ! -x "$out/fuzz" ] || [ -n "$(find "${sources[@]}" Tests/Fuzz/FuzzTargets.swift -newer "$out/fuzz")" ]; then
    echo "building the fuzzer" >&2
    # One module: the fuzz entry point sees the parsers' internal API. The import lines of the
    # wrapped modules name themselves, so they are stripped into a scratch copy first.
    rm -rf "$out/src" && mkdir -p "$out/src"
    for file in "${sources[@]}" Tests/Fuzz/FuzzTargets.swift; do
        sed -E '/^(@testable )?import (ASCII|Clocks|JSON|JWT|SQLite|TodoAPI)$/d' "$file" > "$out/src/$(echo "$file" | tr / _)"
    done
    swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name Fuzz -swift-version 6 \
        -I Sources/CCrypto -I Sources/CSQLite "$out"/src/*.swift -lcrypto -lsqlite3 -o "$out/fuzz" 2>&1 \
        | grep -v "ld.gold: warning: Cannot export local symbol" || true
    [ -x "$out/fuzz" ]
fi

total=0
for target in "${targets[@]}"; do
    scratch=$(mktemp -d)
    log="$out/$target.log"
    echo "== fuzz $target for ${seconds}s" >&2
    if ! FUZZ_TARGET=$target "$out/fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/crashes/$target-" "$scratch" "Tests/Fuzz/Corpus/$target" > "$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz $target: FAILED (input saved under $out/crashes/)" >&2
        exit 1
    fi
    runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo 0)
    total=$((total + runs))
    echo "fuzz $target: $runs executions, no crash" >&2
    rm -rf "$scratch"
done
echo "fuzzing: $total executions over ${#targets[@]} targets, no crash"
