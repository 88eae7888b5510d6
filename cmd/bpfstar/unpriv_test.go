package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// asNobody writes the program file name with contents src into a fresh
// directory, and runs a freshly built bpfstar there, with args, as user
// nobody. Switching users needs root.
func asNobody(t *testing.T, name, src string, args ...string) ([]byte, error) {
	t.Helper()
	testenv.Root(t)
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // reachable by nobody
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "bpfstar")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	return cmd.CombinedOutput()
}

// Without the privileges to load programs, bpfstar verify says so in one
// sentence and exits 1. The program is an XDP program, which needs
// CAP_BPF and CAP_NET_ADMIN whatever kernel.unprivileged_bpf_disabled says.
func TestVerifyUnprivileged(t *testing.T) {
	out, err := asNobody(t, "p.star", "section(\"xdp\", \"p\", [insn.mov64_imm(r0, 0), exit()])\n", "verify", "p.star")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1\n%s", err, out)
	}
	want := "loading BPF programs needs root (or CAP_BPF with CAP_PERFMON, CAP_NET_ADMIN or CAP_SYS_ADMIN as the program type requires)\n"
	if string(out) != want {
		t.Errorf("output = %q, want %q", out, want)
	}
}

// Without the privileges to load programs, bpfstar test runs the cases in
// the interpreter, and says so; with --engine kernel it runs none and
// passes none: each is skipped with the reason, and the summary counts
// them as skipped.
func TestTestUnprivileged(t *testing.T) {
	src := "section(\"xdp\", \"p\", [insn.mov64_imm(r0, 2), exit()])\n" +
		"test(\"passes\", \"p\", data = udp4(), want_retval = \"XDP_PASS\")\n"
	out, err := asNobody(t, "p_test.star", src, "test", "p_test.star")
	if err != nil {
		t.Fatalf("exit: %v, want status 0\n%s", err, out)
	}
	want := "engine: vm (bpfstar's interpreter)\n1 passed, 0 failed\n"
	if string(out) != want {
		t.Errorf("output = %q, want %q", out, want)
	}
	out, err = asNobody(t, "p_test.star", src, "test", "--engine", "kernel", "p_test.star")
	if err != nil {
		t.Fatalf("exit: %v, want status 0\n%s", err, out)
	}
	want = "p_test.star:2:5: SKIP passes: not run: loading BPF programs needs root (or CAP_BPF with CAP_PERFMON, CAP_NET_ADMIN or CAP_SYS_ADMIN as the program type requires)\n" +
		"engine: kernel (BPF_PROG_TEST_RUN)\n0 passed, 0 failed, 1 skipped\n"
	if string(out) != want {
		t.Errorf("output = %q, want %q", out, want)
	}
}

// Without the privileges to load programs, bpfstar run runs the program
// in the interpreter.
func TestRunUnprivileged(t *testing.T) {
	// A syscall program: it takes no packet (an XDP program needs 14
	// bytes at least, on either engine).
	out, err := asNobody(t, "p.star", "section(\"syscall\", \"p\", [insn.mov64_imm(r0, 1), exit()])\n", "run", "p.star")
	if err != nil {
		t.Fatalf("exit: %v, want status 0\n%s", err, out)
	}
	want := "retval=1\ninsns=2\nengine=vm\n"
	if string(out) != want {
		t.Errorf("output = %q, want %q", out, want)
	}
}
