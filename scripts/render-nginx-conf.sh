#!/usr/bin/env bash
# Renders nginx/dev.conf.template for a run directory, port and worker socket.
# Usage: scripts/render-nginx-conf.sh RUN_DIR PORT SOCKET > RUN_DIR/nginx.conf
set -euo pipefail
run_dir=$1 port=$2 socket=$3
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$run_dir/nginx-tmp"
sed -e "s|@RUN_DIR@|$run_dir|g" -e "s|@PORT@|$port|g" -e "s|@SOCKET@|$socket|g" \
    -e "s|@REPO@|$repo|g" -e "s|@USER_GROUP@|$(id -un) $(id -gn)|g" \
    "$repo/nginx/dev.conf.template"
