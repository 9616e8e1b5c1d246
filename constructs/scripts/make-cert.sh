#!/bin/bash
# make-cert.sh DIR [OWNER] [CN]: PostgreSQL's TLS certificate, made once at first boot:
# DIR/server.crt (0644) and DIR/server.key (0600), self-signed (RSA 3072, SHA-256, 10 years),
# owned by OWNER (default postgres:postgres). An existing pair is kept. Clients use
# sslmode=require: the connection is encrypted; the server is trusted by its network position.
# Part of tracker-constructs (constructs/scripts/make-cert.sh); no placeholders.
set -euo pipefail
dir=${1:?usage: make-cert.sh DIR [OWNER] [CN]}
owner=${2:-postgres:postgres}
cn=${3:-$(hostname)}
if [ -s "$dir/server.key" ] && [ -s "$dir/server.crt" ]; then
  exit 0
fi
install -d -m 0700 "$dir"
umask 077
openssl req -x509 -newkey rsa:3072 -sha256 -days 3650 -nodes -subj "/CN=$cn" \
  -keyout "$dir/server.key" -out "$dir/server.crt" 2>/dev/null
chmod 0600 "$dir/server.key"
chmod 0644 "$dir/server.crt"
chown "$owner" "$dir" "$dir/server.key" "$dir/server.crt"
