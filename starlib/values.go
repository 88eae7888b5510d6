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

// Insn is the Starlark value of one instruction: an asm.Instruction, whose
// metadata holds the position of the call that made it and, for a jump to
// a label or an instruction that refers to a symbol, the label or the
// symbol. Insns are immutable. Two insns are equal when they encode the
// same way and name the same label and symbol; where they were written
// does not matter. The zero Insn is the (invalid) all-zero slot.
type Insn struct {
	ins asm.Instruction
}

// Instruction returns the instruction with its metadata.
func (i *Insn) Instruction() asm.Instruction { return i.ins }

// insnChunkLen is how many Insns are allocated at once: a program of a
// million instructions then makes four thousand allocations, not a
// million, and its instructions lie in memory in the order they were made.
// 256 Insns of 24 bytes are 6,144 bytes, one of the allocator's size
// classes.
const insnChunkLen = 256

// insnAlloc makes the Insns of one evaluation, which runs on one thread:
// no locks. It also keeps the metadata of recent source positions, which
// the instructions made at one position share (see asm.Metadata): a
// program built by loops makes many instructions at few positions.
type insnAlloc struct {
	chunk []Insn
	pos   [posCacheLen]posEntry
	// The metadata of the last jump to a label: its position's metadata
	// and the label, and the result.
	jumpBase  asm.Metadata
	jumpLabel string
	jumpMeta  asm.Metadata
}

// posCacheLen is the number of entries of the position cache, which is
// direct-mapped by line and column: a loop over a macro of a few dozen
// instructions hits it every time.
const posCacheLen = 512

type posEntry struct {
	file      string
	line, col int32
	meta      asm.Metadata
}

// newInsn returns the Insn of ins, which has passed isa's Validate,
// jumping to label target (if not empty), referring to ref (if not nil),
// made at pos.
func (a *insnAlloc) newInsn(ins isa.Instruction, target string, ref *asm.Ref, pos syntax.Position) *Insn {
	m := a.posMeta(pos)
	if target != "" {
		if a.jumpLabel != target || a.jumpBase != m {
			a.jumpBase, a.jumpLabel, a.jumpMeta = m, target, m.WithTarget(target)
		}
		m = a.jumpMeta
	}
	if ref != nil {
		m = m.WithRef(*ref)
	}
	if len(a.chunk) == 0 {
		a.chunk = make([]Insn, insnChunkLen)
	}
	in := &a.chunk[0]
	a.chunk = a.chunk[1:]
	in.ins = asm.Instruction{Instruction: ins, Metadata: m}
	return in
}

// posMeta returns metadata holding the position pos.
func (a *insnAlloc) posMeta(pos syntax.Position) asm.Metadata {
	file := pos.Filename()
	e := &a.pos[(uint32(pos.Line)*31+uint32(pos.Col))%posCacheLen]
	if e.line != pos.Line || e.col != pos.Col || e.file != file || e.meta == (asm.Metadata{}) {
		*e = posEntry{file, pos.Line, pos.Col, asm.Metadata{}.WithPos(asm.Pos{File: file, Line: pos.Line, Col: pos.Col})}
	}
	return e.meta
}

// inst returns the instruction without its metadata.
func (i *Insn) inst() isa.Instruction { return i.ins.Instruction }

// label returns the label the instruction jumps to ("" for none).
func (i *Insn) label() string { return i.ins.Target() }

// ref returns the symbol the instruction refers to (Kind asm.RefNone for
// none).
func (i *Insn) ref() asm.Ref { return i.ins.Ref() }

// String prints the instruction in LLVM assembler syntax, as llvm-objdump
// does; a jump to a label prints the label name as its target.
func (i *Insn) String() string {
	s := i.inst().String()
	if t := i.label(); t != "" {
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
	in := i.inst()
	h := uint32(in.Op) | uint32(in.Dst)<<8 | uint32(in.Src)<<12 | uint32(uint16(in.Off))<<16
	h ^= uint32(in.Imm) ^ uint32(uint64(in.Imm)>>32)*31
	if in.Raw {
		h ^= 0x5bd1e995
	}
	s, _ := starlark.String(i.label()).Hash()
	if r := i.ref(); r.Kind != asm.RefNone {
		n, _ := starlark.String(r.Name).Hash()
		s ^= n*31 + uint32(r.Kind)
	}
	return h ^ s, nil
}
func (i *Insn) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	j := y.(*Insn)
	eq := i.inst() == j.inst() && i.label() == j.label() && i.ref() == j.ref()
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
	in := i.inst()
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
		if i.label() == "" {
			return starlark.None, nil
		}
		return starlark.String(i.label()), nil
	}
	return nil, nil
}

// AttrNames lists the attributes of an insn.
func (i *Insn) AttrNames() []string { return insnAttrs }

// Label is the Starlark value of a label marker inside an instruction
// list: it marks the instruction that follows it (or, at the end of a
// program, the end).
type Label struct {
	l asm.Label
}

// name returns the label's name.
func (l *Label) name() string { return l.l.Name }

var (
	_ starlark.Value      = (*Label)(nil)
	_ starlark.Comparable = (*Label)(nil)
)

func (l *Label) String() string        { return fmt.Sprintf("label(%q)", l.name()) }
func (l *Label) Type() string          { return "label" }
func (l *Label) Freeze()               {}
func (l *Label) Truth() starlark.Bool  { return true }
func (l *Label) Hash() (uint32, error) { return starlark.String(l.name()).Hash() }
func (l *Label) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	eq := l.name() == y.(*Label).name()
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
