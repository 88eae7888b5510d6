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

# Runs each fuzz target briefly on top of its seed corpus in testdata/fuzz:
# a number of executions per target (about 10 s in all), not
# a duration, because Go 1.26's fuzz coordinator can fail a duration-bound
# run with a spurious "context deadline exceeded" when the time runs out
# (golang/go#75804, fixed in Go 1.27). FUZZTIME=1m (or 100000x) overrides
# the budget of every target. See docs/fuzzing.md to run them longer.
FUZZTIME ?=
FUZZ_TARGETS = FuzzDecodeEncode:./isa:15000x FuzzParse:./isa:10000x FuzzObject:./disasm:10000x \
	FuzzCode:./disasm:30000x FuzzBuiltins:./starlib:15000x FuzzBuild:./compile:10000x \
	FuzzRead:./objreader:10000x FuzzBuildFile:./workspace:5000x FuzzParse:./btffile:20000x \
	FuzzRun:./vm:20000x FuzzObject:./vm:10000x
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; rest=$${t#*:}; pkg=$${rest%%:*}; budget=$${rest#*:}; \
		budget=$${FUZZTIME:-$$budget}; \
		echo "fuzz $$name ($$budget)"; \
		$(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$$budget $$pkg; \
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
