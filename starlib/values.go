package starlib

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/isa"
)

// Register is the Starlark value of a BPF register (r0..r10, fp).
type Register isa.Register

var (
	_ starlark.Value      = Register(0)
	_ starlark.Comparable = Register(0)
)

func (r Register) String() string        { return isa.Register(r).String() }
func (r Register) Type() string          { return "register" }
func (r Register) Freeze()               {}
func (r Register) Truth() starlark.Bool  { return true }
func (r Register) Hash() (uint32, error) { return uint32(r) + 0x9e3779b9, nil }
func (r Register) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return threeway(op, int(r)-int(y.(Register)))
}

func threeway(op syntax.Token, cmp int) (bool, error) {
	switch op {
	case syntax.EQL:
		return cmp == 0, nil
	case syntax.NEQ:
		return cmp != 0, nil
	case syntax.LT:
		return cmp < 0, nil
	case syntax.LE:
		return cmp <= 0, nil
	case syntax.GT:
		return cmp > 0, nil
	case syntax.GE:
		return cmp >= 0, nil
	}
	return false, fmt.Errorf("unsupported comparison %s", op)
}

// Insn is the Starlark value of one instruction: an isa.Instruction, the
// label it jumps to (if any) and the position of the call that made it.
// Insns are immutable. Two insns are equal when they encode the same way
// and name the same label; where they were written does not matter.
//
// An Insn is kept small (64 bytes) and is never copied: a program of a
// million instructions holds a million of them, and the assembler reads
// them in place (see items).
type Insn struct {
	ins isa.Instruction
	// label is the label a jump goes to ("" for none); for a Label, its
	// name.
	label string
	pos   syntax.Position // the call that made it
	// ref is the symbol the instruction refers to (nil for none); for a
	// Label, labelRef.
	ref *asm.Ref
}

// labelRef marks the Insn form of a Label.
var labelRef = new(asm.Ref)

var (
	_ starlark.Value      = (*Insn)(nil)
	_ starlark.Comparable = (*Insn)(nil)
	_ starlark.HasAttrs   = (*Insn)(nil)
)

// Item returns the assembler item of the instruction.
func (i *Insn) Item() asm.Item {
	if i.ref == labelRef {
		return asm.Item{Label: i.label, Pos: toPos(i.pos)}
	}
	it := asm.Item{Insn: i.ins, Target: i.label, Pos: toPos(i.pos)}
	if i.ref != nil {
		it.Ref = *i.ref
	}
	return it
}

// items are the instructions and labels of a program, in order, as the
// assembler reads them (an asm.Source).
type items []*Insn

func (s items) Len() int { return len(s) }

func (s items) Item(i int, it *asm.Item) {
	in := s[i]
	it.Pos = asm.Pos{File: in.pos.Filename(), Line: in.pos.Line, Col: in.pos.Col}
	switch in.ref {
	case labelRef:
		it.Label, it.Insn, it.Target, it.Ref = in.label, isa.Instruction{}, "", asm.Ref{}
	case nil:
		it.Label, it.Insn, it.Target, it.Ref = "", in.ins, in.label, asm.Ref{}
	default:
		it.Label, it.Insn, it.Target, it.Ref = "", in.ins, in.label, *in.ref
	}
}

// String prints the instruction in LLVM assembler syntax, as llvm-objdump
// does; a jump to a label prints the label name as its target.
func (i *Insn) String() string {
	s := i.ins.String()
	if t := i.label; t != "" {
		if j := strings.LastIndexByte(s, ' '); j >= 0 {
			s = s[:j+1] + t
		}
	}
	return s
}
func (i *Insn) Type() string         { return "insn" }
func (i *Insn) Freeze()              {}
func (i *Insn) Truth() starlark.Bool { return true }
func (i *Insn) Hash() (uint32, error) {
	in := i.ins
	h := uint32(in.Op) | uint32(in.Dst)<<8 | uint32(in.Src)<<12 | uint32(uint16(in.Off))<<16
	h ^= uint32(in.Imm) ^ uint32(uint64(in.Imm)>>32)*31
	if in.Raw {
		h ^= 0x5bd1e995
	}
	s, _ := starlark.String(i.label).Hash()
	return h ^ s, nil
}
func (i *Insn) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	eq := i.ins == y.(*Insn).ins && i.label == y.(*Insn).label
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("insn values can only be compared with == and !=")
}

var insnAttrs = []string{"code", "dst", "imm", "off", "size", "src", "target"}

// Attr exposes the fields of the instruction to Starlark.
func (i *Insn) Attr(name string) (starlark.Value, error) {
	in := i.ins
	switch name {
	case "code":
		return starlark.MakeInt(int(in.Op)), nil
	case "dst":
		return starlark.MakeInt(int(in.Dst)), nil
	case "src":
		return starlark.MakeInt(int(in.Src)), nil
	case "off":
		return starlark.MakeInt(int(in.Off)), nil
	case "imm":
		return starlark.MakeInt64(in.Imm), nil
	case "size":
		return starlark.MakeInt(in.Size()), nil
	case "target":
		if i.label == "" {
			return starlark.None, nil
		}
		return starlark.String(i.label), nil
	}
	return nil, nil
}

// AttrNames lists the attributes of an insn.
func (i *Insn) AttrNames() []string { return insnAttrs }

// Label is the Starlark value of a label marker inside an instruction list.
// It has the layout of an Insn (its name in label, ref set to labelRef), so
// that a program's items can hold both.
type Label Insn

func newLabel(name string, pos syntax.Position) *Label {
	return &Label{label: name, pos: pos, ref: labelRef}
}

var (
	_ starlark.Value      = (*Label)(nil)
	_ starlark.Comparable = (*Label)(nil)
)

func (l *Label) String() string        { return fmt.Sprintf("label(%q)", l.label) }
func (l *Label) Type() string          { return "label" }
func (l *Label) Freeze()               {}
func (l *Label) Truth() starlark.Bool  { return true }
func (l *Label) Hash() (uint32, error) { return starlark.String(l.label).Hash() }
func (l *Label) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	eq := l.label == y.(*Label).label
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("label values can only be compared with == and !=")
}

func toPos(p syntax.Position) asm.Pos {
	return asm.Pos{File: p.Filename(), Line: p.Line, Col: p.Col}
}
