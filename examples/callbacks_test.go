package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// callbacks.star: bpf_loop calls add_index 100 times (1 + ... + 100), and
// bpf_for_each_map_elem calls count_one for each of the array's 8
// elements.
var callbackResults = map[string]uint32{"sum_to_100": 5050, "count_items": 8}

func TestCallbacksRun(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "callbacks.star"))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	for name, want := range callbackResults {
		ret, err := coll.Programs[name].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ret != want {
			t.Errorf("%s returned %d, want %d", name, ret, want)
		}
	}
}

// libbpf relocates the callbacks' addresses too: bpftool prog run of the
// programs it loaded returns the same values.
func TestCallbacksBpftool(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildExample(t, "callbacks.star")
	progs := filepath.Join(testenv.PinDir(t), "progs")
	if out, err := exec.Command(bpftool, "prog", "loadall", obj, progs).CombinedOutput(); err != nil {
		t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "packet")
	if err := os.WriteFile(data, make([]byte, 64), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, want := range callbackResults {
		out, err := exec.Command(bpftool, "prog", "run", "pinned", filepath.Join(progs, name), "data_in", data).CombinedOutput()
		if err != nil {
			t.Fatalf("bpftool prog run %s: %v\n%s", name, err, out)
		}
		if w := "Return value: " + strconv.FormatUint(uint64(want), 10); !strings.Contains(string(out), w) {
			t.Errorf("bpftool prog run %s:\n%s\nwant %q", name, out, w)
		}
	}
}
