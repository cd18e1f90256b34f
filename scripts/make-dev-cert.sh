#!/usr/bin/env bash
# Makes a throw-away CA and a certificate for localhost / 127.0.0.1 / ::1 signed by it, for the
# local TLS variant and its tests. Never committed: DIR defaults to .dev/tls (git-ignored).
# Usage: scripts/make-dev-cert.sh [DIR]   -> DIR/ca.crt, DIR/server.crt, DIR/server.key
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/.." && pwd)/.dev/tls}
mkdir -p "$dir"
cd "$dir"
[ -s server.crt ] && [ -s server.key ] && [ -s ca.crt ] && exit 0
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=todo-fcgi development CA" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile server.ext -out server.crt 2>/dev/null
rm -f server.csr server.ext
echo "$dir"
