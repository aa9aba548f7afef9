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
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# Node 20 (what Debian 12 machines here have) is past its end of life for jsii; synthesis works on it. Use node 22+
# where you can: this only quiets the banner jsii prints on every run for 20.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
CDK         := _cli/node_modules/.bin/cdk
IMAGE_CTX    = $(if $(IMAGE_DIGEST),-c image_digest=$(IMAGE_DIGEST),-c image_tag=$(IMAGE_TAG))
# The image synthesized by make synth (and so checked by make preflight): the CDK app reads its context from
# CDK_CONTEXT_JSON, as the CLI passes it.
IMAGE_JSON   = $(if $(IMAGE_DIGEST),{"image_digest":"$(IMAGE_DIGEST)"},$(if $(IMAGE_TAG),{"image_tag":"$(IMAGE_TAG)"}))

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: web
web: ## Build the web UI into web/dist/ (content-hashed assets).
	$(GO) run ./web/webbuild -src web -out web/dist

.PHONY: build
build: web ## Build every binary into bin/ and the web UI into web/dist/.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: up
up: build ## Run the whole system locally (PostgreSQL with TLS, SQS/SNS, API, worker, UI); Ctrl-C stops it.
	@bash scripts/deps.sh up
	$(BIN)/devenv

.PHONY: job
job: ## Run a scheduled job now in the running make up: make job NAME=<job of infra/services.yaml> [ADDR=host:port].
	$(BIN)/devenv -run-job '$(NAME)'

.PHONY: smoke
smoke: ## Run the release smoke test against `make up` (another terminal): make smoke [SMOKE_BASE=http://127.0.0.1:8080].
	$(GO) run ./cmd/smokehook -base $(or $(SMOKE_BASE),http://$(or $(ADDR),127.0.0.1:8080))

.PHONY: chaos
chaos: build ## Break the running system on a schedule and count orders lost or applied twice: make chaos [ORDERS=10000] (docs/reliability.md).
	@bash scripts/deps.sh up
	$(BIN)/chaos -bin $(BIN) -orders $(or $(ORDERS),10000) -logs $(CURDIR)/chaos-logs

.PHONY: deps
deps: ## Install what tests need and a fresh machine lacks (PostgreSQL, node packages).
	@bash scripts/deps.sh

.PHONY: test
test: deps ## Run every test: services, embedded endpoint, infrastructure.
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...
	cd infra && $(GO) test -count=1 ./...

.PHONY: bench
bench: deps ## Run the benchmarks: each is a ratio against a baseline run alongside (docs/benchmarks.md).
	$(GO) test -run '^$$' -bench . -benchmem -timeout 20m ./internal/localaws ./internal/orders/ordersdb ./internal/api ./internal/platform/database/dbtest
	$(MAKE) bench-system
	$(MAKE) bench-task

.PHONY: bench-task
bench-task: deps ## One task at its dev size: worker messages/s against a baseline (recorded for the scaling target), cold start, image size.
	set -o pipefail; TASKBENCH_RECORD=1 $(GO) test -v -run '^$$' -bench '^Benchmark(Worker|ColdStart)$$' -benchtime 1x -timeout 15m ./internal/testing/taskbench \
		| grep -v '^=== '

.PHONY: bench-system
bench-system: deps ## End to end: the API against a minimal baseline under HTTP load, p99 at half peak, event latency.
	$(GO) test -v -run '^$$' -bench '^BenchmarkSystem$$' -benchtime 1x -timeout 10m ./internal/testing/loadtest

.PHONY: lint
lint: ## Run golangci-lint and govulncheck.
	@bash scripts/lint.sh

.PHONY: synth
synth: web ## Synthesize every environment into infra/cdk.out/ [IMAGE_DIGEST=sha256:... or IMAGE_TAG=<tag>].
	cd infra && CDK_OUTDIR=cdk.out $(if $(IMAGE_JSON),CDK_CONTEXT_JSON='$(IMAGE_JSON)') $(GO) run .

.PHONY: preflight
preflight: synth ## Check an environment's stacks offline against AWS deploy rules: make preflight ENV=dev [BASELINE=dir] [BASE=ref] [DEPLOY=1].
	@ENV='$(ENV)' BASELINE='$(BASELINE)' BASE='$(BASE)' DEPLOY='$(DEPLOY)' GO='$(GO)' bash scripts/preflight.sh

.PHONY: cdk-cli
cdk-cli: ## Install the pinned CDK CLI into infra/_cli.
	cd infra/_cli && npm ci --no-audit --no-fund --loglevel=error

.PHONY: diff
diff: cdk-cli ## Show what a deploy would change: make diff ENV=prod [IMAGE_DIGEST=sha256:...] (needs AWS credentials).
	cd infra && $(CDK) diff 'ecsr-$(ENV)-*' $(IMAGE_CTX)

.PHONY: deploy
deploy: cdk-cli ## Deploy an environment as the pipeline does (scripts/deploy.sh): make deploy ENV=dev IMAGE_DIGEST=sha256:... [BASELINE=dir] [ASSEMBLY_OUT=dir] (needs the environment account's credentials).
	@ENV='$(ENV)' IMAGE_DIGEST='$(IMAGE_DIGEST)' IMAGE_TAG='$(IMAGE_TAG)' BASELINE='$(BASELINE)' ASSEMBLY_OUT='$(ASSEMBLY_OUT)' \
		MIGRATION_TIMEOUT='$(MIGRATION_TIMEOUT)' bash scripts/deploy.sh

.PHONY: images-check
images-check: ## Cross-compile and inspect the image's one binary (/app/ecsr) for arm64 and amd64, start each command; check the size budget; lint the Dockerfile.
	$(GO) run ./cmd/imagescheck

.PHONY: cost
cost: ## Monthly cost estimate of an environment from infra/cdk.out: make cost ENV=dev (runs make synth first).
	@test -d infra/cdk.out || $(MAKE) synth
	$(GO) run ./cmd/cost -env $(ENV) -assembly infra/cdk.out

.PHONY: service
service: ## Add a service or job: make service NAME=shipping KIND=worker SUBSCRIBE=order.fulfilled[,...] [DB=yes] [SENDS=queue,...] [SECRETS=name,...] [FIFO=yes]; KIND=web [DB=yes]; KIND=job SCHEDULE='rate(1 hour)' (docs/runbook.md).
	$(GO) run ./cmd/scaffold -name '$(NAME)' -kind '$(or $(KIND),worker)' -subscribe '$(SUBSCRIBE)' -db '$(DB)' -fifo '$(FIFO)' -sends '$(SENDS)' -secrets '$(SECRETS)' -schedule '$(SCHEDULE)'
	$(GO) run ./cmd/configdoc
	$(MAKE) diagram

.PHONY: configdoc
configdoc: ## Rewrite the per-service variables of docs/configuration.md from infra/services.yaml.
	$(GO) run ./cmd/configdoc

.PHONY: diagram
diagram: ## Draw docs/architecture.dot and .svg from the synthesized dev templates (runs make synth first).
	@bash scripts/deps.sh diagram
	@test -d infra/cdk.out || $(MAKE) synth
	$(GO) run ./cmd/diagram -env dev -assembly infra/cdk.out -out docs/architecture

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN) infra/cdk.out web/dist
