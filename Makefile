# ECS Reworked. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO          ?= go
BIN         := $(CURDIR)/bin
CACHE       := $(CURDIR)/.cache
ENV         ?= dev
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CACHE)/jsii
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build every binary into bin/.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: up
up: build ## Run the whole system locally (PostgreSQL with TLS, SQS/SNS, API, worker, UI); Ctrl-C stops it.
	$(BIN)/devenv

.PHONY: deps
deps: ## Install what tests need and a fresh machine lacks (PostgreSQL, node packages).
	@bash scripts/deps.sh

.PHONY: test
test: deps ## Run every test: services, embedded endpoint, infrastructure.
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	cd infra && $(GO) test -count=1 ./...

.PHONY: bench
bench: deps build ## Run the benchmarks (results are ratios against baselines run alongside).
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: lint
lint: ## Run golangci-lint and govulncheck.
	@bash scripts/lint.sh

.PHONY: synth
synth: ## Synthesize every environment into infra/cdk.out/.
	cd infra && CDK_OUTDIR=cdk.out $(GO) run .

.PHONY: diff
diff: ## Show what a deploy would change: make diff ENV=dev (needs AWS credentials).
	cd infra && npx --no-install cdk diff --app cdk.out 'ecsr-$(ENV)-*'

.PHONY: deploy
deploy: ## Deploy an environment: make deploy ENV=dev IMAGE_TAG=<git sha> (needs AWS credentials).
	cd infra && npx --no-install cdk deploy -c image_tag=$(IMAGE_TAG) 'ecsr-$(ENV)-*'

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN) infra/cdk.out
