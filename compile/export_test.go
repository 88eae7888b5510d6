package compile_test

import (
	"bytes"
	"testing"

	"github.com/cilium/ebpf"
	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/compile"
)

// TestExportType: a type export_type names is in the object's BTF, as
// cilium/ebpf reads it (what gen go --type looks up), with its members;
// the standard library's ring buffer and perf event functions export
// their event structs; an object without export_type has neither.
func TestExportType(t *testing.T) {
	const src = `
load("@std//bpf.star", "frame", "perf_event_output", "ret", "ringbuf_event")
ev = types.struct("ring_ev", [("pid", types.u32), ("len", types.u16)])
pev = types.struct("perf_ev", [("n", types.u64)])
kind = export_type(types.enum("kind", [("A", 1), ("B", 2)]))
rb = bpf_map("rb", "ringbuf", max_entries = 4096)
pa = bpf_map("pa", "perf_event_array", key_size = 4, value_size = 4, max_entries = 0)
f = frame()
e = f.slot("e", pev)
section("xdp", "p", [
    insn.mov64_reg(r6, r1),
    ringbuf_event(rb, ev, "full", pid = 1, len = 2),
    label("full"),
    f.zero(e),
    perf_event_output(r6, pa, e),
    ret(2),
])
license("GPL")
`
	obj, err := compile.Source("export.star", []byte(src), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	var ring *cbtf.Struct
	if err := spec.Types.TypeByName("ring_ev", &ring); err != nil {
		t.Fatalf("ring_ev: %v", err)
	}
	if len(ring.Members) != 2 || ring.Members[1].Name != "len" || ring.Members[1].Offset != 32 || ring.Size != 8 {
		t.Errorf("ring_ev = %+v", ring)
	}
	var perf *cbtf.Struct
	if err := spec.Types.TypeByName("perf_ev", &perf); err != nil {
		t.Fatalf("perf_ev: %v", err)
	}
	var enum *cbtf.Enum
	if err := spec.Types.TypeByName("kind", &enum); err != nil || len(enum.Values) != 2 {
		t.Fatalf("kind: %v %+v", err, enum)
	}

	plain, err := compile.Source("plain.star", []byte(`
ev = types.struct("ring_ev", [("pid", types.u32)])
section("xdp", "p", [insn.mov64_imm(r0, 2), exit()])
`), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err = ebpf.LoadCollectionSpecFromReader(bytes.NewReader(plain))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Types.TypeByName("ring_ev", &ring); err == nil {
		t.Errorf("ring_ev is in the BTF of a program that does not export it")
	}
}
