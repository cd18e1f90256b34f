#!/usr/bin/env bash
# The test suite under AddressSanitizer and ThreadSanitizer: the unit tests, then the worker
# built with each sanitizer and driven through nginx by the integration tests (concurrent
# clients included). Any sanitizer report fails the run. With TODO_TEST_POSTGRES (an admin URI,
# as scripts/postgres-cluster.sh prints), the libpq wrapper's unit tests run too, and the
# sanitized worker is driven once more with its tasks in PostgreSQL.
# Usage: scripts/sanitize.sh [address|thread ...]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
export LSAN_OPTIONS="suppressions=$repo/Tests/Sanitizers/lsan.supp"
postgres=${TODO_TEST_POSTGRES:-}
unset TODO_TEST_POSTGRES

for sanitizer in "${sanitizers[@]}"; do
    scratch=".build-$sanitizer"
    echo "== unit tests under the $sanitizer sanitizer"
    TODO_TEST_POSTGRES="$postgres" swift test --sanitize="$sanitizer" --scratch-path "$scratch" 2>&1 | tee "/tmp/todo-fcgi-$sanitizer-unit.log" | grep -v "^✔ Test [a-zA-Z]"
    if grep -qE "ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer" "/tmp/todo-fcgi-$sanitizer-unit.log"; then
        echo "$sanitizer sanitizer reported a problem in the unit tests" >&2
        exit 1
    fi

    echo "== integration tests against the worker built with the $sanitizer sanitizer"
    swift build --sanitize="$sanitizer" --scratch-path "$scratch" --product todo-fcgi
    reports=$(mktemp -d)
    # The worker processes inherit these; each report lands in its own file.
    ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1" TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0" \
        TODO_FCGI_BIN="$repo/$scratch/debug/todo-fcgi" TODO_LOG_LEVEL=notice \
        python3 -m pytest -q -p no:cacheprovider IntegrationTests/test_contract.py IntegrationTests/test_errors.py \
            IntegrationTests/test_isolation.py IntegrationTests/test_lifecycle.py IntegrationTests/test_jwks.py \
            IntegrationTests/test_metrics.py IntegrationTests/test_live_sync.py -k "not outlasts"
    if [ -n "$postgres" ]; then
        ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1" TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0" \
            TODO_TEST_POSTGRES="$postgres" TODO_FCGI_BIN="$repo/$scratch/debug/todo-fcgi" TODO_LOG_LEVEL=notice \
            python3 -m pytest -q -p no:cacheprovider IntegrationTests/test_contract.py IntegrationTests/test_isolation.py \
                IntegrationTests/test_errors.py IntegrationTests/test_live_sync.py -k "not outlasts and not reconnects"
    fi
    if compgen -G "$reports/*" > /dev/null; then
        cat "$reports"/* | head -80 >&2
        echo "$sanitizer sanitizer reported a problem in the worker" >&2
        exit 1
    fi
    rm -rf "$reports"
done
echo "sanitizers clean: ${sanitizers[*]}"
