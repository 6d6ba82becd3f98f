# sigil-integrity-exporter
#
#   make demo   build and run the exporter on a demo LevelDB with planted corruptions
#   make test   the whole test suite (needs node/npm, promtool, amtool, PostgreSQL;
#               .ci/run installs them on a fresh Debian machine)
#   make bench  the per-record benchmarks
#   make test-states  500 LevelDB states written by Node, checked against Node (docs/RELIABILITY.md)

GO      ?= go
BINARY  ?= sigil-integrity-exporter
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REV     ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X github.com/prometheus/common/version.Version=$(VERSION) \
           -X github.com/prometheus/common/version.Revision=$(REV) \
           -X github.com/prometheus/common/version.Branch=main

.PHONY: build demo test test-states testdata bench vet fmt

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BINARY) ./exporter

demo: build
	./$(BINARY) demo

# Node packages for the generators of the test data (classic-level).
testdata:
	cd testdata/node && npm ci --no-audit --no-fund --loglevel=error

# -p 1: one package at a time, so the timing tests (paced passes, the
# end-to-end alert path) do not compete for the two cores.
test: testdata
	$(GO) vet ./...
	$(GO) test -p 1 -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./collector/...

fmt:
	gofmt -w $$(git ls-files '*.go')

# The long LevelDB state harness: 500 states written by Node (killed, closed
# after a memtable switch, closed during compaction, torn, .sst, rolled
# MANIFEST) checked against Node's own recovery, and the 200,000-record bulk
# load of issue 9. Prints the seed; SIGIL_STATES_SEED=<seed> replays a run.
test-states: testdata
	$(GO) test -tags states -count=1 -timeout 60m -v -run 'TestNodeLevelDBStates|TestBulkLoadTwoJournals|TestLiveNodeAppMinute' ./exporter/
