#!/usr/bin/env bash
# Shows the running dev stack answering over HTTPS.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(ATR_INSTANCE_SETTINGS=var/appsettings.instance.json .build/release/atrctl config public_base_url)
ca=var/tls/ca.pem
echo "== GET $base/metadata"
curl -sS --fail --cacert "$ca" "$base/metadata" | head -c 300; echo " ..."
echo "== GET $base/Patient/patient-alice"
curl -sS --fail --cacert "$ca" "$base/Patient/patient-alice" | head -c 300; echo " ..."
echo
echo "FHIR base: $base  (trust $ca, e.g. curl --cacert $ca $base/metadata)"
