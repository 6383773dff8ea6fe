#!/usr/bin/env bash
# The two-node test (README "Several nodes"): one PostgreSQL server, one task directory and one
# set of secrets shared by two nodes, each with its own nginx, atr-fcgi and atr-scheduler, as
# behind a load balancer: both have node A's public URL, node B listens on the next port.
# State in var/nodes; runs the suite in Tests/nodes.
#   NODES_PORT   node A's port (default 9743); node B listens on NODES_PORT + 1
#   E2E_BIN_DIR  the binaries (default .build/debug)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
port_a=${NODES_PORT:-9743}
port_b=$((port_a + 1))
state="$root/var/nodes"
bin="${E2E_BIN_DIR:-$root/.build/debug}"
scripts/install-deps.sh --test
scripts/python-env.sh

node() { # a|b command...
    local name=$1
    shift
    STATE_DIR="$state/$name" BIN_DIR="$bin" ATR_INSTANCE_SETTINGS="$state/$name/appsettings.instance.json" "$@"
}
stop_all() {
    for name in a b; do [ -d "$state/$name" ] && node "$name" scripts/stack.sh stop >/dev/null 2>&1 || true; done
    scripts/postgres.sh stop "$state/postgres"
}
stop_all
rm -rf "$state"
mkdir -p "$state/shared/tasks" "$state/shared/secrets" "$state/a" "$state/b"
trap stop_all EXIT
connection=$(scripts/postgres.sh start "$state/postgres")
for name in a b; do
    cat > "$state/$name/appsettings.instance.json" <<JSON
{
  "PublicBaseUrl": "https://localhost:$port_a/fhir",
  "Database": { "Provider": "PostgreSQL", "ConnectionString": "$connection" },
  "FastCGI": { "Socket": "$state/$name/run/atr-fcgi.sock", "Threads": 4 },
  "BulkDataExport": { "RepeatPeriod": 300, "MaxActiveTasksPerClient": 1000, "EarlyPollsAllowed": 1000000,
                      "LeaseDuration": "00:00:05", "BatchSize": 200 },
  "TaskFileManagement": { "StorageService": { "StoragePath": "$state/shared/tasks" } },
  "SignedUrls": { "SecretFile": "$state/shared/secrets/url-signing.key" },
  "SmartAuthorizationOptions": { "SigningKeyFile": "$state/shared/secrets/token-signing-key.pem", "TokenRequestsPerMinute": 1000 }
}
JSON
done
node a env STACK_LISTEN_PORT=$port_a scripts/stack.sh start
# One certificate for both, as for one load-balanced name.
cp -a "$state/a/tls" "$state/b/tls"
node b env STACK_LISTEN_PORT=$port_b scripts/stack.sh start
node a "$bin/atrctl" import samples/atr-sample.json
node a scripts/dev-client.sh "$bin" e2e-admin "$state/clients" "system/*.read system/*.write" admin

export ATR_INSTANCE_SETTINGS="$state/a/appsettings.instance.json"
export ATR_TEST_CLIENT=e2e-admin
export ATR_BASE="https://localhost:$port_a/fhir"
export ATR_CA="$state/a/tls/ca.pem"
export REQUESTS_CA_BUNDLE="$ATR_CA" SSL_CERT_FILE="$ATR_CA" CURL_CA_BUNDLE="$ATR_CA"
export ATR_BIN="$bin" ATR_ROOT="$root" ATR_MAX_BODY=104857600
export NODES_STATE="$state" NODE_A_PORT=$port_a NODE_B_PORT=$port_b ATR_POSTGRES="$connection"
.venv/bin/python -m pytest -q Tests/nodes "$@"
