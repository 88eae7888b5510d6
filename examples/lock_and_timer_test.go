package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

const ebusy = 16

// lock_and_timer.star: the verifier accepts the spin lock and the timer
// (found through the maps' BTF value types); the counter counts under its
// lock, and the timer is initialised once.
func TestLockAndTimerRun(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "lock_and_timer.star"))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	run := func(name string) int32 {
		t.Helper()
		ret, err := coll.Programs[name].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return int32(ret)
	}
	for want := int32(1); want <= 3; want++ {
		if got := run("count_locked"); got != want {
			t.Errorf("count_locked returned %d, want %d", got, want)
		}
	}
	if got := run("init_timer"); got != 0 {
		t.Errorf("init_timer returned %d the first time, want 0", got)
	}
	if got := run("init_timer"); got != -ebusy {
		t.Errorf("init_timer returned %d the second time, want -EBUSY (%d)", got, -ebusy)
	}
}

// libbpf loads them too (bpftool prog loadall), and they run. The maps are
// pinned: bpf_timer_init refuses (-EPERM) a timer in a map that no file
// descriptor or pin of user space holds any more.
func TestLockAndTimerBpftool(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildExample(t, "lock_and_timer.star")
	dir := testenv.PinDir(t)
	progs := filepath.Join(dir, "progs")
	if out, err := exec.Command(bpftool, "prog", "loadall", obj, progs, "pinmaps", filepath.Join(dir, "maps")).CombinedOutput(); err != nil {
		t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "packet")
	if err := os.WriteFile(data, make([]byte, 64), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ prog, want string }{
		{"count_locked", "Return value: 1,"},
		{"count_locked", "Return value: 2,"},
		{"init_timer", "Return value: 0,"},
	} {
		out, err := exec.Command(bpftool, "prog", "run", "pinned", filepath.Join(progs, c.prog), "data_in", data).CombinedOutput()
		if err != nil {
			t.Fatalf("bpftool prog run %s: %v\n%s", c.prog, err, out)
		}
		if !strings.Contains(string(out), c.want) {
			t.Errorf("bpftool prog run %s:\n%s\nwant %q", c.prog, out, c.want)
		}
	}
}
