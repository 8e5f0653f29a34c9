# pingdeck — `make test` is what CI runs (.ci/run) and what the README tells you to run.
GO ?= go

.PHONY: test vet build run clean

## test: vet, then every test with the race detector (real SQLite, a throwaway Postgres, the real binary)
test: vet
	$(GO) test -race -count=1 -timeout 15m ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/pingdeck ./cmd/server

run:
	$(GO) run ./cmd/server

clean:
	rm -rf bin data

## bench-engine: probing vs shared engine vs fping on loopback, N = 1k…20k at 1 Hz (root; ~4–5 min);
## markdown table on stdout. Flags via BENCH_ENGINE_ARGS, e.g. BENCH_ENGINE_ARGS="-n 1000 -duration 10s".
.PHONY: bench-engine
bench-engine:
	@command -v fping >/dev/null || { apt-get install -y fping || { apt-get update && apt-get install -y fping; }; } >&2
	@$(GO) build -o bin/pingbench ./cmd/pingbench
	@./bin/pingbench $(BENCH_ENGINE_ARGS)
