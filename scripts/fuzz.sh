#!/usr/bin/env bash
# Fuzzes the parsers that see attacker-controlled bytes with libFuzzer + AddressSanitizer.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 30)] [TARGET ...]
# Targets: jwt (token parser/verifier), body (request JSON + validation, JWKS), router (path
# decoding, ids), query (list query string), values (RFC 3339 instants, If-Match / If-None-Match,
# sync cursors), cgi (FastCGI params -> request -> whole app), ical (iCalendar reader, writer,
# dates and zones), xml (WebDAV bodies).
# Seeds: FuzzTesting/Corpus/TARGET (committed, small). New inputs found go to a scratch corpus;
# a crash fails the run and leaves the input in .build-fuzz/crashes/ to add to the seeds.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(jwt body router query values cgi ical xml)

out=.build-fuzz
mkdir -p "$out/crashes"
# FuzzTesting/ is a package of its own that depends on this one by path: SwiftPM rebuilds what changed.
echo "building the fuzzer" >&2
if ! (cd FuzzTesting && swift build -c release --build-path "../$out/package" \
        -Xswiftc -sanitize=fuzzer,address) > "$out/build.log" 2>&1; then
    grep -v "ld.gold: warning: Cannot export local symbol" "$out/build.log" | tail -40 >&2
    echo "the fuzzer did not build" >&2
    exit 1
fi
fuzzer="$out/package/release/FuzzTodo"

total=0
for target in "${targets[@]}"; do
    scratch=$(mktemp -d)
    log="$out/$target.log"
    echo "== fuzz $target for ${seconds}s" >&2
    if ! FUZZ_TARGET=$target "$fuzzer" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/crashes/$target-" "$scratch" "FuzzTesting/Corpus/$target" > "$log" 2>&1; then
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
