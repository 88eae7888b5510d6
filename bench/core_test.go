package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// coreWorkdir makes the CO-RE benchmark's inputs in a temporary
// directory: core/task_info.star and core/task_info.c, a copy of the
// running kernel's BTF as vmlinux.btf and the vmlinux.h bpftool makes of
// it. Nothing of the 5.5 MB file is in the repository.
func coreWorkdir(t *testing.T) string {
	t.Helper()
	vmlinux, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	bpftool := testenv.Tool(t, "bpftool")
	dir := t.TempDir()
	for _, name := range []string{"task_info.star", "task_info.c"} {
		data, err := os.ReadFile(filepath.Join("core", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "vmlinux.btf"), vmlinux, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := exec.Command(bpftool, "btf", "dump", "file", filepath.Join(dir, "vmlinux.btf"), "format", "c").Output()
	if err != nil {
		t.Fatalf("bpftool btf dump: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vmlinux.h"), h, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// coreRelos lists the CO-RE relocations llvm-objdump-19 -dr shows in an
// object: kind, type and access, sorted.
func coreRelos(t *testing.T, obj string) []string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "llvm-objdump-19"), "-dr", obj).Output()
	if err != nil {
		t.Fatalf("llvm-objdump-19 -dr %s: %v", obj, err)
	}
	var relos []string
	for _, l := range strings.Split(string(out), "\n") {
		if _, r, ok := strings.Cut(l, "CO-RE "); ok {
			// Without the type's ID and the access string, whose
			// indexes are into clang's whole task_struct and into
			// bpfstar's of the members used: "<byte_off>
			// struct task_struct::tgid".
			f := strings.Fields(r)
			if n := len(f); strings.HasPrefix(f[n-1], "(") {
				f = f[:n-1]
			}
			relos = append(relos, f[0]+" "+strings.Join(f[2:], " "))
		}
	}
	slices.Sort(relos)
	return relos
}

// TestCoreAgainstClang builds the CO-RE benchmark program with bpfstar
// (against the 5.5 MB vmlinux BTF) and its C with clang-19 (against
// vmlinux.h): both objects carry the same CO-RE relocations, and bpfstar
// takes at most 0.05 of clang's wall time (the goal; the best of
// five to twenty runs each, taken in turn, so that the other work of a
// shared machine counts less).
func TestCoreAgainstClang(t *testing.T) {
	clang, _ := testenv.ClangBPF(t)
	dir := coreWorkdir(t)
	bin := filepath.Join(t.TempDir(), "bpfstar")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/bpfstar").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ours, theirs := filepath.Join(dir, "task_info.bpfstar.o"), filepath.Join(dir, "task_info.clang.o")
	run := func(argv ...string) time.Duration {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		return time.Since(start)
	}
	ourArgs := []string{bin, "build", "-o", ours, "task_info.star"}
	clangArgs := []string{clang, "-target", "bpf", "-mcpu=v4", "-O2", "-g", "-c", "task_info.c", "-o", theirs}
	run(ourArgs...) // the first runs warm the page cache
	run(clangArgs...)
	// The two are measured in turn, and the fastest of each compared
	// (noise only adds time): 5 rounds, and up to 20 while the fastest
	// compare past the goal, as on a machine busy with other tests (make
	// test runs two packages at once here), where a side can go five
	// rounds without a quiet moment.
	b, c := time.Duration(1<<62), time.Duration(1<<62)
	for i := 0; i < 5 || i < 20 && float64(b) > 0.05*float64(c); i++ {
		b = min(b, run(ourArgs...))
		c = min(c, run(clangArgs...))
	}
	ratio := float64(b) / float64(c)
	t.Logf("bpfstar %v, clang-19 %v: %.3f of clang's time", b, c, ratio)
	if ratio > 0.05 {
		t.Errorf("bpfstar took %.3f of clang-19's wall time (%v against %v), goal 0.05 (timing: rerun alone on a loaded machine)", ratio, b, c)
	}
	got, want := coreRelos(t, ours), coreRelos(t, theirs)
	if !slices.Equal(got, want) || len(want) != 10 {
		t.Errorf("CO-RE relocations:\nbpfstar  %q\nclang-19 %q", got, want)
	}
}
