# ATR Export — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := run
SWIFT_FLAGS ?=

.PHONY: run stop test unit storage-postgresql differential e2e two-nodes asan-corpus faults chaos build build-release deps bench fuzz clean

## BACKEND: the storage backends `make test` covers: sqlite, postgresql, or both (the default)
BACKEND ?= both
BACKENDS := $(if $(filter both,$(BACKEND)),sqlite postgresql,$(BACKEND))

deps:
	@scripts/install-deps.sh

build-release: deps
	swift build -c release $(SWIFT_FLAGS)

build: deps
	swift build $(SWIFT_FLAGS)

## run: build release binaries, start nginx + atr-fcgi + atr-scheduler under var/, load the sample
run: build-release
	@mkdir -p var
	@[ -f var/appsettings.instance.json ] || echo '{ "BulkDataExport": { "RepeatPeriod": 2000 } }' > var/appsettings.instance.json
	@STATE_DIR=var BIN_DIR=.build/release scripts/stack.sh start
	@ATR_INSTANCE_SETTINGS=var/appsettings.instance.json .build/release/atrctl import samples/atr-sample.json
	@ATR_INSTANCE_SETTINGS=var/appsettings.instance.json scripts/dev-client.sh .build/release demo-client var/clients "system/*.read"
	@scripts/demo.sh

## stop: stop what `make run` started
stop:
	@STATE_DIR=var scripts/stack.sh stop

## test: unit tests (the storage tests on each backend), the FHIRPath differential check, end-to-end
## tests against a real stack in var/test on each backend, the two-node test on PostgreSQL, the
## malformed-request corpus against the stack built with AddressSanitizer, then the short
## fault-injection run
test: build unit differential e2e two-nodes asan-corpus faults

unit:
	swift test $(SWIFT_FLAGS)
	@if [[ " $(BACKENDS) " == *" postgresql "* ]]; then $(MAKE) --no-print-directory storage-postgresql; fi

## storage-postgresql: the storage tests against a PostgreSQL server of their own (var/unit-postgres)
storage-postgresql:
	SWIFT_FLAGS="$(SWIFT_FLAGS)" scripts/storage-tests.sh

## differential: fhirpathpy (PyPI) agrees with the committed expectations the Swift engine is tested
## against, and the generated R4 model is up to date with fhirpathpy's model files
differential:
	@scripts/python-env.sh
	.venv/bin/python Tests/fhirpath-differential/generate.py --check
	.venv/bin/python scripts/generate-r4-model.py --check
	.venv/bin/python scripts/generate-r4-mandatory-elements.py --check

e2e:
	@set -e; for backend in $(BACKENDS); do E2E_BACKEND=$$backend scripts/e2e.sh; done

## two-nodes: two nginx + atr-fcgi + atr-scheduler nodes on one PostgreSQL database and task directory
two-nodes:
	@if [[ " $(BACKENDS) " == *" postgresql "* ]]; then scripts/two-nodes.sh; fi

asan-corpus:
	scripts/asan-corpus.sh

## faults: the fault-injection suite, short mode (own stack in var/faults, port FAULTS_PORT, default 9653)
faults:
	scripts/faults.sh

## chaos: the fault-injection suite, long mode: the figures of the README's "Fault injection"
chaos: build
	FAULTS_MODE=long scripts/faults.sh

## bench: performance figures of the README's "Performance" section (own stack in var/bench, port 9843); BENCH_MEMBERS=100000
## for the big run, BENCH_LARGE=1 for the 1M-member run the goals are set for; merges the export figures into
## docs/bench-points.tsv and redraws docs/bench-export.png (BENCH_POINTS= : not recorded); options in scripts/bench.sh
bench: build-release
	scripts/bench.sh

## fuzz: libFuzzer + AddressSanitizer over every parser (Fuzz/), FUZZ_SECONDS each (default 60; FUZZ_SECONDS=5 for a
## smoke check) from the seeds in Fuzz/corpus/; crash inputs in var/fuzz/crashes/, and any crash fails
fuzz:
	@scripts/fuzz.sh

clean:
	rm -rf .build .build-asan .build-fuzz var/test var/fuzz var/faults var/nodes var/unit-postgres
