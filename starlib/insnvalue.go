package starlib

// How instruction values are kept
//
// A program of a million instructions is a million Starlark values, made
// one builtin call at a time, held in Starlark lists until section() copies
// them into the program model (an asm.Program). Their memory is there all
// evaluation long, and the garbage collector goes over it in every cycle:
// how they are laid out decides much of a large build's time and peak
// memory.
//
// Almost every instruction carries nothing but its encoding and the
// position of the call that made it. Such an instruction is an Insn: the
// fields of the isa.Instruction packed into 13 bytes, and the index of its
// position in its evaluation's table of positions in the other 3. An Insn
// is 16 bytes with no pointer, so that Insns are allocated 256 at a time
// into chunks the collector never scans (it only marks them live). Its
// Starlark methods need nothing but the encoding; its position is read
// only by section() and function(), which have the table at hand.
//
// The few instructions that jump to a label or refer to a map, global or
// function are LinkInsns: the instruction, the index of its position, the
// label (a string shared with the Starlark value it came from) and the
// symbol, 48 bytes allocated in chunks of their own. Their metadata is
// made when a program is flattened: made here, each would be a small
// object that every collection of the evaluation marks (a program of a
// million instructions has some 170k jumps). So is any instruction made
// once the table holds 2^24 positions (a file cannot have that many call
// sites of instruction builtins, but nothing breaks if it does). Labels,
// too, are allocated in chunks.
//
// Both are "insn" to Starlark and compare and hash alike.

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/isa"
)

// Insn is the Starlark value of an instruction without a label target or a
// symbol reference. Insns are immutable. The zero Insn is the (invalid)
// all-zero slot.
type Insn struct {
	imm  int64
	off  int16
	op   isa.Opcode
	regs uint8 // Dst | Src<<4, as the encoding has them
	raw  bool
	pos  [3]uint8 // the index of the position in the evaluation's table
}

// LinkInsn is the Starlark value of an instruction that jumps to a label
// or refers to a map, a global variable or a function.
type LinkInsn struct {
	ins    isa.Instruction
	pos    uint32   // the index of the position in the evaluation's table
	target string   // the label a jump goes to
	sym    *asm.Ref // the symbol the instruction refers to
}

// MetaInsn is the Starlark value of an instruction that carries data for
// the linker besides a label or symbol: a CO-RE relocation (core.ldx,
// core.field_offset, ...), a kfunc or ksym reference (insn.call_kfunc,
// insn.ld_ksym). They are few, and each is its own small object; its
// metadata is made when a program is flattened, from meta.
type MetaInsn struct {
	ins  isa.Instruction
	pos  uint32
	sym  *asm.Ref
	meta func(asm.Metadata) asm.Metadata
}

// insnValue is what Insn, LinkInsn and MetaInsn have in common.
type insnValue interface {
	starlark.Value
	inst() isa.Instruction
	label() string
	ref() asm.Ref
}

var (
	_ insnValue = (*Insn)(nil)
	_ insnValue = (*LinkInsn)(nil)
	_ insnValue = (*MetaInsn)(nil)
)

const (
	insnChunkLen  = 256     // Insns allocated at once: 4,096 bytes
	linkChunkLen  = 128     // LinkInsns allocated at once: 6,144 bytes
	labelChunkLen = 128     // Labels allocated at once
	maxPositions  = 1 << 24 // the positions an Insn can index
)

// insnAlloc makes the instructions of one evaluation, which runs on one
// thread: no locks. It keeps the table of positions, each as the metadata
// that the instructions made there share.
type insnAlloc struct {
	// trace, when set, is told of every jump to a label (see
	// locallabels.go).
	trace     func(thread *starlark.Thread, label string, pos asm.Pos)
	insns     []Insn
	links     []LinkInsn
	labels    []Label
	positions []asm.Metadata
	cache     [posCacheLen]posSlot
}

// posCacheLen is the number of entries of the position cache, which is
// direct-mapped by line and column: a loop over a macro of a few dozen
// instructions finds every position there.
const posCacheLen = 512

type posSlot struct {
	file      string
	line, col int32
	index     uint32
	ok        bool
}

// newInsn returns the value of ins, which has passed isa's Validate,
// jumping to label target (if not empty), referring to ref (if not nil),
// made at pos.
func (a *insnAlloc) newInsn(ins isa.Instruction, target string, ref *asm.Ref, pos syntax.Position) insnValue {
	idx := a.position(pos)
	if target == "" && ref == nil && idx < maxPositions {
		if len(a.insns) == 0 {
			a.insns = make([]Insn, insnChunkLen)
		}
		in := &a.insns[0]
		a.insns = a.insns[1:]
		*in = Insn{imm: ins.Imm, off: ins.Off, op: ins.Op, regs: uint8(ins.Dst&15) | uint8(ins.Src&15)<<4, raw: ins.Raw,
			pos: [3]uint8{uint8(idx), uint8(idx >> 8), uint8(idx >> 16)}}
		return in
	}
	if len(a.links) == 0 {
		a.links = make([]LinkInsn, linkChunkLen)
	}
	in := &a.links[0]
	a.links = a.links[1:]
	*in = LinkInsn{ins: ins, pos: idx, target: target, sym: ref}
	return in
}

// newLabel returns the label name, placed at pos.
func (a *insnAlloc) newLabel(name string, pos asm.Pos) *Label {
	if len(a.labels) == 0 {
		a.labels = make([]Label, labelChunkLen)
	}
	l := &a.labels[0]
	a.labels = a.labels[1:]
	l.l = asm.Label{Name: name, Pos: pos}
	return l
}

// position returns the index of pos in the table, adding it if need be.
func (a *insnAlloc) position(pos syntax.Position) uint32 {
	file := pos.Filename()
	e := &a.cache[(uint32(pos.Line)*31+uint32(pos.Col))%posCacheLen]
	if !e.ok || e.line != pos.Line || e.col != pos.Col || e.file != file {
		idx := uint32(len(a.positions))
		a.positions = append(a.positions, asm.Metadata{}.WithPos(asm.Pos{File: file, Line: pos.Line, Col: pos.Col}))
		*e = posSlot{file, pos.Line, pos.Col, idx, true}
	}
	return e.index
}

// instruction returns the instruction of an Insn made by a, with its
// position.
func (a *insnAlloc) instruction(in *Insn) asm.Instruction {
	return asm.Instruction{Instruction: in.inst(), Metadata: a.meta(uint32(in.pos[0]) | uint32(in.pos[1])<<8 | uint32(in.pos[2])<<16)}
}

// linkInstruction returns the instruction of a LinkInsn made by a, with
// its position and its label or symbol.
func (a *insnAlloc) linkInstruction(in *LinkInsn) asm.Instruction {
	m := a.meta(in.pos)
	if in.target != "" {
		m = m.WithTarget(in.target)
	}
	if in.sym != nil {
		m = m.WithRef(*in.sym)
	}
	return asm.Instruction{Instruction: in.ins, Metadata: m}
}

// newMetaInsn returns the value of ins, which has passed isa's Validate,
// made at pos, referring to ref (if not nil), with the metadata meta adds.
func (a *insnAlloc) newMetaInsn(ins isa.Instruction, ref *asm.Ref, meta func(asm.Metadata) asm.Metadata, pos syntax.Position) *MetaInsn {
	return &MetaInsn{ins: ins, pos: a.position(pos), sym: ref, meta: meta}
}

// metaInstruction returns the instruction of a MetaInsn made by a, with
// its position, symbol and metadata.
func (a *insnAlloc) metaInstruction(in *MetaInsn) asm.Instruction {
	m := a.meta(in.pos)
	if in.sym != nil {
		m = m.WithRef(*in.sym)
	}
	if in.meta != nil {
		m = in.meta(m)
	}
	return asm.Instruction{Instruction: in.ins, Metadata: m}
}

// meta returns the metadata of position idx (none for an index that is
// not in the table: a value made by another evaluation).
func (a *insnAlloc) meta(idx uint32) asm.Metadata {
	if int(idx) < len(a.positions) {
		return a.positions[idx]
	}
	return asm.Metadata{}
}

func (i *Insn) inst() isa.Instruction {
	return isa.Instruction{Op: i.op, Dst: isa.Register(i.regs & 15), Src: isa.Register(i.regs >> 4), Raw: i.raw, Off: i.off, Imm: i.imm}
}
func (i *Insn) label() string { return "" }
func (i *Insn) ref() asm.Ref  { return asm.Ref{} }

