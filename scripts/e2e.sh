#!/usr/bin/env bash
# End-to-end tests: starts a separate stack (state in var/test, port 9443, debug binaries),
# loads the sample data, runs pytest against it over HTTPS, and stops the stack again.
#   E2E_PORT       the stack's port (default 9443)
#   E2E_STATE_DIR  its state directory (default var/test)
#   E2E_SUITE      the pytest directory (default Tests/e2e; scripts/faults.sh runs Tests/faults)
#   E2E_EARLY_POLLS_ALLOWED  BulkDataExport.EarlyPollsAllowed (default 5, the product's default)
#   E2E_BACKEND    sqlite (default) or postgresql: a PostgreSQL server of its own in STATE_DIR/postgres
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
port=${E2E_PORT:-9443}
export STATE_DIR="$root/${E2E_STATE_DIR:-var/test}"
# E2E_BIN_DIR: other binaries (the AddressSanitizer build) against the same suite.
export BIN_DIR="${E2E_BIN_DIR:-$root/.build/debug}"
export ATR_INSTANCE_SETTINGS="$STATE_DIR/appsettings.instance.json"
backend=${E2E_BACKEND:-sqlite}
scripts/postgres.sh stop "$STATE_DIR/postgres"
rm -rf "$STATE_DIR"
mkdir -p "$STATE_DIR"
scripts/install-deps.sh --test
scripts/python-env.sh
database="\"Path\": \"$STATE_DIR/db/atr.sqlite\""
export ATR_POSTGRES=""
case "$backend" in
sqlite) ;;
postgresql)
    ATR_POSTGRES=$(scripts/postgres.sh start "$STATE_DIR/postgres")
    database="$database, \"Provider\": \"PostgreSQL\", \"ConnectionString\": \"$ATR_POSTGRES\"" ;;
*) echo "e2e.sh: E2E_BACKEND is sqlite or postgresql, not $backend" >&2; exit 64 ;;
esac
export ATR_BACKEND=$backend
cat > "$ATR_INSTANCE_SETTINGS" <<JSON
{
  "PublicBaseUrl": "https://localhost:$port/fhir",
  "Database": { $database },
  "FastCGI": { "Socket": "$STATE_DIR/run/atr-fcgi.sock", "Threads": 4 },
  "RequestBodyLimit": 2097152,
  "BulkDataExport": { "RepeatPeriod": 300, "MaxActiveTasksPerClient": 1000, "EarlyPollsAllowed": ${E2E_EARLY_POLLS_ALLOWED:-5} },
  "TaskFileManagement": { "StorageService": { "StoragePath": "$STATE_DIR/tasks" } },
  "SignedUrls": { "SecretFile": "$STATE_DIR/secrets/url-signing.key" },
  "SmartAuthorizationOptions": { "SigningKeyFile": "$STATE_DIR/secrets/token-signing-key.pem", "TokenRequestsPerMinute": 100 }
}
JSON
trap 'scripts/stack.sh stop >/dev/null 2>&1 || true; scripts/postgres.sh stop "$STATE_DIR/postgres"' EXIT
echo "e2e: $backend backend"
scripts/stack.sh start
"$BIN_DIR/atrctl" import samples/atr-sample.json
# The suite's admin client (loads data, reads everything): every scope, every Group; tests mint
# its tokens with `atrctl token`.
scripts/dev-client.sh "$BIN_DIR" e2e-admin "$STATE_DIR/clients" "system/*.read system/*.write" admin
export ATR_TEST_CLIENT=e2e-admin
export ATR_BASE="https://localhost:$port/fhir"
export ATR_CA="$STATE_DIR/tls/ca.pem"
# requests prefers REQUESTS_CA_BUNDLE over a session's verify=; point every client at the dev CA.
export REQUESTS_CA_BUNDLE="$ATR_CA" SSL_CERT_FILE="$ATR_CA" CURL_CA_BUNDLE="$ATR_CA"
export ATR_BIN="$BIN_DIR"
export ATR_MAX_BODY=2097152
export ATR_ROOT="$root"
export ATR_STATE_DIR="$STATE_DIR"
.venv/bin/python -m pytest -q "${E2E_SUITE:-Tests/e2e}" "$@"
