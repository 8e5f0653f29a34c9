# pingdeck — `make test` is what CI runs (.ci/run) and what the README tells you to run.
GO ?= go

.PHONY: test vet build run clean

## test: vet, the cross-builds, the frontend checks (Vitest, dist matches a fresh build, browser tests), then
## every Go test with the race detector (real SQLite, a throwaway Postgres, the real binary)
test: vet cross test-frontend test-ui test-deps
	$(GO) test -race -count=1 -timeout 20m ./...

## test-deps: what the Go tests run besides Go: Debian's nats-server (an external bus),
## prometheus (it scrapes /metrics/targets; promtool checks the exposition),
## prometheus-alertmanager and python3-aiosmtpd (the notification channels' real receivers)
.PHONY: test-deps
test-deps:
	@test -x /usr/sbin/nats-server || command -v nats-server >/dev/null || { apt-get install -y nats-server || { apt-get update && apt-get install -y nats-server; }; } >&2
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { apt-get install -y prometheus || { apt-get update && apt-get install -y prometheus; }; } >&2
	@command -v prometheus-alertmanager >/dev/null || { apt-get install -y prometheus-alertmanager || { apt-get update && apt-get install -y prometheus-alertmanager; }; } >&2
	@/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || { apt-get install -y python3-aiosmtpd || { apt-get update && apt-get install -y python3-aiosmtpd; }; } >&2

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## cross: the portable build holds (the probing engine runs on macOS and Windows):
## go vet for darwin (tests included), go build for windows
.PHONY: cross
cross:
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) build ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/pingdeck ./cmd/server

run:
	$(GO) run ./cmd/server

clean:
	rm -rf bin data

## bench: every benchmark, one after another (root; tens of minutes); each prints its table
.PHONY: bench
bench: bench-engine bench-live bench-report bench-server bench-agent bench-storage bench-cluster bench-ui

## bench-engine: probing vs shared engine (auto and raw sockets) vs fping on loopback, N = 1k…20k at 1 Hz (root; ~6 min);
## markdown table on stdout. Flags via BENCH_ENGINE_ARGS, e.g. BENCH_ENGINE_ARGS="-n 1000 -duration 10s".
.PHONY: bench-engine
bench-engine:
	@command -v fping >/dev/null || { apt-get install -y fping || { apt-get update && apt-get install -y fping; }; } >&2
	@$(GO) build -o bin/pingbench ./bench/pingbench
	@./bin/pingbench $(BENCH_ENGINE_ARGS)

## Frontend (frontend/): Node 20 + npm. node_modules is installed with `npm ci` only when it
## is missing or package-lock.json changed. dist/ is committed (go:embed) and must match a
## fresh build byte for byte.
FRONTEND_STAMP := frontend/node_modules/.pingdeck-ci-stamp

$(FRONTEND_STAMP): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

.PHONY: frontend-deps frontend test-frontend test-ui
frontend-deps: $(FRONTEND_STAMP)

## frontend: rebuild frontend/dist (commit the result)
frontend: frontend-deps
	cd frontend && npm run build

## test-frontend: Vitest, then a fresh build that must equal the committed frontend/dist
test-frontend: frontend-deps
	cd frontend && npx vitest run
	cd frontend && npm run build
	@git diff --exit-code --stat -- frontend/dist && test -z "$$(git status --porcelain -- frontend/dist)" || \
		{ echo "frontend/dist differs from a fresh build: run 'make frontend' and commit frontend/dist"; git status --short -- frontend/dist; exit 1; }

## test-ui: browser tests (playwright-core + Debian's /usr/bin/chromium, installed when
## missing) against the real binary on a free port with a temp data dir
test-ui: frontend-deps
	@test -x /usr/bin/chromium || { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } >&2
	cd frontend && node e2e/run.js

## bench-ui: the dashboard with 50 cards × 100 live rows at 1 Hz in Chromium, fed by a fake
## API/WebSocket server (frontend/bench/bench.js); markdown table on stdout (~1 min).
## Flags via BENCH_UI_ARGS, e.g. BENCH_UI_ARGS="--cards 20 --rows 50 --seconds 10".
.PHONY: bench-ui
bench-ui: frontend-deps
	@test -x /usr/bin/chromium || { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } >&2
	@cd frontend && node bench/bench.js $(BENCH_UI_ARGS)

## bench-report: seed a day of 1 Hz results for 1,100 targets (rollups for all of it, raw rows for the
## last 90 min) in a throwaway Postgres (or PINGDECK_BENCH_DATABASE_URL), time the ResultWriter against
## a plain COPY and reports through the HTTP API; markdown tables on stdout (~10 min).
## Flags via BENCH_REPORT_ARGS, e.g. BENCH_REPORT_ARGS="-hours 2 -raw-minutes 10".
.PHONY: bench-report
bench-report:
	@$(GO) build -o bin/reportbench ./bench/reportbench
	@./bin/reportbench $(BENCH_REPORT_ARGS)

