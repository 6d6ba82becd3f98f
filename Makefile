# sigil-integrity-exporter
#
#   make demo        build and run the exporter on a demo LevelDB with planted corruptions
#   make test-short  the fast tier: pure Go, no Node, no servers, no external tools (< 1 min)
#   make test        the whole suite, as CI runs it (needs node/npm, promtool, amtool,
#                    alertmanager, pushgateway, prometheus, PostgreSQL; .ci/run installs them)
#   make lint        golangci-lint (.golangci.yml; .ci/run installs the pinned version)
#   make vet         go vet
#   make fuzz        each fuzz target for FUZZTIME (default 30s)
#   make bench       the per-record benchmarks
#   make generate    the rules and dashboard from alerts/mixin
#   make test-states 500 LevelDB states written by Node, checked against Node (docs/RELIABILITY.md)

GO      ?= go
BINARY  ?= sigil-integrity-exporter
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REV     ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/prometheus/common/version.Version=$(VERSION) \
           -X github.com/prometheus/common/version.Revision=$(REV) \
           -X github.com/prometheus/common/version.Branch=main

GOLANGCI_LINT ?= golangci-lint
FUZZTIME      ?= 30s

.PHONY: build demo test test-short testdata bench vet lint fuzz fmt generate test-states

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BINARY) ./exporter

demo: build
	./$(BINARY) demo

# Node packages for the generators of the test data (classic-level),
# installed again only when package.json or package-lock.json changed.
NODE_MODULES := testdata/node/node_modules/.package-lock.json

testdata: $(NODE_MODULES)

$(NODE_MODULES): testdata/node/package.json testdata/node/package-lock.json
	cd testdata/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

vet:
	$(GO) vet ./...

lint:
	$(GOLANGCI_LINT) run ./...

# The fast tier: tests that need Node, PostgreSQL, Prometheus's tools or a
# process of the exporter honour -short and skip.
test-short: vet
	$(GO) test -short -count=1 -timeout 5m ./...

# -p 1: one package at a time, so the timing tests (paced passes, the
# end-to-end alert path) do not compete for the two cores. The exporter's
# binary is built once here and shared by every package that runs it
# (internal/testutil.Binary reads SIGIL_TEST_EXPORTER).
test: testdata vet
	@bindir=$$(mktemp -d) && \
	$(GO) build -o $$bindir/$(BINARY) ./exporter && \
	SIGIL_TEST_EXPORTER=$$bindir/$(BINARY) $(GO) test -p 1 -count=1 -timeout 30m ./...; \
	rc=$$?; rm -rf $$bindir; exit $$rc

# One target at a time (go test -fuzz takes one per package); a failing
# input is written under the package's testdata/fuzz/ to be committed.
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./collector/canonical
	$(GO) test -run '^$$' -fuzz '^FuzzAppend$$' -fuzztime $(FUZZTIME) ./collector/canonical
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./collector/verify

# The alert rules, the PrometheusRule, the dashboard and its ConfigMap, from
# the monitoring mixin in alerts/mixin (settings: alerts/mixin/config.libsonnet).
generate:
	$(GO) run ./alerts/gen

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./collector/...

fmt:
	$(GOLANGCI_LINT) fmt ./...

# The long LevelDB state harness: 500 states written by Node (killed, closed
# after a memtable switch, closed during compaction, torn, .sst, rolled
# MANIFEST) checked against Node's own recovery, and the 200,000-record bulk
# load of issue 9. Prints the seed; SIGIL_STATES_SEED=<seed> replays a run.
test-states: testdata
	$(GO) test -tags states -count=1 -timeout 60m -v -run 'TestNodeLevelDBStates|TestBulkLoadTwoJournals|TestLiveNodeAppMinute' ./exporter/
