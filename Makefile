# argolite: `make demo` runs the agent in a local cluster, `make test` runs every test.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

ROOT        := $(abspath .)
BIN         := $(ROOT)/bin
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
IMAGE_REPO  ?= ghcr.io/argolite/argolite-agent
IMAGE_TAG   := $(shell printf '%s' '$(VERSION)' | tr -c 'A-Za-z0-9_.-' '-')
IMAGE       ?= $(IMAGE_REPO):$(IMAGE_TAG)
VPKG        := github.com/argolite/argolite/shared/version
LDFLAGS     := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Commit=$(COMMIT) -X $(VPKG).ImageRepository=$(IMAGE_REPO)
GOBUILD     := CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)'

CLUSTER_DIR ?= $(ROOT)/.cluster
KUBECONFIG_LOCAL := $(CLUSTER_DIR)/admin.kubeconfig
K8S_BIN      = $(shell bash integration/cluster/build.sh)
E2E_TIMEOUT ?= 30m
# Tests that share the agent or need only the cluster run this many at once.
E2E_PARALLEL ?= 4

export CLUSTER_DIR
# One -trimpath for every go command (build, vet, test, run), so that they
# share compiled packages in the build cache instead of compiling each twice.
export GOFLAGS := $(strip -trimpath $(GOFLAGS))

.PHONY: build
build: ## Build kubectl-argo and argolite-agent into bin/.
	$(GOBUILD) -o $(BIN)/kubectl-argo ./plugin
	$(GOBUILD) -o $(BIN)/argolite-agent ./agent

.PHONY: generate
generate: ## Regenerate deepcopy, CRDs and RBAC from controller-gen markers.
	go tool controller-gen object:headerFile=hack/boilerplate.go.txt paths=./shared/api/...
	go tool controller-gen crd paths=./shared/api/... output:crd:artifacts:config=manifests/crds
	go tool controller-gen rbac:roleName=argolite-agent paths=./agent/... output:rbac:artifacts:config=manifests/rbac

.PHONY: verify
verify: generate ## Fail when generated files are stale or go.mod is untidy.
	go mod tidy
	@if [[ -n "$$(git status --porcelain -- shared/api manifests go.mod go.sum)" ]]; then \
	  git status --porcelain -- shared/api manifests go.mod go.sum; \
	  echo "generated files are out of date: run 'make generate && go mod tidy' and commit the result"; exit 1; fi

GOLANGCI_LINT_VERSION := v2.15.0

.PHONY: lint-tools
lint-tools: ## Build golangci-lint into bin/ (outside the module, like the krew tools).
	@[[ -x $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION) ]] || { \
	  GOBIN=$(BIN)/.golangci GOFLAGS= go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) && \
	  mv $(BIN)/.golangci/golangci-lint $(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION) && rmdir $(BIN)/.golangci; }

.PHONY: lint
lint: lint-tools ## go vet, gofmt and golangci-lint (.golangci.yml).
	go vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION) run ./...

.PHONY: test
test: lint verify test-unit test-e2e test-conformance ## Everything CI runs.

.PHONY: test-unit
test-unit: ## Unit tests (no cluster needed).
	go test -count=1 $$(go list ./... | grep -v -e /integration/e2e -e /integration/conformance)

