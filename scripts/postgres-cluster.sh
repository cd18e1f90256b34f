#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, reachable only through a unix socket.
#   scripts/postgres-cluster.sh start DIR   initdb in DIR (if new), start, create the role
#                                           `todo`; prints the admin URI (user postgres)
#   scripts/postgres-cluster.sh stop DIR    stop it (fast shutdown)
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
# The server's TimeZone is deliberately not UTC, so tests show timestamps do not depend on it.
set -euo pipefail
command=${1:?usage: postgres-cluster.sh start|stop DIR}
dir=${2:?usage: postgres-cluster.sh start|stop DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    "$repo/scripts/install-deps.sh" postgresql >&2
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi
data="$dir/data"
socket="$dir/socket"

case "$command" in
start)
    mkdir -p "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$data" "$socket"
        [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir" "$data" "$socket"
        "${as_owner[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$socket'
max_connections = 300
timezone = 'Pacific/Chatham'
shared_buffers = 256MB
CONF
    fi
    # pg_ctl -w returns once the server accepts connections; the server is its own daemon, so
    # signals to this shell (or its parent) never reach it.
    if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null \
            || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    "$bin/psql" -h "$socket" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'todo') THEN
            CREATE ROLE todo LOGIN NOSUPERUSER NOBYPASSRLS;
        END IF; END \$\$" >/dev/null
    echo "postgresql://postgres@/postgres?host=$socket"
    ;;
stop)
    [ -f "$data/postmaster.pid" ] || exit 0
    "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    ;;
*)
    echo "usage: postgres-cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac
