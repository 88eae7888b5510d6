package examples_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// tail_call.star: cilium/ebpf fills the prog_array from the object, and
// the tail call through it returns the tail-called program's 42.
func TestTailCallRun(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "tail_call.star"))
	if err != nil {
		t.Fatal(err)
	}
	m := spec.Maps["jump_table"]
	if len(m.Contents) != 1 || m.Contents[0].Key != uint32(1) || m.Contents[0].Value != "answer" {
		t.Errorf("jump_table contents %v, want [{1 answer}]", m.Contents)
	}
	coll := testenv.Collection(t, spec)
	ret, err := coll.Programs["dispatch"].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if ret != 42 {
		t.Errorf("dispatch returned %d, want 42 (answer's, through the tail call)", ret)
	}
}

// map_in_map.star: the outer map holds the inner one from the object; what
// user space writes into the inner map, the program reads through the
// outer one.
func TestMapInMapRun(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "map_in_map.star"))
	if err != nil {
		t.Fatal(err)
	}
	outer := spec.Maps["tables"]
	if outer.InnerMap == nil || outer.InnerMap.Type != ebpf.Array || outer.InnerMap.ValueSize != 4 || outer.InnerMap.MaxEntries != 1 {
		t.Errorf("tables: inner map %+v, want an array of one u32", outer.InnerMap)
	}
	if len(outer.Contents) != 1 || outer.Contents[0].Key != uint32(0) || outer.Contents[0].Value != "settings" {
		t.Errorf("tables contents %v, want [{0 settings}]", outer.Contents)
	}
	coll := testenv.Collection(t, spec)
	if err := coll.Maps["settings"].Put(uint32(0), uint32(1234)); err != nil {
		t.Fatal(err)
	}
	ret, err := coll.Programs["read_setting"].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if ret != 1234 {
		t.Errorf("read_setting returned %d, want 1234 (settings[0], through tables[0])", ret)
	}
	var id uint32
	if err := coll.Maps["tables"].Lookup(uint32(0), &id); err != nil {
		t.Fatal(err)
	}
	info, err := coll.Maps["settings"].Info()
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := info.ID(); ebpf.MapID(id) != want {
		t.Errorf("tables[0] holds map id %d, want settings' %d", id, want)
	}
}

// libbpf (bpftool prog loadall) fills both maps from the object too: the
// prog_array holds the program's id at key 1, the array of maps the inner
// map's id at key 0, and a value bpftool writes into the inner map is what
// the program reads through the outer one. The maps are pinned: a prog_array no file descriptor
// holds any more is emptied by the kernel.
func TestMapValuesBpftool(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	for _, c := range []struct {
		file, outer, inner, key string
		isProg                  bool
	}{
		{"tail_call.star", "jump_table", "answer", "01 00 00 00", true},
		{"map_in_map.star", "tables", "settings", "00 00 00 00", false},
	} {
		t.Run(c.file, func(t *testing.T) {
			obj := buildExample(t, c.file)
			dir := testenv.PinDir(t)
			progs, maps := filepath.Join(dir, "progs"), filepath.Join(dir, "maps")
			if out, err := exec.Command(bpftool, "prog", "loadall", obj, progs, "pinmaps", maps).CombinedOutput(); err != nil {
				t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
			}
			out, err := exec.Command(bpftool, "map", "dump", "pinned", filepath.Join(maps, c.outer)).CombinedOutput()
			if err != nil {
				t.Fatalf("bpftool map dump: %v\n%s", err, out)
			}
			var id uint32
			if c.isProg {
				p, err := ebpf.LoadPinnedProgram(filepath.Join(progs, c.inner), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer p.Close()
				info, err := p.Info()
				if err != nil {
					t.Fatal(err)
				}
				pid, _ := info.ID()
				id = uint32(pid)
			} else {
				m, err := ebpf.LoadPinnedMap(filepath.Join(maps, c.inner), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				info, err := m.Info()
				if err != nil {
					t.Fatal(err)
				}
				mid, _ := info.ID()
				id = uint32(mid)
			}
			var v [4]byte
			binary.LittleEndian.PutUint32(v[:], id)
			want := "key: " + c.key + "  value: " + hexBytes(v[:])
			if !strings.Contains(string(out), want) || !strings.Contains(string(out), "Found 1 element") {
				t.Errorf("bpftool map dump of %s:\n%s\nwant one element %q", c.outer, out, want)
			}
			// The tail call goes through the filled prog_array; what
			// bpftool writes into the inner map, the program reads through
			// the outer one.
			run, want := "dispatch", "Return value: 42,"
			if !c.isProg {
				if out, err := exec.Command(bpftool, "map", "update", "pinned", filepath.Join(maps, c.inner), "key", "0", "0", "0", "0", "value", "0xd2", "0x04", "0", "0").CombinedOutput(); err != nil {
					t.Fatalf("bpftool map update: %v\n%s", err, out)
				}
				run, want = "read_setting", "Return value: 1234,"
			}
			data := filepath.Join(t.TempDir(), "packet")
			if err := os.WriteFile(data, make([]byte, 64), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err = exec.Command(bpftool, "prog", "run", "pinned", filepath.Join(progs, run), "data_in", data).CombinedOutput()
			if err != nil || !strings.Contains(string(out), want) {
				t.Errorf("bpftool prog run %s: %v\n%s\nwant %q", run, err, out, want)
			}
		})
	}
}

// hexBytes spells bytes as bpftool map dump does: "1a 42 00 00".
func hexBytes(b []byte) string {
	var s []string
	for _, x := range b {
		s = append(s, fmt.Sprintf("%02x", x))
	}
	return strings.Join(s, " ")
}