.PHONY: test-e2e
test-e2e: build cluster-up image-import krew-tools dist-e2e ## End-to-end tests on the local cluster.
	mkdir -p $(ROOT)/.e2e
	KUBECONFIG=$(KUBECONFIG_LOCAL) ARGOLITE_E2E=1 ARGOLITE_E2E_IMAGE=$(IMAGE) ARGOLITE_BIN=$(BIN) \
	  ARGOLITE_DIST=$(ROOT)/dist ARGOLITE_K8S_BIN=$(K8S_BIN) ARGOLITE_E2E_REPORT_DIR=$(ROOT)/.e2e \
	  go test -count=1 -parallel $(E2E_PARALLEL) -timeout $(E2E_TIMEOUT) ./integration/e2e/...
	@cat $(ROOT)/.e2e/*.txt 2>/dev/null || true

.PHONY: test-conformance
test-conformance: build cluster-up image-import ## Argo's own workflow examples and Rollouts fixtures on the local cluster: prints "N passed, M failed".
	$(MAKE) --no-print-directory conformance-run CONFORMANCE_RUN=.

.PHONY: test-conformance-rollouts
test-conformance-rollouts: build cluster-up image-import ## Argo Rollouts' e2e fixtures and scenarios only: prints "N passed, M failed".
	$(MAKE) --no-print-directory conformance-run CONFORMANCE_RUN=TestRolloutsConformance

.PHONY: test-conformance-events
test-conformance-events: build cluster-up image-import ## Argo Events' e2e fixtures and functional scenarios only: prints "N passed, M failed".
	$(MAKE) --no-print-directory conformance-run CONFORMANCE_RUN=TestEventsConformance

.PHONY: conformance-run
conformance-run:
	mkdir -p $(ROOT)/.e2e
	rm -f $(ROOT)/.e2e/conformance*.txt
	status=0; KUBECONFIG=$(KUBECONFIG_LOCAL) ARGOLITE_E2E=1 ARGOLITE_E2E_IMAGE=$(IMAGE) ARGOLITE_BIN=$(BIN) \
	  ARGOLITE_E2E_REPORT_DIR=$(ROOT)/.e2e go test -count=1 -timeout 40m -run '$(CONFORMANCE_RUN)' ./integration/conformance/ || status=$$?; \
	  cat $(ROOT)/.e2e/conformance*.txt 2>/dev/null || true; exit $$status

.PHONY: bench-gitops
bench-gitops: build cluster-up image-import ## GitOps benchmark on the local cluster: kubectl vs the agent, memory (writes .bench/gitops.md).
	KUBECONFIG=$(KUBECONFIG_LOCAL) ARGOLITE_E2E_IMAGE=$(IMAGE) ARGOLITE_BIN=$(BIN) ARGOLITE_K8S_BIN=$(K8S_BIN) \
	  go run ./integration/bench/gitops -out $(ROOT)/.bench/gitops.md

.PHONY: bench-workflow
bench-workflow: build cluster-up image-import ## Workflow benchmark on the local cluster: a 100-step chain and a 200-wide fan-out, overhead per step and memory (writes .bench/workflow.md).
	KUBECONFIG=$(KUBECONFIG_LOCAL) ARGOLITE_E2E_IMAGE=$(IMAGE) ARGOLITE_BIN=$(BIN) \
	  go run ./integration/bench/workflow -out $(ROOT)/.bench/workflow.md

.PHONY: bench-rollout
bench-rollout: build cluster-up image-import ## Rollout benchmark on the local cluster: promote to weight at the Gateway, analysis failure to all stable (writes .bench/rollout.md).
	KUBECONFIG=$(KUBECONFIG_LOCAL) ARGOLITE_E2E_IMAGE=$(IMAGE) ARGOLITE_BIN=$(BIN) \
	  go run ./integration/bench/rollout -out $(ROOT)/.bench/rollout.md

.PHONY: cluster-binaries
cluster-binaries: ## Build Kubernetes, etcd, the registry and CoreDNS from the Go module proxy (cached in bin/).
	bash integration/cluster/build.sh

.PHONY: traefik
traefik: ## Build Traefik, the local cluster's Gateway API data plane, from the Go module proxy (cached in bin/).
	bash integration/gateway/build.sh >/dev/null

.PHONY: cluster-up
cluster-up: cluster-binaries traefik images ## Start (or reuse) the local cluster.
	bash integration/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and clean up its mounts, bridge and rules.
	bash integration/cluster/down.sh

.PHONY: images
images: ## Build the local cluster's images: busybox, pause, the stand-ins for alpine, python, nginx, argoproj/argosay (v1 and v2) and argoproj/rollouts-demo, the s3server artifact store and go-httpbin.
	go run ./integration/images -out $(BIN)/images busybox pause alpine python nginx argosay argosay-v1 s3server httpbin rollouts-demo

.PHONY: image
image: ## Build the agent image (no Docker) as bin/images/argolite-agent.tar.
	GOOS=linux GOARCH=amd64 $(GOBUILD) -o $(BIN)/linux-amd64/argolite-agent ./agent
	go run ./integration/images -out $(BIN)/images -agent-binary $(BIN)/linux-amd64/argolite-agent -agent-image $(IMAGE) agent

.PHONY: image-import
image-import: image cluster-up ## Push the agent image to the local cluster's registry and pull it into containerd.
	bash integration/cluster/import.sh $(BIN)/images/argolite-agent.tar

.PHONY: install
# Without KUBECONFIG the target is the local cluster, which gets the image first;
# another cluster must be able to pull $(IMAGE) (set IMAGE=... to choose).
ifeq ($(KUBECONFIG),)
install: image-import
endif
install: build ## Install the agent into the cluster of $$KUBECONFIG, else the local one.
	KUBECONFIG=$${KUBECONFIG:-$(KUBECONFIG_LOCAL)} $(BIN)/kubectl-argo install --image $(IMAGE)

.PHONY: demo
demo: build cluster-up image-import ## Start the local cluster, install the agent and show it healthy.
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(BIN)/kubectl-argo install --image $(IMAGE)
	KUBECONFIG=$(KUBECONFIG_LOCAL) $(BIN)/kubectl-argo status
	@echo
	@echo "The local cluster is up. Point kubectl at it and use the plugin:"
	@echo "  export KUBECONFIG=$(KUBECONFIG_LOCAL) PATH=$(BIN):$(K8S_BIN):\$$PATH"
	@echo "  kubectl argo status"
	@echo "Stop it with: make cluster-down"

.PHONY: krew-tools
krew-tools: ## Build krew and validate-krew-manifest v0.4.3 into bin/ (outside the module).
	@[[ -x $(BIN)/krew && -x $(BIN)/validate-krew-manifest ]] || GOBIN=$(BIN) GOFLAGS= go install sigs.k8s.io/krew/cmd/krew@v0.4.3 sigs.k8s.io/krew/cmd/validate-krew-manifest@v0.4.3

.PHONY: dist
dist: krew-tools ## Cross-build plugin archives with sha256 sums and render krew/argo.yaml.
	bash krew/dist.sh '$(VERSION)' '$(LDFLAGS)'
	$(BIN)/validate-krew-manifest -manifest krew/argo.yaml -skip-install

.PHONY: dist-e2e
dist-e2e: krew-tools ## The plugin archive and krew manifest for linux/amd64 only: what the krew e2e installs.
	PLATFORMS=linux/amd64 bash krew/dist.sh '$(VERSION)' '$(LDFLAGS)'
	$(BIN)/validate-krew-manifest -manifest krew/argo.yaml -skip-install

.PHONY: clean
clean: ## Remove build outputs (keeps the cached cluster binaries).
	rm -rf dist $(BIN)/kubectl-argo $(BIN)/argolite-agent $(BIN)/linux-amd64 $(BIN)/images

.PHONY: help
help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'
