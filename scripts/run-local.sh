#!/usr/bin/env bash
# Builds todo-fcgi and serves it locally: nginx on http://127.0.0.1:${PORT:-8080} in front of
# the worker under spawn-fcgi, with the SQLite file ${TODO_DATABASE:-./todo.db} (or the
# PostgreSQL database a postgresql:// TODO_DATABASE names: docs/SCALING.md).
# Runs in the foreground; Ctrl-C stops nginx and the worker it started. Each port has its own
# run directory (.run/PORT: socket, nginx configuration and logs), so several instances (other
# PORT, other TODO_DATABASE) run side by side. TODO_FCGI_BIN runs that binary instead of building.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
scripts/install-deps.sh
if [ -z "${TODO_FCGI_BIN:-}" ]; then
    swift build -c release --product todo-fcgi
fi
binary=${TODO_FCGI_BIN:-$repo/.build/release/todo-fcgi}
export TODO_FCGI_BIN=$binary

port=${PORT:-8080}
case "$port" in
    ''|*[!0-9]*) echo "PORT must be a number, got \"$port\"" >&2; exit 2 ;;
esac
export TODO_DATABASE=${TODO_DATABASE:-$repo/todo.db}
if [ -z "${BETTER_AUTH_SECRET:-}" ]; then
    mkdir -p .dev
    if [ ! -s .dev/secret ]; then
        head -c 48 /dev/urandom | base64 | tr -d '\n=+/' > .dev/secret
        echo "generated a development secret in .dev/secret (git-ignored)"
    fi
    BETTER_AUTH_SECRET=$(cat .dev/secret)
    echo "BETTER_AUTH_SECRET=$BETTER_AUTH_SECRET"
fi
export BETTER_AUTH_SECRET

run_dir="$repo/.run/$port"
# With PostgreSQL there is no database file to keep the metrics beside: this instance's run directory.
case "$TODO_DATABASE" in
    postgresql://*|postgres://*) export TODO_METRICS_FILE=${TODO_METRICS_FILE:-$run_dir/todo-fcgi.metrics} ;;
esac
mkdir -p "$run_dir"
if [ -s "$run_dir/nginx.pid" ] && kill -0 "$(cat "$run_dir/nginx.pid")" 2>/dev/null; then
    echo "an instance already serves port $port (nginx pid $(cat "$run_dir/nginx.pid")); stop it or pick another PORT" >&2
    exit 1
fi
socket="$run_dir/todo-fcgi.sock"
rm -f "$socket"
scripts/render-nginx-conf.sh "$run_dir" "$port" "$socket" > "$run_dir/nginx.conf"
nginx -t -q -c "$run_dir/nginx.conf"

"$binary" migrate
"$binary" check
pids=()
stop() {
    trap - INT TERM EXIT
    echo "stopping nginx and todo-fcgi"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -f "$socket"
}
trap stop INT TERM EXIT

spawn-fcgi -n -s "$socket" -M 0660 -- "$binary" serve &
pids+=($!)
nginx -c "$run_dir/nginx.conf" -g 'daemon off;' &
pids+=($!)

# A PostgreSQL URI is shown without its password.
shown_database=$(printf '%s' "$TODO_DATABASE" | sed -E 's#^(postgres(ql)?://[^:/@]*):[^@/]*@#\1@#')
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
done
cat <<INFO
todo-fcgi is serving on http://127.0.0.1:$port (database $shown_database). Try:
  TOKEN=\$($binary token --sub alice)
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"title":"Buy milk"}' http://127.0.0.1:$port/api/alice/tasks
  curl -s -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:$port/api/alice/tasks
Press Ctrl-C to stop.
INFO
status=0
wait -n "${pids[@]}" || status=$?
# Reached when nginx or the worker stopped by itself: say which, and why, before stopping the other.
if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "todo-fcgi stopped by itself (status $status): its last log lines above say why" \
         "(e.g. a failed flush of the WAL, after which a process takes no more writes;" \
         "start again to let SQLite recover the WAL)" >&2
else
    echo "nginx stopped by itself (status $status): see $run_dir/nginx-error.log" >&2
fi
exit "$status"
