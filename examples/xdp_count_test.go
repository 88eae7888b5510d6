package examples_test

import (
	"bytes"
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// xdp_count.star runs in the kernel through BPF_PROG_TEST_RUN: it passes a
// 64-byte packet and counts it in its map and its .bss; with min_len (in
// .data) raised above the packet's length it drops the packet instead.
func TestXDPCountRun(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "xdp_count.star"))
	if err != nil {
		t.Fatal(err)
	}
	var objs struct {
		Prog  *ebpf.Program `ebpf:"xdp_count"`
		Stats *ebpf.Map     `ebpf:"stats"`
		Data  *ebpf.Map     `ebpf:".data"`
		BSS   *ebpf.Map     `ebpf:".bss"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Prog.Close()
	defer objs.Stats.Close()
	defer objs.Data.Close()
	defer objs.BSS.Close()

	run := func(want uint32) {
		t.Helper()
		ret, err := objs.Prog.Run(&ebpf.RunOptions{Data: make([]byte, 64)})
		if err != nil {
			t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
		}
		if ret != want {
			t.Errorf("xdp_count returned %d, want %d", ret, want)
		}
	}
	check := func(packets, bytes, seen uint64) {
		t.Helper()
		var got [2]uint64
		for i := range got {
			if err := objs.Stats.Lookup(uint32(i), &got[i]); err != nil {
				t.Fatal(err)
			}
		}
		if got != [2]uint64{packets, bytes} {
			t.Errorf("stats = %v, want [%d %d]", got, packets, bytes)
		}
		var bss uint64
		if err := objs.BSS.Lookup(uint32(0), &bss); err != nil {
			t.Fatal(err)
		}
		if bss != seen {
			t.Errorf(".bss seen = %d, want %d", bss, seen)
		}
	}

	run(2) // XDP_PASS, from .rodata
	check(1, 64, 1)
	run(2)
	check(2, 128, 2)

	// min_len lives in .data: raise it past the packet's length.
	var data [4]byte
	binary.LittleEndian.PutUint32(data[:], 100)
	if err := objs.Data.Update(uint32(0), data[:], ebpf.UpdateExist); err != nil {
		t.Fatal(err)
	}
	run(1) // XDP_DROP
	check(2, 128, 3)
}

// The BTF reads back through both BTF parsers: bpftool's (libbpf) and
// cilium/ebpf's, including the line info that points at the .star file.
func TestXDPCountBTF(t *testing.T) {
	obj := buildExample(t, "xdp_count.star")

	spec, err := btf.LoadSpec(obj)
	if err != nil {
		t.Fatalf("cilium btf.LoadSpec: %v", err)
	}
	for _, name := range []string{"xdp_count", "packet_length", "add", "account"} {
		var fn *btf.Func
		if err := spec.TypeByName(name, &fn); err != nil {
			t.Errorf("FUNC %s: %v", name, err)
		}
	}
	for _, name := range []string{".maps", ".rodata", ".data", ".bss"} {
		var ds *btf.Datasec
		if err := spec.TypeByName(name, &ds); err != nil {
			t.Errorf("DATASEC %s: %v", name, err)
		}
	}

	cs, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	ins := cs.Programs["xdp_count"].Instructions
	src, ok := ins[0].Source().(*btf.Line)
	if !ok {
		t.Fatalf("first instruction has no line info: %v", ins[0].Source())
	}
	if src.FileName() != "examples/xdp_count.star" || !strings.Contains(src.Line(), "insn.ld_map_value(r2, seen)") {
		t.Errorf("line info of instruction 0 = %q %q:%d", src.FileName(), src.Line(), src.LineNumber())
	}

	bpftool := testenv.Tool(t, "bpftool")
	out, err := exec.Command(bpftool, "btf", "dump", "file", obj).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool btf dump file: %v\n%s", err, out)
	}
	for _, want := range []string{
		"[5] STRUCT 'xdp_md' size=24 vlen=6\n\t'data' type_id=4 bits_offset=0\n\t'data_end' type_id=4 bits_offset=32",
		"[6] PTR '(anon)' type_id=5\n[7] FUNC_PROTO '(anon)' ret_type_id=1 vlen=1\n\t'ctx' type_id=6",
		"FUNC 'xdp_count' type_id=7 linkage=global",
		"FUNC 'add' type_id=9 linkage=static",
		"VAR 'stats' type_id=21, linkage=global",
		"DATASEC '.rodata' size=4 vlen=1",
		"type_id=31 offset=0 size=8 (VAR 'seen')",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("bpftool btf dump lacks %q:\n%s", want, out)
		}
	}
}

// Loaded by libbpf, the program's translated instructions carry the .star
// lines: bpftool prog dump xlated ... linum.
func TestXDPCountLinum(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildExample(t, "xdp_count.star")
	pins := filepath.Join(testenv.PinDir(t), "progs")
	if out, err := exec.Command(bpftool, "prog", "loadall", obj, pins).CombinedOutput(); err != nil {
		t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
	}
	out, err := exec.Command(bpftool, "prog", "dump", "xlated", "pinned", filepath.Join(pins, "xdp_count"), "linum").CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool prog dump xlated: %v\n%s", err, out)
	}
	for _, want := range []string{
		`; insn.ld_map_value(r2, seen), [file:examples/xdp_count.star line_num:53 line_col:22]`,
		`; insn.call("map_lookup_elem"), [file:examples/xdp_count.star line_num:32 line_col:14]`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("bpftool prog dump xlated linum lacks %q:\n%s", want, out)
		}
	}
	if n := len(regexp.MustCompile(`file:examples/xdp_count\.star line_num:\d+`).FindAll(out, -1)); n < 30 {
		t.Errorf("only %d instructions carry .star lines:\n%s", n, out)
	}
}
