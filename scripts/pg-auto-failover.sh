#!/usr/bin/env bash
# A local pg_auto_failover formation, for tests and for trying failover (docs/SCALING.md): a
# monitor and two PostgreSQL nodes on 127.0.0.1 (ports BASE, BASE+1, BASE+2; BASE defaults to
# 25430, below Linux's ephemeral ports, so no outgoing connection can hold one), trust
# authentication on loopback only, no TLS. Health checks run every second, so a
# lost primary is noticed in about 5 s, and the new primary takes writes 5 s after it stopped
# answering (primary_demote_timeout; the default 30 s allows for a primary that is cut off but
# still running, which a production formation should keep). The standby is synchronous
# (pg_auto_failover's default, replication quorum): a commit acknowledged is on both nodes.
#   scripts/pg-auto-failover.sh start DIR [BASE]  make it (if new) and run it; prints the URI
#                                                 the workers use (role `todo`, database `todo`)
#   scripts/pg-auto-failover.sh primary DIR       the port of the node that is primary now
#   scripts/pg-auto-failover.sh kill-primary DIR  SIGKILL every process of the primary's node
#   scripts/pg-auto-failover.sh rejoin DIR        run the killed node again: it rejoins as a standby
#   scripts/pg-auto-failover.sh switchover DIR    pg_autoctl perform switchover
#   scripts/pg-auto-failover.sh state DIR         pg_autoctl show state
#   scripts/pg-auto-failover.sh stop DIR          stop every process of the formation
# The formation runs as the `postgres` user when started as root (PostgreSQL refuses root).
set -euo pipefail
command=${1:?usage: pg-auto-failover.sh start|primary|kill-primary|rejoin|switchover|state|stop DIR [BASE]}
dir=${2:?usage: pg-auto-failover.sh COMMAND DIR [BASE]}
repo=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v pg_autoctl >/dev/null || [ -z "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ]; then
    "$repo/scripts/install-deps.sh" postgresql postgresql-15-auto-failover pg-auto-failover-cli >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_owner=()
[ "$(id -u)" -ne 0 ] || as_owner=(setpriv --reuid=postgres --regid=postgres --init-groups)
# pg_autoctl keeps its state under XDG directories: one formation per DIR.
run_as_owner() {
    "${as_owner[@]}" env HOME="$dir" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data" PATH="$bin:$PATH" "$@"
}
base=$(cat "$dir/base" 2>/dev/null || echo "${3:-25430}")
monitor_uri="postgres://autoctl_node@127.0.0.1:$base/pg_auto_failover?sslmode=disable"
psql_at() {  # PORT DATABASE SQL
    "$bin/psql" -h 127.0.0.1 -p "$1" -U postgres -d "$2" -qAtX -v ON_ERROR_STOP=1 -c "$3"
}
# Runs `pg_autoctl ARGS` for NAME as a session of its own (so its processes can be killed
# together), logging to DIR/NAME.log; its pid in DIR/NAME.pid.
launch() {
    local name=$1
    shift
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$dir/$name.pid" \
        "${as_owner[@]}" env HOME="$dir" XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/data" PATH="$bin:$PATH" \
        pg_autoctl "$@" >>"$dir/$name.log" 2>&1 < /dev/null &
}
wait_for() {  # DESCRIPTION SECONDS COMMAND...
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq $((seconds * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "pg-auto-failover: $what did not happen within $seconds s" >&2
    tail -20 "$dir"/*.log >&2 || true
    return 1
}
is_primary() { [ "$(psql_at "$1" postgres "SELECT NOT pg_is_in_recovery()")" = t ]; }
# The monitor sees a primary and a secondary, each in the state it was assigned: writes are
# acknowledged only once on both nodes.
is_settled() {
    [ "$(psql_at "$base" pg_auto_failover "SELECT count(*) FROM pgautofailover.node
        WHERE reportedstate = goalstate AND reportedstate IN ('primary', 'secondary')")" = 2 ]
}
primary_port() {
    for port in $((base + 1)) $((base + 2)); do
        if is_primary "$port"; then echo "$port"; return 0; fi
    done
    return 1
}
node_of() { echo "node$(( $1 - base ))"; }
alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }
kill_node() {  # NAME: the session of its pg_autoctl, and its postmaster's children
    local name=$1 pid
    alive "$name" || return 0
    pid=$(cat "$dir/$name.pid")
    local postmaster
    postmaster=$(head -1 "$dir/$name/postmaster.pid" 2>/dev/null || true)
    if [ -n "$postmaster" ]; then pkill -9 -P "$postmaster" 2>/dev/null || true; fi
    kill -9 -- "-$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}

# Whether PORT can be listened on, on every address (PostgreSQL listens on `*`, and serves IPv6
# alone, without a word but in its log, when the IPv4 port is taken).
port_free() {
    python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
except OSError:
    sys.exit(1)' "$1"
}

case "$command" in
start)
    if [ ! -f "$dir/base" ]; then
        for port in "$base" $((base + 1)) $((base + 2)); do
            port_free "$port" || { echo "pg-auto-failover: port $port is in use; pass another BASE" >&2; exit 1; }
        done
    fi
    mkdir -p "$dir"
    [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$dir"
    echo "$base" > "$dir/base"
    if [ ! -f "$dir/monitor/PG_VERSION" ]; then
        run_as_owner pg_autoctl create monitor --pgdata "$dir/monitor" --pgport "$base" --hostname 127.0.0.1 \
            --auth trust --no-ssl --pgctl "$bin/pg_ctl" >>"$dir/monitor.log" 2>&1
    fi
    alive monitor || launch monitor run --pgdata "$dir/monitor"
    wait_for "the monitor" 60 psql_at "$base" pg_auto_failover "SELECT 1"
    for setting in health_check_period=1000 health_check_timeout=1000 health_check_max_retries=1 \
            health_check_retry_delay=500 node_considered_unhealthy_timeout=3000 startup_grace_period=3000 \
            primary_demote_timeout=5000; do
        psql_at "$base" pg_auto_failover "ALTER SYSTEM SET pgautofailover.${setting%%=*} = ${setting#*=}" >/dev/null
    done
    psql_at "$base" pg_auto_failover "SELECT pg_reload_conf()" >/dev/null
    for n in 1 2; do
        name=node$n
        port=$((base + n))
        if [ -f "$dir/$name/PG_VERSION" ]; then
            alive "$name" || launch "$name" run --pgdata "$dir/$name"
        else
            launch "$name" create postgres --pgdata "$dir/$name" --pgport "$port" --hostname 127.0.0.1 --name "$name" \
                --auth trust --no-ssl --pgctl "$bin/pg_ctl" --monitor "$monitor_uri" --run
        fi
        # One at a time: the first made is the primary, the second its standby.
        if [ "$n" = 1 ]; then wait_for "$name as primary" 90 is_primary "$port"; fi
    done
    wait_for "a primary and a synchronous secondary" 120 is_settled
    primary=$(primary_port)
    psql_at "$primary" postgres "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'todo') THEN CREATE ROLE todo LOGIN NOSUPERUSER NOBYPASSRLS; END IF;
        END \$\$" >/dev/null
    [ "$(psql_at "$primary" postgres "SELECT count(*) FROM pg_database WHERE datname = 'todo'")" = 1 ] \
        || psql_at "$primary" postgres "CREATE DATABASE todo OWNER todo" >/dev/null
    echo "postgresql://todo@127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2))/todo?target_session_attrs=read-write&connect_timeout=2"
    ;;
primary)
    primary_port
    ;;
kill-primary)
    primary=$(primary_port)
    kill_node "$(node_of "$primary")"
    echo "$primary"
    ;;
rejoin)
    for name in node1 node2; do
        alive "$name" || launch "$name" run --pgdata "$dir/$name"
    done
    wait_for "a primary and a synchronous secondary again" 120 is_settled
    ;;
switchover)
    run_as_owner pg_autoctl perform switchover --pgdata "$dir/monitor" >>"$dir/switchover.log" 2>&1
    ;;
state)
    run_as_owner pg_autoctl show state --pgdata "$dir/monitor"
    ;;
stop)
    for name in node1 node2 monitor; do kill_node "$name"; done
    ;;
*)
    echo "usage: pg-auto-failover.sh start|primary|kill-primary|rejoin|switchover|state|stop DIR [BASE]" >&2
    exit 2
    ;;
esac
