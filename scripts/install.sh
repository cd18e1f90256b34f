#!/usr/bin/env bash
# Installs todo-fcgi on a Debian server: binary, systemd units, nginx snippets and site,
# configuration skeleton and docs, then enables the socket. Safe to re-run (upgrades the
# binary, units and snippets; never overwrites /etc/todo-fcgi/* or an existing site file).
#
# Usage: sudo scripts/install.sh [--no-build] [--no-start]
#   DESTDIR=/tmp/root scripts/install.sh --no-start   installs into a staging root (tests do this)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=1 start=1
for argument in "$@"; do
    case "$argument" in
        --no-build) build=0 ;;
        --no-start) start=0 ;;
        *) echo "unknown option $argument" >&2; exit 2 ;;
    esac
done
root=${DESTDIR:-}

if [ "$build" = 1 ]; then
    "$repo/scripts/install-deps.sh"
    (cd "$repo" && swift build -c release --product todo-fcgi)
fi

install -D -m 0755 "$repo/.build/release/todo-fcgi" "$root/usr/local/bin/todo-fcgi"
install -D -m 0644 "$repo/systemd/todo-fcgi.socket" "$root/etc/systemd/system/todo-fcgi.socket"
install -D -m 0644 "$repo/systemd/todo-fcgi.service" "$root/etc/systemd/system/todo-fcgi.service"
install -D -m 0644 "$repo/nginx/todo-fcgi-api.conf" "$root/etc/nginx/snippets/todo-fcgi-api.conf"
install -D -m 0644 "$repo/nginx/todo-fcgi-tls.conf" "$root/etc/nginx/snippets/todo-fcgi-tls.conf"
install -D -m 0644 "$repo/nginx/todo-fcgi-error-headers.conf" "$root/etc/nginx/snippets/todo-fcgi-error-headers.conf"
install -D -m 0644 "$repo/nginx/todo-fcgi-preflight.conf" "$root/etc/nginx/snippets/todo-fcgi-preflight.conf"
if [ ! -e "$root/etc/nginx/snippets/todo-fcgi-metrics-access.conf" ]; then  # the operator's allow-list
    install -D -m 0644 "$repo/nginx/todo-fcgi-metrics-access.conf" "$root/etc/nginx/snippets/todo-fcgi-metrics-access.conf"
fi
if [ ! -e "$root/etc/nginx/sites-available/todo-fcgi" ]; then
    install -D -m 0644 "$repo/nginx/todo-fcgi.site.conf" "$root/etc/nginx/sites-available/todo-fcgi"
fi
install -D -m 0644 "$repo/systemd/todo-fcgi-jwks-url.conf" "$root/usr/local/share/doc/todo-fcgi/jwks-url.conf"
install -D -m 0644 "$repo/systemd/todo-fcgi-postgresql.conf" "$root/usr/local/share/doc/todo-fcgi/postgresql.conf"
for doc in README.md docs/API.md docs/DEPLOY.md docs/BENCHMARKS.md docs/OPERATIONS.md docs/SCALING.md docs/SECURITY.md docs/openapi.yaml; do
    install -D -m 0644 "$repo/$doc" "$root/usr/local/share/doc/todo-fcgi/$(basename "$doc")"
done

install -d -m 0700 "$root/etc/todo-fcgi"
if [ ! -e "$root/etc/todo-fcgi/todo-fcgi.env" ]; then
    cat > "$root/etc/todo-fcgi/todo-fcgi.env" <<'ENV'
# Settings for todo-fcgi.service (see `todo-fcgi --help`). The secret is not here: it is the
# credential /etc/todo-fcgi/better-auth-secret.
#BETTER_AUTH_URL=https://app.example.com
#TODO_THREADS=8
#TODO_CORS_ORIGINS=https://app.example.com
#TODO_LOG_LEVEL=info
ENV
    chmod 0600 "$root/etc/todo-fcgi/todo-fcgi.env"
fi
# nginx's CORS map from the service's TODO_CORS_ORIGINS: one allow-list for nginx and the worker.
"$root/usr/local/bin/todo-fcgi" nginx-cors-map --env-file "$root/etc/todo-fcgi/todo-fcgi.env" \
    > "$root/etc/nginx/snippets/todo-fcgi-cors.conf.new"
mv "$root/etc/nginx/snippets/todo-fcgi-cors.conf.new" "$root/etc/nginx/snippets/todo-fcgi-cors.conf"
# nginx's maps from the installed binary's tables (the Allow list per route, the X-Request-ID rule).
"$root/usr/local/bin/todo-fcgi" nginx-maps > "$root/etc/nginx/snippets/todo-fcgi-maps.conf.new"
mv "$root/etc/nginx/snippets/todo-fcgi-maps.conf.new" "$root/etc/nginx/snippets/todo-fcgi-maps.conf"
if [ ! -e "$root/etc/todo-fcgi/better-auth-secret" ]; then
    (umask 077; head -c 48 /dev/urandom | base64 | tr -d '\n=+/' > "$root/etc/todo-fcgi/better-auth-secret")
    echo "wrote a random secret to /etc/todo-fcgi/better-auth-secret:" \
         "replace it with your Better Auth BETTER_AUTH_SECRET (at least 32 bytes)" >&2
fi

if [ "$start" = 1 ] && [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now todo-fcgi.socket
    systemctl restart todo-fcgi.service
    echo "todo-fcgi.socket enabled; now enable the nginx site (docs/DEPLOY.md, step 4)" >&2
fi
