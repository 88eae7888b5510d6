// Package testenv lets tests ask for the real components they need (LLVM 19,
// bpftool, the kernel's BPF system call) and decides what happens when one is
// missing: locally the test is skipped with a loud reason; in CI, or whenever
// BPFSTAR_REQUIRE_ALL=1 is set, the test fails instead, so that a missing
// install step can never turn into a silently green run.
package testenv

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
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

// PinDir returns a fresh, uniquely named directory on the BPF filesystem at
// /sys/fs/bpf for the test's pins; it is removed, with everything pinned in
// it, when the test ends. It skips or fails t when bpffs is not mounted.
func PinDir(t testing.TB) string {
	t.Helper()
	Root(t)
	if !isFS("/sys/fs/bpf", fsBPF) {
		Missing(t, "bpffs is not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)")
	}
	dir, err := os.MkdirTemp("/sys/fs/bpf", "bpfstar-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("cleaning up pins: %v", err)
		}
	})
	return dir
}

// Cgroup creates a fresh, uniquely named cgroup v2 under
// /sys/fs/cgroup/unified (or /sys/fs/cgroup when that is the v2 root) and
// removes it when the test ends.
func Cgroup(t testing.TB) string {
	t.Helper()
	Root(t)
	var root string
	for _, dir := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if isFS(dir, fsCgroup2) {
			root = dir
			break
		}
	}
	if root == "" {
		Missing(t, "no cgroup v2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup")
	}
	dir, err := os.MkdirTemp(root, "bpfstar-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing cgroup: %v", err)
		}
	})
	return dir
}

// Collection loads spec into the kernel through cilium/ebpf (Root first)
// and closes it when the test ends. A verifier rejection fails the test
// with the verifier's log.
func Collection(t testing.TB, spec *ebpf.CollectionSpec) *ebpf.Collection {
	t.Helper()
	Root(t)
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			t.Fatalf("verifier: %+v", ve)
		}
		t.Fatal(err)
	}
	t.Cleanup(coll.Close)
	return coll
}

// ClangBPF returns the path of clang-19 and the multiarch include
// directory (such as /usr/include/x86_64-linux-gnu, where <asm/types.h>
// lives), which clang -target bpf does not search: pass it with -I. Each
// of headers must exist; a missing one is Missing, with the Debian
// packages that bring it.
func ClangBPF(t testing.TB, headers ...string) (clang, include string) {
	t.Helper()
	clang = Tool(t, "clang-19")
	for _, h := range headers {
		if _, err := os.Stat(h); err != nil {
			Missing(t, h+" is missing (Debian: apt-get install -y libbpf-dev linux-libc-dev)")
		}
	}
	asm, _ := filepath.Glob("/usr/include/*/asm/types.h")
	if len(asm) == 0 {
		Missing(t, "no /usr/include/*/asm/types.h (Debian: apt-get install -y linux-libc-dev)")
	}
	return clang, filepath.Dir(filepath.Dir(asm[0]))
}
