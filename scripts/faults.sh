#!/usr/bin/env bash
# The fault-injection suite (README "Fault injection"): the end-to-end harness with a stack of
# its own (state in var/faults, port FAULTS_PORT, default 9653) running Tests/faults.
#   FAULTS_MODE  short (default; part of `make test`) or long (`make chaos`)
#   FAULTS_SEED  the random kill points of a run to repeat (printed by a failing run)
set -euo pipefail
cd "$(dirname "$0")/.."
export FAULTS_MODE=${FAULTS_MODE:-short}
# The load loops poll as fast as they can, on purpose: early polls are not throttled here
# (the throttle has tests of its own).
E2E_EARLY_POLLS_ALLOWED=1000000 E2E_PORT=${FAULTS_PORT:-9653} E2E_STATE_DIR=var/faults E2E_SUITE=Tests/faults exec scripts/e2e.sh "$@"
