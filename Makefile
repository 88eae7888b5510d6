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
	$(MAKE) fuzz

# Runs each fuzz target briefly (FUZZTIME each, 5s by default: about 30s in
# all) on top of its seed corpus in testdata/fuzz. See docs/fuzzing.md to
# run them longer.
FUZZTIME ?= 5s
FUZZ_TARGETS = FuzzDecodeEncode:./isa FuzzObject:./disasm FuzzCode:./disasm \
	FuzzBuiltins:./starlib FuzzBuild:./build
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} ($(FUZZTIME))"; \
		$(GO) test -run='^$$' -fuzz="^$${t%%:*}\$$" -fuzztime=$(FUZZTIME) $${t#*:}; \
	done

test-deps:
	./scripts/test-deps.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

# Builds bpfstar and times it, as real processes, against llvm-mc-19 (1k to
# 1M instructions, code bytes compared) and clang-19 (the examples), then
# runs the in-process Go benchmarks. See docs/perf.md.
bench:
	./bench/run.sh
	$(GO) test -run='^$$' -bench=. -benchmem ./bench
