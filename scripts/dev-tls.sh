#!/usr/bin/env bash
# Creates a development CA and a localhost server certificate under STATE_DIR/tls (once).
set -euo pipefail
tls="$1/tls"
[ -f "$tls/server.pem" ] && [ -f "$tls/ca.pem" ] && exit 0
mkdir -p "$tls"
chmod 700 "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=ATR Export development CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > "$tls/server.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -days 825 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
rm -f "$tls/server.csr" "$tls/server.ext"
chmod 600 "$tls"/*.key
