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

// in makes an instruction written at line.
func in(x isa.Instruction, line int32) Instruction {
	return Instruction{x, Metadata{}.WithPos(at(line))}
}

// to makes a jump to label written at line.
func to(x isa.Instruction, label string, line int32) Instruction {
	return Instruction{x, Metadata{}.WithPos(at(line)).WithTarget(label)}
}

// marked adds the label name, placed at line, to ins.
func marked(name string, line int32, ins Instruction) Instruction {
	ins.Metadata = ins.Metadata.WithLabel(Label{name, at(line)})
	return ins
}

func TestLabels(t *testing.T) {
	p := &Program{Symbol: "p", Insns: []Instruction{
		marked("top", 1, to(jeq, "out", 2)),   // slot 0 -> 4: off +3
		in(ld64, 3),                           // slots 1-2
		to(ja, "top", 4),                      // slot 3 -> 0: off -4
		marked("out", 5, to(gotol, "end", 6)), // slot 4 -> 6: imm +1
		in(mov0, 7),
		marked("end", 8, in(exit, 9)),
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
	// The program is not changed: its jumps still name their labels.
	if p.Insns[0].Off != 0 || p.Insns[0].Target() != "out" {
		t.Errorf("Assemble changed the program: %+v", p.Insns[0])
	}
}

func TestRelocs(t *testing.T) {
	ref := Ref{Kind: RefMap, Name: "m"}
	ld := in(ld64, 2)
	ld.Metadata = ld.WithRef(ref)
	res, err := Assemble(&Program{Symbol: "p", Insns: []Instruction{in(mov0, 1), ld, in(exit, 3)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Relocs) != 1 || res.Relocs[0] != (Reloc{Offset: 8, Ref: ref, Pos: at(2)}) {
		t.Errorf("relocs = %+v", res.Relocs)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		insns    []Instruction
		trailing []Label
		want     string
		kind     ErrorKind
	}{
		{"empty", nil, nil, `t.star:99:1: program "p" is empty`, ErrEmpty},
		{"only a label", nil, []Label{{"a", at(3)}}, `t.star:99:1: program "p" is empty`, ErrEmpty},
		{"falls off", []Instruction{in(mov0, 3)}, nil, `t.star:3:1: program "p" falls off its end`, ErrFallsOff},
		{"ends in conditional", []Instruction{in(jeq, 3)}, nil, `t.star:3:1: jump target +0 lands outside the program`, ErrJumpOutside},
		{"undefined", []Instruction{to(ja, "x", 4)}, nil, `t.star:4:1: undefined label "x"`, ErrUndefinedLabel},
		{"invalid", []Instruction{in(isa.Instruction{Op: 0xff}, 5), in(exit, 6)}, nil, "t.star:5:1: unknown", ErrInvalid},
		{"r10", []Instruction{in(isa.Instruction{Op: 0xb7, Dst: isa.R10}, 6), in(exit, 7)}, nil, "t.star:6:1: r10 is the read-only frame pointer", ErrInvalid},
		{"outside", []Instruction{in(isa.Instruction{Op: 0x05, Off: -2}, 7), in(exit, 8)}, nil, "t.star:7:1: jump target -2 lands outside the program", ErrJumpOutside},
		{"gotol outside", []Instruction{in(isa.Instruction{Op: 0x06, Imm: 1 << 20}, 7), in(exit, 8)}, nil, "t.star:7:1: jump target +1048576 lands outside", ErrJumpOutside},
		{"into pair", []Instruction{in(isa.Instruction{Op: 0x05, Off: 1}, 7), in(ld64, 8), in(exit, 9)}, nil, "t.star:7:1: jump target +1 lands in the middle of a 64-bit immediate load", ErrJumpIntoPair},
		{"dup", []Instruction{marked("a", 2, marked("a", 1, in(exit, 3)))}, nil, `t.star:2:1: label "a" defined twice (first at t.star:1:1)`, ErrDuplicateLabel},
		{"dup trailing", []Instruction{marked("a", 1, in(exit, 2))}, []Label{{"a", at(3)}}, `t.star:3:1: label "a" defined twice (first at t.star:1:1)`, ErrDuplicateLabel},
		{"to trailing", []Instruction{to(ja, "end", 1), in(exit, 2)}, []Label{{"end", at(3)}}, `t.star:1:1: jump to label "end" lands past the last instruction`, ErrJumpOutside},
		{"target on a non-jump", []Instruction{to(mov0, "x", 4), in(exit, 5)}, nil, `t.star:4:1: a jump target (label "x") on an instruction that does not jump`, ErrInvalid},
		// The earliest instruction's problem wins, whatever its kind.
		{"earliest first", []Instruction{to(ja, "nowhere", 1), in(isa.Instruction{Op: 0xff}, 2), in(exit, 3)}, nil, `t.star:1:1: undefined label "nowhere"`, ErrUndefinedLabel},
		{"earliest first, label later", []Instruction{in(isa.Instruction{Op: 0x05, Off: 5}, 1), marked("a", 2, in(exit, 3)), marked("a", 4, in(exit, 5))}, nil, `t.star:1:1: jump target +5 lands outside`, ErrJumpOutside},
		{"jump back before a later fault", []Instruction{marked("a", 1, in(mov0, 2)), to(jeq, "b", 3), in(isa.Instruction{Op: 0xff}, 4), marked("b", 5, in(exit, 6))}, nil, "t.star:4:1: unknown", ErrInvalid},
	} {
		_, err := Assemble(&Program{Symbol: "p", Insns: tc.insns, Trailing: tc.trailing, Pos: at(99)})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
			continue
		}
		if k := err.(*Error).Kind; k != tc.kind {
			t.Errorf("%s: kind %d, want %d", tc.name, k, tc.kind)
		}
	}
}

// A jump to a label 40,000 slots away does not fit a 16-bit offset; gotol
// reaches it.
func TestJumpTooFar(t *testing.T) {
	insns := []Instruction{to(ja, "far", 1)}
	for i := 0; i < 40000; i++ {
		insns = append(insns, in(mov0, 2))
	}
	insns = append(insns, marked("far", 3, in(exit, 4)))
	_, err := Assemble(&Program{Symbol: "p", Insns: insns})
	e, ok := err.(*Error)
	if !ok || e.Kind != ErrJumpTooFar || e.Label != "far" || e.Distance != 40000 || e.Pos != at(1) {
		t.Fatalf("got %#v", err)
	}
	insns[0] = to(gotol, "far", 1)
	res, err := Assemble(&Program{Symbol: "p", Insns: insns})
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(res.Code[:8]); got != "06000000409c0000" {
		t.Errorf("gotol = %s", got)
	}
}

// Raw instructions are not validated, but still count as a terminator when
// they are one.
func TestRaw(t *testing.T) {
	res, err := Assemble(&Program{Symbol: "p", Insns: []Instruction{
		in(isa.Instruction{Op: 0xff, Dst: 15, Src: 15, Raw: true}, 1),
		in(isa.Instruction{Op: isa.OpLoadImm64, Imm: 7, Raw: true}, 2),
		in(isa.Instruction{Op: 0, Imm: 1, Raw: true}, 3),
		in(isa.Instruction{Op: 0x95, Raw: true}, 4),
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
		_, err := Assemble(&Program{Symbol: "p", Insns: []Instruction{
			in(isa.Instruction{Op: isa.OpLoadImm64, Imm: 7, Raw: true}, 2),
			in(next, 3),
			in(exit, 4),
		}})
		if e, ok := err.(*Error); !ok || e.Kind != ErrUnpairedHalf || e.Pos != at(2) {
			t.Errorf("raw 0x18 then %+v: got %v", next, err)
		}
	}
	// ... also as the last slot of a program with jumps.
	_, err = Assemble(&Program{Symbol: "p", Insns: []Instruction{
		in(isa.Instruction{Op: 0x05}, 2), // ja +0
		in(isa.Instruction{Op: isa.OpLoadImm64, Raw: true}, 3),
	}})
	if e, ok := err.(*Error); !ok || e.Kind != ErrUnpairedHalf || e.Pos != at(3) {
		t.Errorf("raw 0x18 last: got %v", err)
	}
}

func TestTooManyInstructions(t *testing.T) {
	insns := make([]Instruction, MaxInstructions+1)
	for i := range insns {
		insns[i].Instruction = exit
	}
	_, err := Assemble(&Program{Symbol: "p", Insns: insns, Pos: at(1)})
	if err == nil || !strings.Contains(err.Error(), "1000001 instructions, more than the kernel's limit of 1000000") {
		t.Errorf("got %v", err)
	}
}

func TestMetadata(t *testing.T) {
	var m Metadata // the zero value is empty and usable
	if m.Pos() != (Pos{}) || m.Target() != "" || m.Labels() != nil || m.Ref() != (Ref{}) || m.Len() != 0 {
		t.Fatal("zero Metadata is not empty")
	}
	a := m.WithPos(at(1))
	b := a.WithTarget("x")
	c := b.WithPos(at(2)) // replaces the position, keeps the target
	if a.Pos() != at(1) || a.Target() != "" || b.Pos() != at(1) || b.Target() != "x" {
		t.Errorf("With changed its receiver: a=%v/%q b=%v/%q", a.Pos(), a.Target(), b.Pos(), b.Target())
	}
	if c.Pos() != at(2) || c.Target() != "x" || c.Len() != 2 {
		t.Errorf("c = %v %q %d", c.Pos(), c.Target(), c.Len())
	}
	// A key of another package's type does not clash with asm's.
	type posKey struct{}
	d := c.With(posKey{}, "mine")
	if d.Get(posKey{}) != "mine" || d.Pos() != at(2) {
		t.Errorf("foreign key: %v %v", d.Get(posKey{}), d.Pos())
	}
	l1 := c.WithLabel(Label{"a", at(3)})
	l2 := l1.WithLabel(Label{"b", at(4)})
	if got := l1.Labels(); len(got) != 1 || got[0].Name != "a" {
		t.Errorf("l1 labels %v", got)
	}
	if got := l2.Labels(); len(got) != 2 || got[1].Name != "b" {
		t.Errorf("l2 labels %v", got)
	}
}
