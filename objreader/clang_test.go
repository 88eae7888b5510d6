package objreader

import (
	"debug/elf"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/isa"
)

// compileC compiles the C file src with clang-19 -target bpf -O2 -g into
// dir and returns the object's path. It skips or fails t (see testenv) when
// clang-19 or the libbpf and kernel headers are missing.
func compileC(t *testing.T, dir, src string) string {
	t.Helper()
	clang, include := testenv.ClangBPF(t, "/usr/include/linux/bpf.h", "/usr/include/bpf/bpf_helpers.h", "/usr/include/bpf/bpf_core_read.h")
	obj := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c")+".o")
	args := []string{"-target", "bpf", "-O2", "-g", "-I", include, "-c", src, "-o", obj}
	if out, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
		t.Fatalf("clang-19 %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return obj
}

// TestClang reads what clang-19 makes of testdata/core.c: a hash map, four
// globals, a program calling a static function, CO-RE relocations.
func TestClang(t *testing.T) {
	f := readFile(t, compileC(t, t.TempDir(), "testdata/core.c"))
	spec, ext := checkObject(t, f)
	checkLines(t, ext, ".")

	const section = "tracepoint/syscalls/sys_enter_getpid"
	progs, err := f.Programs()
	if err != nil {
		t.Fatal(err)
	}
	type prog struct {
		Name, Section string
		Global, Entry bool
	}
	var got []prog
	for _, p := range progs {
		got = append(got, prog{p.Name, p.Section, p.Global, p.Entry()})
	}
	want := []prog{{"bump", ".text", false, false}, {"count", section, true, true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Programs (-want +got):\n%s", diff)
	}
	count := progs[1]

	maps, err := f.Maps()
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 1 {
		t.Fatalf("Maps() = %+v, want one", maps)
	}
	m := maps[0]
	if m.Name != "counts" || m.Type != 1 || m.KeySize != 4 || m.ValueSize != 8 || m.MaxEntries != 16 ||
		m.Flags != 1 || m.Size != 40 || len(m.Other) != 0 {
		t.Errorf("map: %+v, want counts: hash (1), 4-byte keys, 8-byte values, 16 entries, flags 1 (BPF_F_NO_PREALLOC)", m)
	}
	if key, ok := m.Key.(*btf.Typedef); !ok || key.Name != "__u32" {
		t.Errorf("map key type %v, want __u32", m.Key)
	}

	globals, err := f.Globals()
	if err != nil {
		t.Fatal(err)
	}
	type global struct {
		Name, Section string
		Offset, Size  uint64
		ReadOnly      bool
		Data          string
	}
	var gotG []global
	for _, g := range globals {
		if g.Type == nil {
			t.Errorf("%s: no type", g.Name)
		}
		gotG = append(gotG, global{g.Name, g.Section, g.Offset, g.Size, g.ReadOnly, string(g.Data)})
	}
	// By DATASEC (sorted by name in clang's BTF), then by variable. msg
	// follows total in .data: its offset comes from its symbol, since
	// clang's DATASECs leave offsets 0.
	wantG := []global{
		{"zeroed", ".bss", 0, 8, false, ""},
		{"total", ".data", 0, 8, false, "\x03\x00\x00\x00\x00\x00\x00\x00"},
		{"msg", ".data", 8, 3, false, "hi\x00"},
		{"limit", ".rodata", 0, 4, true, "\x07\x00\x00\x00"},
	}
	if diff := cmp.Diff(wantG, gotG); diff != "" {
		t.Errorf("Globals (-want +got):\n%s", diff)
	}

	// The call of bump: a call with src 1 (BPF-to-BPF), relocated
	// against .text.
	relocs, err := f.Relocations(count.SectionIndex)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, r := range relocs {
		if r.Type != R_BPF_64_32 {
			continue
		}
		calls++
		sym := f.Symbols[r.Symbol]
		if sym.Type != elf.STT_SECTION || f.Sections[sym.Section].Name != ".text" {
			t.Errorf("call relocation against %+v, want the .text section symbol", sym)
		}
		ins, err := isa.DecodeSlot(count.Code[r.Offset-count.Offset:])
		if err != nil || ins.Op != isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK) || ins.Src != isa.CallPseudo {
			t.Errorf("relocated call: %+v, %v", ins, err)
		}
	}
	if calls != 1 {
		t.Errorf("%d call relocations, want 1", calls)
	}

	// CO-RE: BPF_CORE_READ(t, tgid) reads member 1, and
	// bpf_core_field_exists and bpf_core_field_size ask about member 2,
	// comm, of struct task.
	es := ext.Section(section)
	if es == nil {
		t.Fatalf("no .BTF.ext records for %s", section)
	}
	type core struct {
		Access string
		Kind   COREKind
	}
	var gotC []core
	for _, cr := range es.CORE {
		gotC = append(gotC, core{cr.Access, cr.Kind})
		typ, err := spec.TypeByID(cr.TypeID)
		if s, ok := typ.(*btf.Struct); err != nil || !ok || s.Name != "task" {
			t.Errorf("CO-RE relocation %+v: type %v, %v; want struct task", cr, typ, err)
		}
		if cr.InsnOffset%8 != 0 || uint64(cr.InsnOffset) >= count.Size {
			t.Errorf("CO-RE relocation %+v outside the program", cr)
		}
	}
	wantC := []core{{"0:1", COREFieldByteOffset}, {"0:2", COREFieldExists}, {"0:2", COREFieldByteSize}}
	if diff := cmp.Diff(wantC, gotC); diff != "" {
		t.Errorf("CO-RE relocations (-want +got):\n%s", diff)
	}
	if len(es.Funcs) != 1 || len(ext.Section(".text").Funcs) != 1 {
		t.Errorf("func_info: %d in %s, %d in .text; want 1 and 1", len(es.Funcs), section, len(ext.Section(".text").Funcs))
	}
	if first := es.Lines[0]; first.Text != "int count(void *ctx)" || !strings.HasSuffix(first.File, "core.c") {
		t.Errorf("first line of count: %+v", first)
	}
}
