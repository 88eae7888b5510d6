package compile_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// tracepointContext is a tracepoint program that gives its context type,
// the kernel's struct of the raw_syscalls events, and one that does not.
const tracepointContext = `
k = btf_types(":vmlinux.btf")
ev = k.type("trace_event_raw_sys_enter")
section("tracepoint/raw_syscalls/sys_enter", "typed", [
    insn.ldx_mem("dw", r0, r1, types.offsetof(ev, "id")),
    insn.mov64_imm(r0, 0),
    exit(),
], ctx = ev)
section("tracepoint/raw_syscalls/sys_enter", "untyped", [
    insn.ldx_mem("dw", r0, r1, types.offsetof(ev, "id")),
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL")
`

// TestTracepointContext: a tracepoint program built with section(ctx =
// t) takes struct trace_event_raw_sys_enter * in its BTF prototype, laid
// out as the kernel's, and the kernel's verifier then knows its context's
// type: no "arg#0 reference type('UNKNOWN ')" line in its log, which the
// program without ctx still has.
func TestTracepointContext(t *testing.T) {
	vm := vmlinux(t)
	obj := buildCore(t, tracepointContext, map[string][]byte{":vmlinux.btf": vm})
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := cbtf.LoadSpecFromReader(bytes.NewReader(vm))
	if err != nil {
		t.Fatal(err)
	}
	var want *cbtf.Struct
	if err := kernel.TypeByName("trace_event_raw_sys_enter", &want); err != nil {
		t.Fatal(err)
	}
	for name, wantCtx := range map[string]string{"typed": "trace_event_raw_sys_enter", "untyped": ""} {
		f := cbtf.FuncMetadata(&spec.Programs[name].Instructions[0])
		if f == nil {
			t.Fatalf("%s: no BTF function", name)
		}
		proto := f.Type.(*cbtf.FuncProto)
		if len(proto.Params) != 1 {
			t.Fatalf("%s: %d parameters", name, len(proto.Params))
		}
		ptr, ok := proto.Params[0].Type.(*cbtf.Pointer)
		if !ok {
			t.Fatalf("%s: parameter %v", name, proto.Params[0].Type)
		}
		if wantCtx == "" {
			if _, ok := ptr.Target.(*cbtf.Void); !ok {
				t.Errorf("%s: context %v, want void *", name, ptr.Target)
			}
			continue
		}
		s, ok := ptr.Target.(*cbtf.Struct)
		if !ok || s.Name != wantCtx {
			t.Fatalf("%s: context %v, want struct %s *", name, ptr.Target, wantCtx)
		}
		if s.Size != want.Size {
			t.Errorf("%s: struct %s of %d bytes, the kernel's %d", name, wantCtx, s.Size, want.Size)
		}
		var id *cbtf.Member
		for i := range s.Members {
			if s.Members[i].Name == "id" {
				id = &s.Members[i]
			}
		}
		for _, m := range want.Members {
			if m.Name == "id" && (id == nil || id.Offset != m.Offset) {
				t.Errorf("%s: member id %+v, the kernel's at %d", name, id, m.Offset)
			}
		}
	}

	testenv.Root(t)
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelInstruction},
	})
	if err != nil {
		t.Fatalf("%+v", err)
	}
	defer coll.Close()
	for name, wantUnknown := range map[string]bool{"typed": false, "untyped": true} {
		log := coll.Programs[name].VerifierLog
		if got := strings.Contains(log, "UNKNOWN"); got != wantUnknown {
			t.Errorf("%s: UNKNOWN in the verifier log: %v, want %v\n%s", name, got, wantUnknown, log)
		}
	}
}