## bench-server: the whole server (the real binary, a throwaway Postgres, the embedded bus) probing 20,000
## loopback targets at 1 Hz: server and Postgres CPU, RSS, results and bytes/s on the bus, writes/s, drops, and a
## check that every result was stored once and the rollups agree (root; ~4 min); markdown table on stdout.
## Flags via BENCH_SERVER_ARGS, e.g. BENCH_SERVER_ARGS="-n 2000 -window 20s", or "-compare bin/pingdeck-old"
## to measure an older build after this tree's.
.PHONY: bench-server
bench-server:
	@$(GO) build -o bin/serverbench ./bench/serverbench
	@./bin/serverbench $(BENCH_SERVER_ARGS)

## bench-server-fping: issue 23's CPU goal: the whole server on the embedded default (SQLite) probing 5,000 loopback
## targets at 1 Hz, then fping (apt-get install -y fping) on the same targets for the same warm-up and window; prints
## both rows and "server / fping CPU = X.XX×" (root; ~3 min). More flags via BENCH_SERVER_ARGS.
.PHONY: bench-server-fping
bench-server-fping:
	@command -v fping >/dev/null || { apt-get install -y fping || { apt-get update && apt-get install -y fping; }; } >&2
	@$(GO) build -o bin/serverbench ./bench/serverbench
	@./bin/serverbench -n 5000 -db sqlite -fping $(BENCH_SERVER_ARGS)

## bench-storage: bytes a probe on disk (issue 23): the real binary on SQLite and on a throwaway Postgres takes 10 minutes
## of 1,000 targets at 1 Hz (1 % loss, RTT jitter) as an agent sends them, through the bus and the writer; then its
## results tables are measured (root not needed; ~3 min a database). BENCH_STORAGE_ARGS="-compare bin/pingdeck-old"
## measures an older build in the same run.
.PHONY: bench-storage
bench-storage:
	@$(GO) build -o bin/storagebench ./bench/storagebench
	@./bin/storagebench $(BENCH_STORAGE_ARGS)

## bench-cluster: three replicas (issue 21) on a throwaway Postgres, their embedded NATS servers clustered on
## loopback, R × T loopback targets at 1 Hz and C WebSocket clients over them: per-replica CPU, cross-replica delivery
## p50/p99, failover time after a kill -9 (root; a few minutes). BENCH_CLUSTER_ARGS="-targets 2000 -clients 200".
.PHONY: bench-cluster
bench-cluster:
	@$(GO) build -o bin/clusterbench ./bench/clusterbench
	@./bin/clusterbench $(BENCH_CLUSTER_ARGS)

## bench-agent: agents (`pingdeck agent`) enrolled with the real server on a throwaway Postgres, 5,000 loopback targets
## each at 1 Hz: the agent's CPU per probe against the engine alone on the same targets, then the results/s the server
## stores from 1 and from 4 agents, server, Postgres and agent CPU, and a check that every result was stored once
## (root; ~6 min); markdown tables on stdout. Flags via BENCH_AGENT_ARGS, e.g. BENCH_AGENT_ARGS="-n 1000 -agents 2 -window 20s".
.PHONY: bench-agent
bench-agent:
	@$(GO) build -o bin/agentbench ./bench/agentbench
	@./bin/agentbench $(BENCH_AGENT_ARGS)

## screenshots: docs/dashboard.png, dashboard-phone.png, report.png, users.png, tokens.png,
## matrix.png, agents.png, alerts.png and target-history.png from the real binary probing loopback
## addresses, with a real `pingdeck agent` on its bus listener for the matrix (~3 min; runs as root: raw ICMP)
.PHONY: screenshots
screenshots: frontend-deps
	@test -x /usr/bin/chromium || { apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; } >&2
	cd frontend && node e2e/screenshots.js

## bench-live: 1,000 and 5,000 WebSocket clients on loopback, each following 10 groups × 50
## targets at 1 Hz of synthetic results that reach the hub through the embedded NATS bus as
## in the server, and the same traffic from a process that is not pingdeck as a control
## (~4 min); markdown table on stdout. Flags via BENCH_LIVE_ARGS, e.g.
## BENCH_LIVE_ARGS="-n 500 -duration 10s"; "-path bus,direct" adds rows with results
## handed straight to the hub, to show what the bus costs (twice as long).
.PHONY: bench-live
bench-live:
	@$(GO) build -o bin/livebench ./bench/livebench
	@./bin/livebench $(BENCH_LIVE_ARGS)
