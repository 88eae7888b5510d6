#!/bin/sh
# bench/run.sh (make bench): builds bpfstar, generates the benchmark inputs,
# runs bpfstar against llvm-mc-19 (1k..1M instructions, code bytes compared)
# and clang-19 (the examples and their C equivalents in bench/c), and prints
# the tables of docs/perf.md. Arguments go to the runner, e.g.
#   bench/run.sh -runs 10 -sizes 1000000
# Then the in-process Go benchmarks:
#   go test -run '^$' -bench . -benchmem ./bench
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
$GO build -o bin/bpfstar ./cmd/bpfstar
for tool in llvm-mc-19 clang-19; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed (make test-deps installs it)" >&2; exit 1; }
done
# Peak RSS is read through GNU time (see docs/perf.md): without it each
# child would report at least the runner's own memory.
[ -x /usr/bin/time ] || { echo "bench: GNU time is not installed (apt-get install -y time)" >&2; exit 1; }
$GO run ./bench/runner -bpfstar bin/bpfstar "$@"
