#!/usr/bin/env bash
# A self-signed certificate for the dev stack's SMTP submission (localhost, 127.0.0.1),
# made once: `scripts/dev-smtp-cert.sh CERT_FILE KEY_FILE` keeps a pair that exists.
set -euo pipefail
cert="$1"
key="$2"
if [ -s "$cert" ] && [ -s "$key" ]; then
  exit 0
fi
mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$key" -out "$cert" 2>/dev/null
chmod 600 "$key"
