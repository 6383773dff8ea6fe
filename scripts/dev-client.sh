#!/usr/bin/env bash
# Registers a development SMART client: a P-384 key pair under DIR (private key DIR/ID.key,
# public DIR/ID.pub.pem), allowed SCOPES, all Groups, ROLE (default provider).
# usage: dev-client.sh BIN ID DIR SCOPES [ROLE]
set -euo pipefail
bin=$1 id=$2 dir=$3 scopes=$4 role=${5:-provider}
mkdir -p "$dir"
chmod 700 "$dir"
if [ ! -f "$dir/$id.key" ]; then
    openssl ecparam -name secp384r1 -genkey -noout -out "$dir/$id.key"
    openssl ec -in "$dir/$id.key" -pubout -out "$dir/$id.pub.pem" 2>/dev/null
    chmod 600 "$dir/$id.key"
fi
"$bin/atrctl" clients add --id "$id" --jwks "$dir/$id.pub.pem" --scope "$scopes" --group '*' --role "$role" >/dev/null
