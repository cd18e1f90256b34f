#!/usr/bin/env bash
# The whole test suite: unit tests (swift test) and integration tests through the real
# stack (nginx -> FastCGI -> todo-fcgi -> SQLite on loopback), then the integration tests and
# schemathesis again against PostgreSQL (a throwaway server, unix socket only). Installs what
# is missing.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# gcc builds the slow-flush shim of the crash test; postgresql is the server of the PostgreSQL
# pass, pgbouncer the transaction-mode pooler in front of it there; prometheus gives promtool
# and the server that scrapes the stack in test_prometheus.py; postgresql-15-auto-failover and
# pg-auto-failover-cli the failover formation of test_failover.py; vdirsyncer and todoman the
# CalDAV clients of test_caldav.py.
scripts/install-deps.sh gcc postgresql pgbouncer prometheus postgresql-15-auto-failover pg-auto-failover-cli vdirsyncer todoman
python3 -m pytest --version >/dev/null 2>&1 || python3 -m pip install --quiet pytest
# The JWKS tests sign tokens with an implementation independent of the worker's.
python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet cryptography
# The metrics tests read /metrics with Prometheus's own text parser.
python3 -c "import prometheus_client" 2>/dev/null || python3 -m pip install --quiet prometheus_client
# The CalDAV tests sync with the python caldav library (discovery, tasks, sync tokens).
python3 -c "import caldav" 2>/dev/null || python3 -m pip install --quiet caldav==3.6.0

# The throwaway PostgreSQL server (unix socket only): the PostgreSQL unit tests and the second
# integration pass use it; it is stopped and removed on exit.
postgres_dir=$(mktemp -d /tmp/todo-fcgi-postgres.XXXXXX)
trap 'scripts/postgres-cluster.sh stop "$postgres_dir" || true; rm -rf "$postgres_dir"' EXIT
postgres_admin=$(scripts/postgres-cluster.sh start "$postgres_dir")

echo "== unit tests"
TODO_TEST_POSTGRES="$postgres_admin" swift test

echo "== integration tests (release build behind nginx)"
swift build -c release --product todo-fcgi
TODO_FCGI_BIN="$repo/.build/release/todo-fcgi" python3 -m pytest -q -p no:cacheprovider IntegrationTests

echo "== schemathesis: the running service against docs/openapi.yaml"
if [ ! -x .venv-schemathesis/bin/st ]; then
    python3 -m venv .venv-schemathesis
    .venv-schemathesis/bin/pip install --quiet schemathesis==4.32.5
fi
TODO_FCGI_BIN="$repo/.build/release/todo-fcgi" python3 IntegrationTests/schemathesis/run.py --max-time "${SCHEMATHESIS_SECONDS:-120}"

echo "== integration tests and schemathesis against PostgreSQL"
TODO_TEST_POSTGRES="$postgres_admin" TODO_TEST_POSTGRES_DIR="$postgres_dir" TODO_FCGI_BIN="$repo/.build/release/todo-fcgi" \
    python3 -m pytest -q -p no:cacheprovider IntegrationTests
TODO_TEST_POSTGRES="$postgres_admin" TODO_FCGI_BIN="$repo/.build/release/todo-fcgi" \
    python3 IntegrationTests/schemathesis/run.py --max-time "${SCHEMATHESIS_SECONDS:-120}"

echo "== fuzzing (libFuzzer + ASan), ${FUZZ_SECONDS:-30} s per target"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

echo "== AddressSanitizer and ThreadSanitizer: unit tests and the sanitized worker through nginx"
TODO_TEST_POSTGRES="$postgres_admin" scripts/sanitize.sh address thread

echo "== all passed: unit, integration, schemathesis, fuzzing, sanitizers"
