package asm

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/isa"
)

var (
	exit  = isa.Instruction{Op: 0x95}
	mov0  = isa.Instruction{Op: 0xb7}
	ja    = isa.Instruction{Op: 0x05}
	gotol = isa.Instruction{Op: 0x06}
	jeq   = isa.Instruction{Op: 0x15, Dst: isa.R1}
	ld64  = isa.Instruction{Op: isa.OpLoadImm64, Dst: isa.R1, Imm: 1 << 40}
)

func at(line int32) Pos { return Pos{File: "t.star", Line: line, Col: 1} }

func TestLabels(t *testing.T) {
	p := &Program{Symbol: "p", Items: []Item{
		{Label: "top", Pos: at(1)},
		{Insn: jeq, Target: "out", Pos: at(2)}, // slot 0 -> 4: off +3
		{Insn: ld64, Pos: at(3)},               // slots 1-2
		{Insn: ja, Target: "top", Pos: at(4)},  // slot 3 -> 0: off -4
		{Label: "out", Pos: at(5)},
		{Insn: gotol, Target: "end", Pos: at(6)}, // slot 4 -> 6: imm +1
		{Insn: mov0, Pos: at(7)},
		{Label: "end", Pos: at(8)},
		{Insn: exit, Pos: at(9)},
	}}
	res, err := Assemble(p)
	if err != nil {
		t.Fatal(err)
	}
	want := "1501030000000000" + "18010000000000000000000000010000" + "0500fcff00000000" + "0600000001000000" + "b700000000000000" + "9500000000000000"
	if got := hex.EncodeToString(res.Code); got != want {
		t.Errorf("code\n got %s\nwant %s", got, want)
	}
	if res.Insns != 6 {
		t.Errorf("Insns = %d, want 6", res.Insns)
	}
}

func TestRelocs(t *testing.T) {
	ref := Ref{Kind: RefMap, Name: "m"}
	res, err := Assemble(&Program{Symbol: "p", Items: []Item{
		{Insn: mov0}, {Insn: ld64, Ref: ref, Pos: at(2)}, {Insn: exit},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Relocs) != 1 || res.Relocs[0] != (Reloc{Offset: 8, Ref: ref, Pos: at(2)}) {
		t.Errorf("relocs = %+v", res.Relocs)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []Item
		want  string
	}{
		{"empty", nil, `t.star:99:1: program "p" is empty`},
		{"falls off", []Item{{Insn: mov0, Pos: at(3)}}, `t.star:3:1: program "p" falls off its end`},
		{"ends in conditional", []Item{{Insn: jeq, Pos: at(3)}}, `t.star:3:1: jump target +0 lands outside the program`},
		{"undefined", []Item{{Insn: ja, Target: "x", Pos: at(4)}}, `t.star:4:1: undefined label "x"`},
		{"invalid", []Item{{Insn: isa.Instruction{Op: 0xff}, Pos: at(5)}, {Insn: exit}}, "t.star:5:1: unknown"},
		{"r10", []Item{{Insn: isa.Instruction{Op: 0xb7, Dst: isa.R10}, Pos: at(6)}, {Insn: exit}}, "t.star:6:1: r10 is the read-only frame pointer"},
		{"outside", []Item{{Insn: isa.Instruction{Op: 0x05, Off: -2}, Pos: at(7)}, {Insn: exit}}, "t.star:7:1: jump target -2 lands outside the program"},
		{"gotol outside", []Item{{Insn: isa.Instruction{Op: 0x06, Imm: 1 << 20}, Pos: at(7)}, {Insn: exit}}, "t.star:7:1: jump target +1048576 lands outside"},
		{"dup", []Item{{Label: "a", Pos: at(1)}, {Label: "a", Pos: at(2)}, {Insn: exit}}, `t.star:2:1: label "a" defined twice (first at t.star:1:1)`},
	} {
		_, err := Assemble(&Program{Symbol: "p", Items: tc.items, Pos: at(99)})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Raw instructions are not validated, but still count as a terminator when
// they are one.
func TestRaw(t *testing.T) {
	res, err := Assemble(&Program{Symbol: "p", Items: []Item{
		{Insn: isa.Instruction{Op: 0xff, Dst: 15, Src: 15, Raw: true}},
		{Insn: isa.Instruction{Op: isa.OpLoadImm64, Imm: 7, Raw: true}},
		{Insn: isa.Instruction{Op: 0, Imm: 1, Raw: true}},
		{Insn: isa.Instruction{Op: 0x95, Raw: true}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(res.Code), "ff"+"ff000000000000"+"1800000007000000"+"0000000001000000"+"9500000000000000"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// A raw first half of a 64-bit load needs its second half: without
	// it, the loaders cannot read the program.
	for _, next := range []isa.Instruction{{Op: 0x95, Raw: true}, {Op: 0, Dst: 1, Raw: true}, exit} {
		_, err := Assemble(&Program{Symbol: "p", Items: []Item{
			{Insn: isa.Instruction{Op: isa.OpLoadImm64, Imm: 7, Raw: true}, Pos: at(2)},
			{Insn: next, Pos: at(3)},
			{Insn: exit, Pos: at(4)},
		}})
		if err == nil || err.Error() != "t.star:2:1: insn.raw: code 0x18 starts a 64-bit load, which takes two slots: follow it with its second half, insn.raw(0, 0, 0, 0, IMM_HI)" {
			t.Errorf("raw 0x18 then %+v: got %v", next, err)
		}
	}
	// ... also as the last slot of a program with jumps (this once
	// indexed past the end of the slot table).
	_, err = Assemble(&Program{Symbol: "p", Items: []Item{
		{Insn: isa.Instruction{Op: 0x05}, Pos: at(2)}, // ja +0
		{Insn: isa.Instruction{Op: isa.OpLoadImm64, Raw: true}, Pos: at(3)},
	}})
	if err == nil || !strings.HasPrefix(err.Error(), "t.star:3:1: insn.raw: code 0x18 starts a 64-bit load") {
		t.Errorf("raw 0x18 last: got %v", err)
	}
}

func TestTooManyInstructions(t *testing.T) {
	items := make([]Item, MaxInstructions+1)
	for i := range items {
		items[i].Insn = exit
	}
	_, err := Assemble(&Program{Symbol: "p", Items: items, Pos: at(1)})
	if err == nil || !strings.Contains(err.Error(), "1000001 instructions, more than the kernel's limit of 1000000") {
		t.Errorf("got %v", err)
	}
}
