# mlgate — run `make help` for the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

MLGATE_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mlgate
export MLGATE_CACHE
GOLANGCI_VERSION := v2.15.0
TOOLS := $(MLGATE_CACHE)/tools
GOLANGCI := $(TOOLS)/golangci-lint-$(GOLANGCI_VERSION)
ORT_LIB := $(MLGATE_CACHE)/onnxruntime-1.24.1/libonnxruntime.so.1
BIN := bin/mlgate
PG_DIR := $(CURDIR)/.cache/pg
IMAGE_DIR := $(MLGATE_CACHE)/images/mlgate-runtime
FUZZTIME ?= 4s

export ONNXRUNTIME_LIB ?= $(ORT_LIB)
export LC_ALL := C.UTF-8

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/mlgate (with ONNX Runtime support, cgo)
	go build -o $(BIN) ./cmd/mlgate

.PHONY: build-nocgo
build-nocgo: ## build bin/mlgate-nocgo without cgo (no ONNX flavor)
	CGO_ENABLED=0 go build -o bin/mlgate-nocgo ./cmd/mlgate

.PHONY: onnxruntime
onnxruntime: $(ORT_LIB) ## fetch libonnxruntime.so.1 1.24.1 into the cache (checked by sha256)
$(ORT_LIB):
	scripts/onnxruntime.sh

.PHONY: image
image: onnxruntime ## write the runtime base image (OCI layout, no Docker daemon; pinned Debian parts) to $(IMAGE_DIR)
	scripts/image.sh $(IMAGE_DIR) >/dev/null

.PHONY: venv
venv: ## create the pinned Python venv for interop tests (cached by requirements hash)
	@scripts/venv.sh interop/requirements.txt

.PHONY: deps
deps: onnxruntime ## install everything the tests need (ONNX Runtime, locale, venv, Azurite, PostgreSQL, UI npm deps)
	scripts/locale.sh
	scripts/ui-deps.sh >/dev/null
	scripts/venv.sh interop/requirements.txt >/dev/null
	scripts/azurite.sh >/dev/null

.PHONY: ui
ui: ## rebuild the web UI bundle ui/dist from ui/web (npm ci once, then esbuild's Go API)
	scripts/ui-deps.sh >/dev/null
	go run ./ui/cmd/uibuild

.PHONY: run
run: build onnxruntime ## run the main job: embedded tracking+registry server with an example model served on 127.0.0.1:5001
	$(BIN) quickstart

.PHONY: lint
lint: $(GOLANGCI) ## golangci-lint (pinned) and gofmt
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GOLANGCI) run ./...
$(GOLANGCI):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS)/bin go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	mv $(TOOLS)/bin/golangci-lint $(GOLANGCI)

.PHONY: vet
vet: ## go vet, a cgo-off build and go mod tidy check
	go vet -tags integration ./...
	CGO_ENABLED=0 go build -o /dev/null ./cmd/mlgate
	go mod tidy -diff

.PHONY: gotest
gotest: deps image ## go test -race with the integration tests (real ONNX Runtime, PostgreSQL, Python, runc, Azurite, Prometheus); the stores again without cgo (pure-Go SQLite)
	venv=$$(scripts/venv.sh interop/requirements.txt); azurite=$$(scripts/azurite.sh); prometheus=$$(scripts/prometheus.sh); \
	dsn=$$(scripts/postgres.sh start $(PG_DIR)); trap 'scripts/postgres.sh stop $(PG_DIR)' EXIT; \
	export MLGATE_TEST_PYTHON=$$venv/bin/python MLGATE_TEST_POSTGRES_DSN=$$dsn MLGATE_TEST_BASE_IMAGE=$(IMAGE_DIR) MLGATE_TEST_AZURITE=$$azurite MLGATE_TEST_PROMETHEUS=$$prometheus; \
	go test -race -tags integration -count=1 -timeout 20m ./...; \
	CGO_ENABLED=0 go test -tags integration -count=1 -timeout 10m ./internal/db/ ./tracking/store/ ./registry/store/; \
	go test -tags integration -count=1 -timeout 10m -run '^TestBuildDockerPython' ./internal/app/; \
	go test -tags integration -count=1 -timeout 10m -run '^(TestRolloutEndToEnd|TestDocsRolloutExamplesRun)' ./internal/app/ ./cmd/mlgate/

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 4s)
	scripts/fuzz.sh $(FUZZTIME)

.PHONY: fuzz-long
fuzz-long: ## the long fuzz pass: every target 5 min (FUZZTIME), 2 at a time (JOBS), niced; new corpus kept in testdata/fuzz
	FUZZTIME=$(or $(FUZZLONG),5m) scripts/fuzz-long.sh

.PHONY: interop
interop: build deps image ## pytest interop suite: the real mlflow package against the built binary
	venv=$$(scripts/venv.sh interop/requirements.txt); \
	dsn=$$(scripts/postgres.sh start $(PG_DIR)-interop); trap 'scripts/postgres.sh stop $(PG_DIR)-interop' EXIT; \
	MLGATE_BIN=$(CURDIR)/$(BIN) MLGATE_BASE_IMAGE=$(IMAGE_DIR) MLGATE_TEST_POSTGRES_DSN=$$dsn $$venv/bin/python -m pytest -q -p no:cacheprovider interop

.PHONY: deploy-test
deploy-test: onnxruntime $(GOLANGCI) ## the deploy/ module (own go.mod): Dockerfile, Helm charts and KServe objects, checked without a cluster
	cd deploy && go mod tidy -diff
	cd deploy && go vet ./...
	cd deploy && $(GOLANGCI) run ./...
	cd deploy && go test -count=1 -timeout 10m ./...

.PHONY: test
test: lint vet gotest deploy-test fuzz interop bench-smoke ## everything CI runs: lint, vet, go test -race, fuzz, interop, bench smoke, deploy checks

.PHONY: bench
bench: build deps image ## benchmarks next to baselines; writes docs/benchmarks.md (BENCH_QUICK=1 for a smoke run)
	venv=$$(scripts/venv.sh interop/requirements.txt); \
	go run ./bench/cmd/benchrun -mlgate $(CURDIR)/$(BIN) -python $$venv/bin/python -base-image $(IMAGE_DIR) -out docs

.PHONY: bench-smoke
bench-smoke: ## quick benchmark run: every system starts and answers (no speed assertion)
	BENCH_QUICK=1 $(MAKE) bench

.PHONY: soak
soak: build deps ## soak: models serve (ONNX, python_function) and server at 70% of capacity for SOAK_DURATION (default 30m); writes docs/benchmarks-raw/soak.md
	venv=$$(scripts/venv.sh interop/requirements.txt); \
	go run ./bench/cmd/benchrun -soak -mlgate $(CURDIR)/$(BIN) -python $$venv/bin/python -out docs

.PHONY: search-curve
search-curve: build deps ## runs/search latency at 1k, 10k, 100k runs (SQLite, PostgreSQL, mlflow server); writes docs/benchmarks-raw/search-curve.md
	venv=$$(scripts/venv.sh interop/requirements.txt); \
	dsn=$$(scripts/postgres.sh start $(PG_DIR)-curve); trap 'scripts/postgres.sh stop $(PG_DIR)-curve' EXIT; \
	go run ./bench/cmd/searchcurve -mlgate $(CURDIR)/$(BIN) -python $$venv/bin/python -postgres "$$dsn" -out docs/benchmarks-raw/search-curve.md

.PHONY: clean
clean: ## remove build outputs (not the cache)
	rm -rf bin .cache
