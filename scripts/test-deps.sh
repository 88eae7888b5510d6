#!/usr/bin/env bash
# Installs what the test suite needs and mounts the BPF filesystem.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

need=()
command -v llvm-mc-19 >/dev/null      || need+=(llvm-19)
command -v clang-19 >/dev/null        || need+=(clang-19)
command -v bpftool >/dev/null         || need+=(bpftool)
[ -f /usr/include/bpf/bpf_helper_defs.h ] || need+=(libbpf-dev)
command -v ninja >/dev/null            || need+=(ninja-build)
command -v bazel >/dev/null            || need+=(bazel-bootstrap)
command -v genhtml >/dev/null          || need+=(lcov)

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! mountpoint -q /sys/fs/bpf; then
  echo "test-deps: mounting bpffs at /sys/fs/bpf"
  $sudo mkdir -p /sys/fs/bpf
  $sudo mount -t bpf bpf /sys/fs/bpf
fi
