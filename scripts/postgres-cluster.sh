#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, reachable only through a unix socket.
#   scripts/postgres-cluster.sh start DIR   initdb in DIR (if new), start, create the role
#                                           `todo`; prints the admin URI (user postgres)
#   scripts/postgres-cluster.sh standby DIR PRIMARY_DIR [APPLY_DELAY]
#                                           a hot standby of the server in PRIMARY_DIR, streaming
#                                           from it, replaying each commit APPLY_DELAY (e.g. 2s,
#                                           default 0) after it; prints its admin URI
#   scripts/postgres-cluster.sh stop DIR    stop it (fast shutdown)
#   scripts/postgres-cluster.sh crash DIR   stop it as a crash does: immediate shutdown, every
#                                           connection cut, no checkpoint
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
# The server's TimeZone is deliberately not UTC, so tests show timestamps do not depend on it.
set -euo pipefail
command=${1:?usage: postgres-cluster.sh start|standby|stop|crash DIR}
dir=${2:?usage: postgres-cluster.sh start|standby|stop|crash DIR}
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
standby)
    primary_socket="${3:?usage: postgres-cluster.sh standby DIR PRIMARY_DIR [APPLY_DELAY]}/socket"
    delay=${4:-0}
    if [ ! -f "$data/PG_VERSION" ]; then
        mkdir -p "$dir" "$socket"
        [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir" "$socket"
        # -R writes standby.signal and primary_conninfo; the copy keeps the primary's settings,
        # which the lines appended below override (the last one read wins).
        "${as_owner[@]}" "$bin/pg_basebackup" -h "$primary_socket" -U postgres -D "$data" -R -X stream -c fast \
            >"$dir/basebackup.log" 2>&1 || { cat "$dir/basebackup.log" >&2; exit 1; }
        cat >>"$data/postgresql.conf" <<CONF
unix_socket_directories = '$socket'
hot_standby = on
recovery_min_apply_delay = '$delay'
CONF
    fi
    if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null \
            || { tail -20 "$dir/server.log" >&2; exit 1; }
    fi
    echo "postgresql://postgres@/postgres?host=$socket"
    ;;
stop|crash)
    [ -f "$data/postmaster.pid" ] || exit 0
    mode=fast
    [ "$command" = stop ] || mode=immediate
    "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null
    ;;
*)
    echo "usage: postgres-cluster.sh start|standby|stop|crash DIR" >&2
    exit 2
    ;;
esac
