#!/usr/bin/env bash
# A throwaway PgBouncer in transaction mode in front of a test PostgreSQL server, reachable only
# through a unix socket (Debian's own `pgbouncer` package; installed when missing).
#   scripts/pgbouncer.sh start DIR SERVER_SOCKET_DIR [POOL_SIZE]
#       runs pgbouncer from DIR for every database of the server whose socket is in
#       SERVER_SOCKET_DIR (scripts/postgres-cluster.sh's DIR/socket), at most POOL_SIZE (default
#       4) server connections per database and user; prints `host=DIR/socket port=6432`
#   scripts/pgbouncer.sh stop DIR
# PgBouncer refuses to run as root: as root, it runs as the `postgres` user.
set -euo pipefail
command=${1:?usage: pgbouncer.sh start DIR SERVER_SOCKET_DIR [POOL_SIZE] | stop DIR}
dir=${2:?usage: pgbouncer.sh start DIR SERVER_SOCKET_DIR [POOL_SIZE] | stop DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups)
fi
port=6432

case "$command" in
start)
    server=${3:?usage: pgbouncer.sh start DIR SERVER_SOCKET_DIR [POOL_SIZE]}
    pool=${4:-4}
    command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || "$repo/scripts/install-deps.sh" pgbouncer >&2
    binary=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
    mkdir -p "$dir/socket"
    # Transaction pooling with fewer server connections than clients: each transaction may
    # reach another server connection, as in production behind a pooler.
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=$server
[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $dir/socket
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = application_name,extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    printf '"todo" ""\n"postgres" ""\n' >"$dir/userlist.txt"
    [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$dir"
    if [ ! -f "$dir/pgbouncer.pid" ] || ! kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; then
        "${as_owner[@]}" "$binary" -d "$dir/pgbouncer.ini" || { tail -20 "$dir/pgbouncer.log" >&2; exit 1; }
        for _ in $(seq 100); do
            [ -S "$dir/socket/.s.PGSQL.$port" ] && break
            sleep 0.05
        done
        [ -S "$dir/socket/.s.PGSQL.$port" ] || { tail -20 "$dir/pgbouncer.log" >&2; exit 1; }
    fi
    "$binary" --version | head -1 >&2
    echo "host=$dir/socket port=$port"
    ;;
stop)
    [ -f "$dir/pgbouncer.pid" ] || exit 0
    pid=$(cat "$dir/pgbouncer.pid")
    kill "$pid" 2>/dev/null || exit 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    ;;
*)
    echo "usage: pgbouncer.sh start DIR SERVER_SOCKET_DIR [POOL_SIZE] | stop DIR" >&2
    exit 2
    ;;
esac
