#!/usr/bin/env bash
# The demo `make run` ends with: one ATR export through the real HTTPS interface
# (kick-off, poll, download), printing the manifest and the first lines of each file.
set -euo pipefail
cd "$(dirname "$0")/.."
export ATR_INSTANCE_SETTINGS=${ATR_INSTANCE_SETTINGS:-var/appsettings.instance.json}
bin=${BIN_DIR:-.build/release}
base=$("$bin/atrctl" config public_base_url)
# A token for the demo client (registered by `make run`); real clients get theirs from
# POST /auth/token with a signed client assertion.
token=$("$bin/atrctl" token --client demo-client --scope "system/*.read")
curl=(curl -sS --fail-with-body --cacert var/tls/ca.pem -H "Authorization: Bearer $token")
group=atr-group-sunrise
types=Group,Patient,Coverage,RelatedPerson,Practitioner,PractitionerRole,Organization,Location

echo "== GET $base/metadata → $("${curl[@]}" -o /dev/null -w '%{http_code}' "$base/metadata")"
echo "== GET $base/Patient/patient-alice"
# Downloads go to a file before they are cut: `curl | head` fails under pipefail whenever
# head exits while curl is still writing (curl: (23) Failed writing body).
"${curl[@]}" -o var/demo-download.json "$base/Patient/patient-alice"
head -c 200 var/demo-download.json; echo " …"

echo "== kick-off: GET $base/Group/$group/\$davinci-data-export?_type=$types"
status_url=$("${curl[@]}" -D - -o /dev/null -H 'Accept: application/fhir+json' -H 'Prefer: respond-async' \
    "$base/Group/$group/\$davinci-data-export?_type=$types" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ocation: //p')
echo "   status URL: $status_url"

manifest=""
for _ in $(seq 1 120); do
    code=$("${curl[@]}" -o var/demo-manifest.json -D var/demo-headers.txt -w '%{http_code}' "$status_url")
    if [ "$code" = 200 ]; then manifest=$(cat var/demo-manifest.json); break; fi
    progress=$(tr -d '\r' < var/demo-headers.txt | sed -n 's/^[Xx]-[Pp]rogress: //p')
    echo "   poll: $code ${progress}"
    sleep 1
done
[ -n "$manifest" ] || { echo "the export did not finish; see var/log/atr-scheduler.log" >&2; exit 1; }
echo "== manifest"
echo "$manifest" | sed -e 's/,"output":\[/,\n  "output": [\n    /' -e 's/},{"type"/},\n    {"type"/g' -e 's/\],"error"/\n  ],\n  "error"/'
echo
for url in $(echo "$manifest" | grep -o '"url":"[^"]*"' | sed 's/"url":"\(.*\)"/\1/'); do
    file=${url%%\?*}; file=${file##*/}
    echo "== $file (first 2 lines)"
    "${curl[@]}" -o var/demo-download.json "$url"
    head -n 2 var/demo-download.json | cut -c1-240
done
echo
echo "FHIR base: $base   (trust var/tls/ca.pem: curl --cacert var/tls/ca.pem $base/metadata)"
echo "stop with: make stop"
