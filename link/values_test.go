package link

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// What the loaders do with a values member on a map that is neither a
// prog_array nor a map of maps (which bpf_map() refuses): a plain array
// whose values member points at programs, the only kind of entry a
// .values initialiser can hold besides maps. Both loaders refuse the
// object: libbpf 1.1 and cilium/ebpf fill only those three map types from
// an object, so an array's initial data cannot be given this way.
func TestValuesOnPlainArrayRefused(t *testing.T) {
	u := unit()
	u.Maps[0].ValueSize = 4 // cilium/ebpf wants 4 with values
	u.Maps[0].Values = []string{"prog"}
	obj, err := linkBytes(t, u)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err == nil || !strings.Contains(err.Error(), "map needs to be a program array") {
		t.Errorf("cilium/ebpf: got %v, want 'map needs to be a program array'", err)
	}
	bpftool := testenv.Tool(t, "bpftool")
	path := filepath.Join(t.TempDir(), "values.o")
	if err := os.WriteFile(path, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bpftool, "prog", "loadall", path, filepath.Join(testenv.PinDir(t), "p")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "should be map-in-map or prog-array") {
		t.Errorf("bpftool prog loadall: %v\n%s\nwant a refusal: should be map-in-map or prog-array", err, out)
	}
}
