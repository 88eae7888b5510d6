package compile

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
)

// mapArgs gives each map type arguments its kernel accepts:
// key_size, value_size, max_entries and the optional keywords (the types
// without keys or values leave their sizes out).
var mapArgs = map[string]string{
	"ringbuf":               "max_entries = 4096", // key_size and value_size left out: 0
	"user_ringbuf":          "max_entries = 4096",
	"arena":                 "max_entries = 4, flags = 1024, map_extra = 0x40000000",
	"queue":                 "value_size = 8, max_entries = 4", // key_size left out: 0
	"stack":                 "value_size = 8, max_entries = 4",
	"bloom_filter":          "value_size = 8, max_entries = 4, map_extra = 3",
	"prog_array":            "4, 4, 4",
	"cgroup_array":          "4, 4, 4",
	"xskmap":                "4, 4, 4",
	"perf_event_array":      "4, 4, 4",
	"devmap":                "4, 4, 4",
	"devmap_hash":           "4, 4, 4",
	"cpumap":                "4, 4, 4",
	"sockmap":               "4, 4, 4",
	"sockhash":              "4, 4, 4",
	"reuseport_sockarray":   "4, 4, 4",
	"lpm_trie":              "8, 8, 4, flags = 1",
	"sk_storage":            "4, 8, 0, flags = 1",
	"inode_storage":         "4, 8, 0, flags = 1",
	"task_storage":          "4, 8, 0, flags = 1",
	"cgrp_storage":          "4, 8, 0, flags = 1",
	"cgroup_storage":        "16, 8, 0",
	"percpu_cgroup_storage": "16, 8, 0",
	"stack_trace":           "4, 64, 4",
	// maps of maps hold the map i, their inner template, from the object
	"array_of_maps": "4, 4, 4, inner = i, values = [None, i]",
	"hash_of_maps":  "4, 4, 4, inner = i, values = [i]",
}

// mapPrelude declares what a type's arguments refer to.
var mapPrelude = map[string]string{
	"array_of_maps": "i = bpf_map(\"i\", \"array\", 4, 8, 1)\n",
	"hash_of_maps":  "i = bpf_map(\"i\", \"hash\", 4, 8, 4)\n",
}

// unsupported map types are refused by bpf_map() at build time with a
// clear error: struct_ops maps are declared with struct_ops().
var unsupported = map[string]bool{"struct_ops": true}

// Every map type bpf_map() accepts makes an object whose map the kernel
// creates, through both loaders: the BTF map definition carries what each
// type needs (typed key and value for local storage, map_extra for arenas
// and bloom filters).
func TestMapTypesLoad(t *testing.T) {
	testenv.Root(t)
	bpftool := testenv.Tool(t, "bpftool")
	for _, typ := range starlib.MapTypeNames() {
		t.Run(typ, func(t *testing.T) {
			args, ok := mapArgs[typ]
			if !ok {
				args = "4, 8, 4"
			}
			src := mapPrelude[typ] + fmt.Sprintf("m = bpf_map(\"m\", %q, %s)\n"+
				"section(\"socket\", \"p\", [insn.ld_map_fd(r1, m), insn.mov64_imm(r0, 0), exit()])\n"+
				"license(\"GPL\")\n", typ, args)
			obj, err := Source("maps.star", []byte(src), Options{})
			if unsupported[typ] {
				if err == nil || !strings.Contains(err.Error(), "with struct_ops(name, type, members), not bpf_map") {
					t.Fatalf("want an error that names struct_ops(), got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}

			spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
			if err != nil {
				t.Fatalf("cilium/ebpf: %v", err)
			}
			testenv.Collection(t, spec)

			path := filepath.Join(t.TempDir(), "maps.o")
			if err := os.WriteFile(path, obj, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bpftool, "prog", "loadall", path, filepath.Join(testenv.PinDir(t), "p")).CombinedOutput()
			if err != nil || bytes.Contains(out, []byte("BTF loading error")) {
				t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
			}
		})
	}
}

// Every map type bpf_map() accepts as the inner template of a map of maps
// (with itself as the entry) makes an object whose maps the kernel
// creates; the others are refused at build time. (The kernel refuses
// prog_array and the cgroup storages as inner maps.)
func TestInnerMapTypes(t *testing.T) {
	testenv.Root(t)
	for _, typ := range starlib.MapTypeNames() {
		t.Run(typ, func(t *testing.T) {
			args, ok := mapArgs[typ]
			if !ok {
				args = "4, 8, 4"
			}
			src := mapPrelude[typ] + fmt.Sprintf("m = bpf_map(\"m\", %q, %s)\n", typ, args) +
				"o = bpf_map(\"o\", \"array_of_maps\", 4, max_entries = 1, inner = m, values = [m])\n" +
				"section(\"socket\", \"p\", [insn.ld_map_fd(r1, o), insn.mov64_imm(r0, 0), exit()])\n" +
				"license(\"GPL\")\n"
			obj, err := Source("maps.star", []byte(src), Options{})
			if err != nil {
				for _, refusal := range []string{"does not put in maps of maps", "does not nest maps of maps", "with struct_ops(name, type, members), not bpf_map"} {
					if strings.Contains(err.Error(), refusal) {
						return
					}
				}
				t.Fatal(err)
			}
			spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
			if err != nil {
				t.Fatalf("cilium/ebpf: %v", err)
			}
			testenv.Collection(t, spec)
		})
	}
}
