# bpfstar: `make test` is what CI runs.

GO ?= go

.PHONY: build test test-deps fuzz bench fmt

build:
	$(GO) build -o bin/bpfstar ./cmd/bpfstar

# Installs LLVM 19, clang 19, bpftool and libbpf headers when missing, mounts
# bpffs, then runs every test with BPFSTAR_REQUIRE_ALL=1: a test whose
# component is missing fails instead of skipping.
test: test-deps
	$(GO) vet ./...
	BPFSTAR_REQUIRE_ALL=1 $(GO) test -count=1 ./...

test-deps:
	./scripts/test-deps.sh

fmt:
	gofmt -w $$(git ls-files '*.go')
