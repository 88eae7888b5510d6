package examples_test

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// The maps with contents of tail_call.star and map_in_map.star are laid
// out as clang-19 lays out the same C: each map symbol's size, and the
// relocations of its values (the offset in the map, the symbol named);
// cilium/ebpf reads the same contents and inner map from both.
func TestMapValuesLikeClang(t *testing.T) {
	clang := testenv.Tool(t, "clang-19")
	const src = `
typedef unsigned int __u32;
__attribute__((section("xdp"), used)) int answer(void *ctx) { return 42; }
struct {
	int (*type)[3];
	int (*key_size)[4];
	int (*value_size)[4];
	int (*max_entries)[2];
	int (*values[])(void *);
} jump_table __attribute__((section(".maps"), used)) = { .values = { [1] = (void *)&answer } };
struct settings_def {
	int (*type)[2];
	__u32 *key;
	__u32 *value;
	int (*max_entries)[1];
} settings __attribute__((section(".maps"), used));
struct {
	int (*type)[12];
	__u32 *key;
	int (*value_size)[4];
	int (*max_entries)[4];
	struct settings_def *values[];
} tables __attribute__((section(".maps"), used)) = { .values = { &settings } };
char _license[] __attribute__((section("license"), used)) = "GPL";
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "values.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, "values.o")
	if out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-c", "-o", theirs, filepath.Join(dir, "values.c")).CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	clangMaps := mapValueRelocs(t, theirs)
	for _, c := range []struct{ file, m string }{{"tail_call.star", "jump_table"}, {"map_in_map.star", "tables"}} {
		ours := buildExample(t, c.file)
		got, want := mapValueRelocs(t, ours)[c.m], clangMaps[c.m]
		if !slices.Equal(got, want) {
			t.Errorf("%s: bpfstar %q, clang %q", c.m, got, want)
		}
		t.Logf("%s: %q", c.m, got)
		o, err := ebpf.LoadCollectionSpec(ours)
		if err != nil {
			t.Fatal(err)
		}
		th, err := ebpf.LoadCollectionSpec(theirs)
		if err != nil {
			t.Fatal(err)
		}
		om, tm := o.Maps[c.m], th.Maps[c.m]
		if fmt.Sprint(om.Contents) != fmt.Sprint(tm.Contents) || om.KeySize != tm.KeySize || om.ValueSize != tm.ValueSize || (om.InnerMap == nil) != (tm.InnerMap == nil) {
			t.Errorf("%s: bpfstar %+v, clang %+v", c.m, om, tm)
		}
		if om.InnerMap != nil && (om.InnerMap.Type != tm.InnerMap.Type || om.InnerMap.KeySize != tm.InnerMap.KeySize || om.InnerMap.ValueSize != tm.InnerMap.ValueSize || om.InnerMap.MaxEntries != tm.InnerMap.MaxEntries) {
			t.Errorf("%s: inner map: bpfstar %+v, clang %+v", c.m, om.InnerMap, tm.InnerMap)
		}
	}
}

// mapValueRelocs describes each map of an object by its symbol's size and
// the relocations in it: "size 40", "+32 answer".
func mapValueRelocs(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	maps := f.Section(".maps")
	out := map[string][]string{}
	owner := func(off uint64) string {
		for _, s := range syms {
			if s.Section < elf.SHN_LORESERVE && f.Sections[s.Section] == maps && elf.ST_TYPE(s.Info) == elf.STT_OBJECT && off >= s.Value && off < s.Value+s.Size {
				return s.Name
			}
		}
		return ""
	}
	for _, s := range syms {
		if s.Section < elf.SHN_LORESERVE && f.Sections[s.Section] == maps && elf.ST_TYPE(s.Info) == elf.STT_OBJECT {
			out[s.Name] = append(out[s.Name], fmt.Sprintf("size %d", s.Size))
		}
	}
	rel := f.Section(".rel.maps")
	if rel == nil {
		return out
	}
	data, err := rel.Data()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+16 <= len(data); i += 16 {
		off := f.ByteOrder.Uint64(data[i:])
		info := f.ByteOrder.Uint64(data[i+8:])
		m := owner(off)
		var base uint64
		for _, s := range syms {
			if s.Name == m {
				base = s.Value
			}
		}
		out[m] = append(out[m], fmt.Sprintf("+%d %s type %d", off-base, syms[info>>32-1].Name, uint32(info)))
	}
	return out
}
