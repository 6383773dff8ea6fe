#!/usr/bin/env bash
# The storage tests (Tests/StorageTests) against PostgreSQL: a server of its own in
# var/unit-postgres, each test in a schema of its own. `swift test` alone runs them on SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
dir=var/unit-postgres
scripts/postgres.sh stop "$dir"
rm -rf "$dir"
trap 'scripts/postgres.sh stop "$dir"' EXIT
ATR_TEST_POSTGRES=$(scripts/postgres.sh start "$dir")
export ATR_TEST_POSTGRES
swift test ${SWIFT_FLAGS:-} --filter StorageTests "$@"
