#!/usr/bin/env bash
# Installs the Debian packages todo-fcgi needs to build, run and test, when missing.
# Extra package names may be passed as arguments (e.g. wrk for the benchmark).
set -euo pipefail
packages=(libfcgi-dev libsqlite3-dev libpq-dev libssl-dev libcurl4-openssl-dev nginx spawn-fcgi curl pkg-config openssl systemd "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's nginx package starts a system nginx on port 80 where it can; ours never needs it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
    echo "note: a system nginx is running; todo-fcgi's own nginx uses a separate config and port" >&2
fi
command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
