package link

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/asm"
	bbtf "github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/isa"
)

func pos(line int32) asm.Pos { return asm.Pos{File: "u.src", Line: line, Col: 1} }

func ins(x isa.Instruction, line int32) asm.Instruction {
	return asm.Instruction{Instruction: x, Metadata: asm.Metadata{}.WithPos(pos(line))}
}

func ref(x isa.Instruction, line int32, r asm.Ref) asm.Instruction {
	i := ins(x, line)
	i.Metadata = i.WithRef(r)
	return i
}

var (
	exit   = isa.Instruction{Op: 0x95}
	ld64   = isa.Instruction{Op: isa.OpLoadImm64, Dst: isa.R1}
	call   = isa.Instruction{Op: 0x85, Src: isa.CallPseudo, Imm: -1}
	mov0   = isa.Instruction{Op: 0xb7}
	helper = isa.Instruction{Op: 0x85, Imm: 1} // map_lookup_elem
)

// unit is a program that loads a map and a global's address and calls a
// function, made without any front end: link reads only the model.
func unit() *Unit {
	return &Unit{
		File: "u.src",
		Programs: []asm.Program{{Section: "xdp", Symbol: "prog", Pos: pos(1), Insns: []asm.Instruction{
			ref(ld64, 2, asm.Ref{Kind: asm.RefMap, Name: "m"}),
			ref(ld64, 3, asm.Ref{Kind: asm.RefGlobal, Name: "g", Addend: 4}),
			ref(call, 4, asm.Ref{Kind: asm.RefFunc, Name: "f"}),
			ins(exit, 5),
		}}},
		Functions: []asm.Program{{Section: ".text", Symbol: "f", Pos: pos(6), Insns: []asm.Instruction{ins(mov0, 7), ins(exit, 8)}}},
		Maps:      []*Map{{Name: "m", Type: "array", TypeID: 2, KeySize: 4, ValueSize: 8, MaxEntries: 1, Pos: pos(9)}},
		Globals:   []*Global{{Name: "g", Section: ".data", Size: 8, Align: 8, Data: make([]byte, 8), IsInt: true, Pos: pos(10)}},
		License:   "GPL", HasLicense: true,
		Sources: map[string]Source{"u.src": {Name: "u.src", Text: []byte("p\nld m\nld g\ncall f\nexit\nf\nmov\nexit\n")}},
	}
}

