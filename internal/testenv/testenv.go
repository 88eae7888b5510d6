// Package testenv lets tests ask for the real components they need (LLVM 19,
// bpftool, the kernel's BPF system call) and decides what happens when one is
// missing: locally the test is skipped with a loud reason; in CI, or whenever
// BPFSTAR_REQUIRE_ALL=1 is set, the test fails instead, so that a missing
// install step can never turn into a silently green run.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether missing components fail tests instead of skipping
// them. It is true when BPFSTAR_REQUIRE_ALL=1, which `make test` sets in CI.
func Strict() bool { return os.Getenv("BPFSTAR_REQUIRE_ALL") == "1" }

// Missing skips or fails t, according to Strict, with the given reason.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if Strict() {
		t.Fatalf("REQUIRED COMPONENT MISSING (BPFSTAR_REQUIRE_ALL=1): %s", reason)
	}
	t.Skipf("SKIPPED, component missing: %s (run `make test` to install it)", reason)
}

// Tool returns the path of the named program, or skips or fails t when it
// is not installed.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed (Debian: apt-get install -y llvm-19 clang-19 bpftool)")
	}
	return p
}

// Root skips or fails t unless the test runs as root, which loading BPF
// programs, attaching them to cgroups and mounting bpffs need.
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "this test loads BPF programs into the kernel and must run as root")
	}
}
