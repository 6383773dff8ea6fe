# ATR Export — the two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := run
SWIFT_FLAGS ?=

.PHONY: run stop test unit e2e build build-release deps bench clean

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

## test: unit tests, then end-to-end tests against a real stack in var/test
test: build unit e2e

unit:
	swift test $(SWIFT_FLAGS)

e2e:
	scripts/e2e.sh

clean:
	rm -rf .build var/test