func (i *LinkInsn) inst() isa.Instruction { return i.ins }
func (i *LinkInsn) label() string         { return i.target }
func (i *LinkInsn) ref() asm.Ref {
	if i.sym == nil {
		return asm.Ref{}
	}
	return *i.sym
}

func (i *MetaInsn) inst() isa.Instruction { return i.ins }
func (i *MetaInsn) label() string         { return "" }
func (i *MetaInsn) ref() asm.Ref {
	if i.sym == nil {
		return asm.Ref{}
	}
	return *i.sym
}

func (i *MetaInsn) String() string                           { return insnString(i) }
func (i *MetaInsn) Type() string                             { return "insn" }
func (i *MetaInsn) Freeze()                                  {}
func (i *MetaInsn) Truth() starlark.Bool                     { return true }
func (i *MetaInsn) Hash() (uint32, error)                    { return insnHash(i), nil }
func (i *MetaInsn) AttrNames() []string                      { return insnAttrs }
func (i *MetaInsn) Attr(name string) (starlark.Value, error) { return insnAttr(i, name) }
func (i *MetaInsn) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return insnCompare(i, op, y)
}

func (i *Insn) String() string                           { return insnString(i) }
func (i *Insn) Type() string                             { return "insn" }
func (i *Insn) Freeze()                                  {}
func (i *Insn) Truth() starlark.Bool                     { return true }
func (i *Insn) Hash() (uint32, error)                    { return insnHash(i), nil }
func (i *Insn) AttrNames() []string                      { return insnAttrs }
func (i *Insn) Attr(name string) (starlark.Value, error) { return insnAttr(i, name) }
func (i *Insn) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return insnCompare(i, op, y)
}

func (i *LinkInsn) String() string                           { return insnString(i) }
func (i *LinkInsn) Type() string                             { return "insn" }
func (i *LinkInsn) Freeze()                                  {}
func (i *LinkInsn) Truth() starlark.Bool                     { return true }
func (i *LinkInsn) Hash() (uint32, error)                    { return insnHash(i), nil }
func (i *LinkInsn) AttrNames() []string                      { return insnAttrs }
func (i *LinkInsn) Attr(name string) (starlark.Value, error) { return insnAttr(i, name) }
func (i *LinkInsn) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return insnCompare(i, op, y)
}

// insnString prints the instruction in LLVM assembler syntax, as
// llvm-objdump does, with names where objdump has numbers that a
// relocation or the assembler fills in: a jump to a label prints the
// label ("goto out"), a call of a function its name ("call f"), a load of
// a map, global or function address the symbol ("r1 = counts ll", "r1 =
// cfg + 8 ll"). So the text is what asm() reads back to the same value.
// Kernel functions and variables print as objdump prints them ("call
// -0x1", "r1 = 0x0 ll"): asm() has no form for them, as their
// prototypes come from insn.call_kfunc's arguments.
func insnString(i insnValue) string {
	ins := i.inst()
	s := ins.String()
	if t := i.label(); t != "" {
		if j := strings.LastIndexByte(s, ' '); j >= 0 {
			s = s[:j+1] + t
		}
	}
	switch r := i.ref(); r.Kind {
	case asm.RefFunc:
		s = "call " + r.Name
	case asm.RefMap, asm.RefGlobal, asm.RefFuncAddr:
		name := r.Name
		if r.Addend != 0 {
			name = fmt.Sprintf("%s + %d", name, r.Addend)
		}
		s = fmt.Sprintf("%s = %s ll", ins.Dst, name)
	}
	return s
}

func insnHash(i insnValue) uint32 {
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
	return h ^ s
}

// insnCompare compares two instructions: equal when they encode the same
// way and name the same label and symbol; where they were written does
// not matter.
func insnCompare(i insnValue, op syntax.Token, y starlark.Value) (bool, error) {
	j, ok := y.(insnValue)
	eq := ok && i.inst() == j.inst() && i.label() == j.label() && i.ref() == j.ref()
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("insn values can only be compared with == and !=")
}

var insnAttrs = []string{"code", "dst", "imm", "off", "size", "src", "target"}

// insnAttr exposes the fields of the instruction to Starlark.
func insnAttr(i insnValue, name string) (starlark.Value, error) {
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