func TestLink(t *testing.T) {
	obj, err := linkBytes(t, unit())
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range f.Sections {
		names = append(names, s.Name)
	}
	want := []string{"", ".strtab", "xdp", ".relxdp", ".text", "license", ".maps", ".data", ".BTF", ".BTF.ext", ".symtab"}
	if !equal(names, want) {
		t.Errorf("sections %q, want %q", names, want)
	}
	code, _ := f.Section("xdp").Data()
	// The global's offset goes into the immediate; the call's into its
	// imm as the function's offset in .text in slots, minus one.
	if got := binary.LittleEndian.Uint32(code[16+4:]); got != 4 {
		t.Errorf("global load imm = %d, want 4 (its addend)", got)
	}
	if got := int32(binary.LittleEndian.Uint32(code[32+4:])); got != -1 {
		t.Errorf("call imm = %d, want -1 (f at offset 0)", got)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if m := spec.Maps["m"]; m == nil || m.Type != ebpf.Array || m.KeySize != 4 || m.ValueSize != 8 || m.MaxEntries != 1 {
		t.Errorf("map m = %+v", spec.Maps["m"])
	}
	p := spec.Programs["prog"]
	if p == nil {
		t.Fatal("no program prog")
	}
	// The line records quote the source lines.
	var lines []string
	for _, x := range p.Instructions {
		if s := x.Source(); s != nil {
			lines = append(lines, s.String())
		}
	}
	if want := []string{"ld m", "ld g", "call f", "exit", "mov", "exit"}; !equal(lines, want) {
		t.Errorf("line texts %q, want %q", lines, want)
	}
	var fn *btf.Func
	if err := spec.Types.TypeByName("f", &fn); err != nil || fn.Linkage != btf.StaticFunc {
		t.Errorf("BTF func f: %v %v", fn, err)
	}
}

// linkBytes links u and lays the object out.
func linkBytes(t *testing.T, u *Unit) ([]byte, error) {
	t.Helper()
	o, err := Link(u)
	if err != nil {
		return nil, err
	}
	return o.Bytes()
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestErrors(t *testing.T) {
	noProgs := unit()
	noProgs.Programs = nil
	unknown := unit()
	unknown.Programs[0].Insns[2] = ref(call, 4, asm.Ref{Kind: asm.RefFunc, Name: "nope"})
	unknownAddr := unit()
	unknownAddr.Programs[0].Insns[1] = ref(ld64, 3, asm.Ref{Kind: asm.RefFuncAddr, Name: "nope"})
	badValue := unit()
	badValue.Maps[0].Values = []string{"", "f"}
	ops := func(symbol string) *Unit {
		u := unit()
		u.StructOps = []*StructOps{{Name: "ops", Section: ".struct_ops.link", Pos: pos(12),
			Type:  &bbtf.Struct{Name: "tcp_congestion_ops", Members: []bbtf.Field{{Name: "ssthresh", Type: &bbtf.Ptr{Target: &bbtf.FuncProto{}}}}},
			Data:  make([]byte, 8),
			Progs: []StructOpsProg{{Member: "ssthresh", Symbol: symbol}}}}
		return u
	}
	recursive := unit()
	recursive.Functions[0].Insns = []asm.Instruction{ref(call, 7, asm.Ref{Kind: asm.RefFunc, Name: "f"}), ins(exit, 8)}
	for _, tc := range []struct {
		name string
		u    *Unit
		kind ErrorKind
		msg  string
	}{
		{"no programs", noProgs, ErrNoPrograms, "u.src:1:1: no programs: the object needs at least one"},
		{"unknown function", unknown, ErrUnknownFunction, `u.src:4:1: call to unknown function "nope" (functions: [f])`},
		{"unknown function address", unknownAddr, ErrUnknownFuncAddr, `u.src:3:1: address of unknown function "nope" (functions: [f])`},
		{"function in a prog_array", badValue, ErrMapValues, `u.src:9:1: map "m": values[1]: "f" is a function, not a program: a tail call enters a program`},
		{"struct_ops member not in a struct_ops section", ops("prog"), ErrStructOps, `u.src:12:1: struct_ops "ops": member "ssthresh": program "prog" is in section "xdp": a struct_ops member's program is in section "struct_ops/NAME" (or "struct_ops.s/NAME", sleepable)`},
		{"struct_ops member a function", ops("f"), ErrStructOps, `u.src:12:1: struct_ops "ops": member "ssthresh": "f" is a function, not a program`},
		{"struct_ops member unknown", ops("nope"), ErrStructOps, `u.src:12:1: struct_ops "ops": member "ssthresh": no program "nope" (programs: [prog])`},
		{"recursion", recursive, ErrRecursion, "u.src:7:1: recursive call (f -> f): the verifier rejects recursion"},
	} {
		_, err := Link(tc.u)
		var e *Error
		if !errors.As(err, &e) || e.Kind != tc.kind || err.Error() != tc.msg {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.msg)
		}
	}
	// asm's errors come through as they are.
	bad := unit()
	bad.Programs[0].Insns = bad.Programs[0].Insns[:1]
	var ae *asm.Error
	if _, err := Link(bad); !errors.As(err, &ae) || ae.Kind != asm.ErrFallsOff {
		t.Errorf("falls off: got %v", err)
	}
}

// A function's address is a 64-bit load relocated against .text with the
// function's byte offset, as clang writes &f.
func TestFuncAddr(t *testing.T) {
	u := unit()
	u.Functions = append(u.Functions, asm.Program{Section: ".text", Symbol: "h", Pos: pos(11), Insns: []asm.Instruction{ins(mov0, 12), ins(exit, 13)}})
	u.Programs[0].Insns[1] = ref(ld64, 3, asm.Ref{Kind: asm.RefFuncAddr, Name: "h"})
	obj, err := linkBytes(t, u)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := f.Section("xdp").Data()
	if ld := code[16:32]; ld[0] != 0x18 || ld[1] != 0x01 || binary.LittleEndian.Uint32(ld[4:]) != 16 || binary.LittleEndian.Uint32(ld[12:]) != 0 {
		t.Errorf("ld_imm64 of &h = % x, want r1, src 0, imm 16 (h's offset in .text)", ld)
	}
	rel, _ := f.Section(".relxdp").Data()
	syms, _ := f.Symbols()
	var found bool
	for i := 0; i+16 <= len(rel); i += 16 {
		off, info := binary.LittleEndian.Uint64(rel[i:]), binary.LittleEndian.Uint64(rel[i+8:])
		if s := syms[info>>32-1]; off == 16 && uint32(info) == 1 && elf.ST_TYPE(s.Info) == elf.STT_SECTION && f.Sections[s.Section].Name == ".text" {
			found = true
		}
	}
	if !found {
		t.Error("no R_BPF_64_64 relocation against .text at offset 16")
	}
}

func TestHelperCallNeedsNoRelocation(t *testing.T) {
	u := unit()
	u.Programs[0].Insns = []asm.Instruction{ins(helper, 2), ins(exit, 3)}
	u.Functions = nil
	obj, err := linkBytes(t, u)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := elf.NewFile(bytes.NewReader(obj))
	if f.Section(".relxdp") != nil {
		t.Error("a helper call made a relocation")
	}
}

// Line records quote at most maxLineText bytes of a line, cut at a
// character boundary: a generated file with a 16 MB line once made BTF the
// kernel refuses.
func TestLongLineText(t *testing.T) {
	long := strings.Repeat("é", maxLineText) // 2 bytes each
	if got := lineText([]byte(long + "\r")); len(got) > maxLineText || !utf8.ValidString(got) || !strings.HasPrefix(long, got) || len(got) < maxLineText-1 {
		t.Errorf("cut to %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if got := lineText([]byte("short\r")); got != "short" {
		t.Errorf("short line: %q", got)
	}
}
