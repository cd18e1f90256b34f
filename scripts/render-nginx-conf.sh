#!/usr/bin/env bash
# Renders nginx/dev.conf.template for a run directory, port and worker socket.
# Usage: scripts/render-nginx-conf.sh RUN_DIR PORT SOCKET > RUN_DIR/nginx.conf
# Environment: TODO_RATE_LIMIT (requests/s per client on /api/; default: no limit);
#   TODO_CORS_ORIGINS (the worker's allow-list, written into nginx's CORS map by the binary
#   TODO_FCGI_BIN, default .build/release/todo-fcgi, so nginx's own errors carry the same headers);
#   TLS_PORT and CERT_DIR (from scripts/make-dev-cert.sh) add the TLS server of production:
#   then PORT answers only with a redirect to https, as in production.
set -euo pipefail
run_dir=$1 port=$2 socket=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$run_dir/nginx-tmp" "$run_dir/snippets"
# The API snippet includes snippets/… relative to the configuration's directory, as in /etc/nginx.
cp "$repo/nginx/todo-fcgi-error-headers.conf" "$repo/nginx/todo-fcgi-preflight.conf" "$repo/nginx/todo-fcgi-metrics-access.conf" \
    "$run_dir/snippets/"
"${TODO_FCGI_BIN:-$repo/.build/release/todo-fcgi}" nginx-cors-map > "$run_dir/snippets/todo-fcgi-cors.conf"
"${TODO_FCGI_BIN:-$repo/.build/release/todo-fcgi}" nginx-maps > "$run_dir/snippets/todo-fcgi-maps.conf"
tls_filter='/^#TLS/d;s/^#PLAIN//'
if [ -n "${TLS_PORT:-}" ]; then
    tls_filter='/^#PLAIN/d;s/^#TLS//'
fi
sed -e "s|@RUN_DIR@|$run_dir|g" -e "s|@PORT@|$port|g" -e "s|@SOCKET@|$socket|g" \
    -e "s|@REPO@|$repo|g" -e "s|@USER_GROUP@|$(id -un) $(id -gn)|g" -e "s|@RATE@|${TODO_RATE_LIMIT:-1000}|g" -e "s|@RATE_KEY@|${TODO_RATE_LIMIT:+\$binary_remote_addr}|g" \
    -e "s|@TLS_PORT@|${TLS_PORT:-}|g" -e "s|@CERT_DIR@|${CERT_DIR:-}|g" -e "$tls_filter" \
    "$repo/nginx/dev.conf.template"
