// Package asm assembles programs: it lays out a list of instructions and
// labels, resolves symbolic jump targets into the offsets the encoding
// carries, checks every instruction against the ISA and the rules the kernel
// imposes on a whole program (a jump must land on an instruction inside the
// program, the last instruction must not fall through), and encodes the
// result.
//
// Every item carries the source position it came from, so that each error
// names the FILE:LINE:COL of the instruction at fault.
package asm

import (
	"fmt"

	"github.com/bpfstar/bpfstar/isa"
)

// MaxInstructions is the most instructions a program may have, the kernel's
// own limit (BPF_COMPLEXITY_LIMIT_INSNS).
const MaxInstructions = 1_000_000

// Pos is a source position: file name, 1-based line and column.
type Pos struct {
	File      string
	Line, Col int32
}

func (p Pos) String() string {
	if p.File == "" {
		return "<unknown>"
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Item is one element of a program: an instruction, or a label marking the
// position of the next instruction (when Label is not empty).
type Item struct {
	Label string

	Insn isa.Instruction
	// Target, if not empty, names the label a jump goes to; the assembler
	// fills in the offset (Off, or Imm for gotol).
	Target string
	// Ref, if set, names a symbol the instruction refers to: the linker
	// turns it into a relocation.
	Ref Ref

	Pos Pos
}

// RefKind says what kind of symbol a reference names.
type RefKind uint8

// Reference kinds.
const (
	RefNone   RefKind = iota
	RefMap            // a 64-bit load of a map's file descriptor
	RefGlobal         // a 64-bit load of the address of a global variable, plus Addend bytes
	RefFunc           // a call of a BPF function
)

// Ref is a symbolic reference from an instruction to a map, a global
// variable or a function, resolved when the object is linked.
type Ref struct {
	Kind   RefKind
	Name   string
	Addend int64
}

// Reloc is a reference at a byte offset of the assembled code.
type Reloc struct {
	Offset uint64
	Ref    Ref
	Pos    Pos
}

// Result is an assembled program.
type Result struct {
	Code   []byte
	Relocs []Reloc
	Insns  int // number of instructions (a 64-bit load counts once)
}

// IsLabel reports whether the item is a label.
func (it *Item) IsLabel() bool { return it.Label != "" }

// Program is one BPF program: the instructions of one entry point.
type Program struct {
	Section string // ELF section, e.g. "cgroup/dev"
	Symbol  string // entry point symbol name
	Items   []Item
	// Source, when not nil, holds the items instead of Items: a front end
	// can hand over its own (more compact) values without copying them
	// into a slice of Items.
	Source Source
	Pos    Pos // where the program was declared
}

// Source is a sequence of items held in some other form than []Item.
type Source interface {
	Len() int
	// Item sets every field of *it to the item at index i, 0 <= i < Len().
	// (Filling in a caller's Item is three times faster than returning
	// one, which matters at a million items read three times each.)
	Item(i int, it *Item)
}

// ItemKind says what an item is, as an InsnSource tells it.
type ItemKind uint8

// Item kinds.
const (
	KindInsn  ItemKind = iota // an instruction without a Target or a Ref
	KindLabel                 // a label
	KindOther                 // an instruction with a Target or a Ref
)

// InsnSource is a Source that can also give the parts of an item alone:
// the two-pass assembler reads a plain instruction (and Program.Lines its
// position) without filling in a whole Item, and reads the whole Item only
// of labels and of instructions with a target or a reference.
type InsnSource interface {
	Source
	// Insn returns the kind of item i and, unless it is a label, its
	// instruction (as Item would set Insn).
	Insn(i int) (isa.Instruction, ItemKind)
	// Pos returns the position of item i (as Item would set Pos).
	Pos(i int) Pos
}

// Len returns the number of items of the program.
func (p *Program) Len() int {
	if p.Source != nil {
		return p.Source.Len()
	}
	return len(p.Items)
}

// At returns the item at index i, 0 <= i < p.Len().
func (p *Program) At(i int) Item {
	var it Item
	p.Item(i, &it)
	return it
}

// Item sets *it to the item at index i, 0 <= i < p.Len(): At without a
// copy, for loops over every item.
func (p *Program) Item(i int, it *Item) {
	if p.Source != nil {
		p.Source.Item(i, it)
		return
	}
	*it = p.Items[i]
}

// Insn returns the kind of item i, 0 <= i < p.Len(), and unless it is a
// label its instruction. For a KindOther item, read the rest with Item.
func (p *Program) Insn(i int) (isa.Instruction, ItemKind) {
	if s, ok := p.Source.(InsnSource); ok {
		return s.Insn(i)
	}
	it := p.At(i)
	switch {
	case it.IsLabel():
		return isa.Instruction{}, KindLabel
	case it.Target != "" || it.Ref.Kind != RefNone:
		return it.Insn, KindOther
	}
	return it.Insn, KindInsn
}

// PosAt returns the position of item i, 0 <= i < p.Len().
func (p *Program) PosAt(i int) Pos {
	if s, ok := p.Source.(InsnSource); ok {
		return s.Pos(i)
	}
	return p.At(i).Pos
}

// Error is an assembly error at a source position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Assemble lays out and checks p and returns its encoding.
//
// A program whose Source is a PackedSource is assembled in one pass over
// its items (the items of a large program do not fit in the caches, and
// reading them is what takes the time). That pass gives up on the first
// problem it finds; the program is then assembled again by the two passes
// below, which report the problem that comes first in their order.
func Assemble(p *Program) (*Result, error) {
	if src, ok := p.Source.(PackedSource); ok {
		if res := assemblePacked(src); res != nil {
			return res, nil
		}
	}
	return assemble(p)
}

// Lines calls fn for every instruction of p, in order, with its slot
// offset (where Assemble puts it) and its position: the program's line
// information. It reads a PackedSource run by run.
func (p *Program) Lines(fn func(slot int, pos Pos)) {
	slot := 0
	if src, ok := p.Source.(PackedSource); ok {
		for k, runs := 0, src.Runs(); k < runs; k++ {
			run, exts := src.Run(k)
			for j := range run {
				q := &run[j]
				if q.Flags&PackedLabel != 0 {
					continue
				}
				fn(slot, Pos{File: exts[q.Ext].File, Line: q.Line, Col: q.Col})
				slot++
				if q.Op == isa.OpLoadImm64 && q.Flags&PackedRaw == 0 {
					slot++
				}
			}
		}
		return
	}
	for i, n := 0, p.Len(); i < n; i++ {
		if ins, kind := p.Insn(i); kind != KindLabel {
			fn(slot, p.PosAt(i))
			slot += ins.Slots()
		}
	}
}

// setDelta sets the target of a jump to a label delta slots away, and
// reports whether it fits.
func setDelta(ins *isa.Instruction, delta int64) bool {
	if isGotol(*ins) {
		ins.Imm = delta
		return true
	}
	if !isa.FitsInt16(delta) {
		return false
	}
	ins.Off = int16(delta)
	return true
}

// assemble is the two-pass assembler: it reports the first problem of a
// program in a fixed order.
func assemble(p *Program) (*Result, error) {
	// Read plain instructions without filling in an Item, when the
	// source can tell them apart.
	src, fast := p.Source.(InsnSource)
	it := new(Item)
	read := func(i int) (isa.Instruction, ItemKind) {
		if fast {
			ins, k := src.Insn(i)
			if k == KindOther {
				src.Item(i, it)
			}
			return ins, k
		}
		p.Item(i, it)
		switch {
		case it.IsLabel():
			return it.Insn, KindLabel
		case it.Target != "" || it.Ref.Kind != RefNone:
			return it.Insn, KindOther
		}
		return it.Insn, KindInsn
	}

	// Pass 1: slot offsets of instructions and labels.
	type label struct {
		slot int
		pos  Pos
	}
	labels := make(map[string]label)
	var seconds []int // slots that are the second half of a 64-bit load
	slot, n := 0, 0
	items := p.Len()
	for i := 0; i < items; i++ {
		ins, kind := read(i)
		if kind == KindLabel {
			p.Item(i, it)
			if prev, dup := labels[it.Label]; dup {
				return nil, errorf(it.Pos, "label %q defined twice (first at %v)", it.Label, prev.pos)
			}
			labels[it.Label] = label{slot, it.Pos}
			continue
		}
		s := ins.Slots()
		if s == 2 || isRawLoadImm64(ins) {
			seconds = append(seconds, slot+1)
		}
		slot += s
		n++
	}
	if n == 0 {
		return nil, errorf(p.Pos, "program %q is empty: it needs at least an exit instruction", p.Symbol)
	}
	if n > MaxInstructions {
		return nil, errorf(p.Pos, "program %q has %d instructions, more than the kernel's limit of %d", p.Symbol, n, MaxInstructions)
	}
	total := slot

	// Pass 2: resolve targets, check, encode.
	code := make([]byte, 0, total*isa.SlotSize)
	var second []bool // lazily: seconds as a set
	slot = 0
	last := -1 // index of the last instruction
	open := -1 // index of a raw first half of a 64-bit load that wants its second
	var relocs []Reloc
	for i := 0; i < items; i++ {
		ins, kind := read(i)
		if kind == KindLabel {
			continue
		}
		if open >= 0 && !(ins.Raw && ins.Op == 0 && ins.Dst == 0 && ins.Src == 0 && ins.Off == 0) {
			return nil, rawHalfError(p.PosAt(open))
		}
		open = -1
		if isRawLoadImm64(ins) {
			open = i
		}
		if kind == KindOther && it.Target != "" {
			dest, ok := labels[it.Target]
			if !ok {
				return nil, errorf(it.Pos, "undefined label %q", it.Target)
			}
			delta := int64(dest.slot - slot - 1)
			if isGotol(ins) {
				ins.Imm = delta
			} else {
				if !isa.FitsInt16(delta) {
					return nil, errorf(it.Pos, "jump to label %q is %d instructions away, too far for a 16-bit offset: use insn.gotol", it.Target, delta)
				}
				ins.Off = int16(delta)
			}
		}
		if err := ins.Validate(); err != nil {
			return nil, errorf(p.PosAt(i), "%v", err)
		}
		if delta, ok := jumpDelta(ins); ok {
			dest := int64(slot) + 1 + delta
			if dest < 0 || dest >= int64(total) {
				return nil, errorf(p.PosAt(i), "jump target %+d lands outside the program (instruction %d of %d)", delta, dest, total)
			}
			if second == nil {
				second = make([]bool, total)
				for _, s := range seconds {
					if s < total { // a raw first half at the end has no second
						second[s] = true
					}
				}
			}
			if second[dest] {
				return nil, errorf(p.PosAt(i), "jump target %+d lands in the middle of a 64-bit immediate load", delta)
			}
		}
		if kind == KindOther && it.Ref.Kind != RefNone {
			relocs = append(relocs, Reloc{Offset: uint64(slot) * isa.SlotSize, Ref: it.Ref, Pos: it.Pos})
		}
		code = ins.Append(code)
		slot += ins.Slots()
		last = i
	}
	if open >= 0 {
		return nil, rawHalfError(p.PosAt(open))
	}
	if ins, _ := p.Insn(last); !terminates(ins) {
		return nil, errorf(p.PosAt(last), "program %q falls off its end: the last instruction must be exit or an unconditional jump (ja/gotol)", p.Symbol)
	}
	return &Result{Code: code, Relocs: relocs, Insns: n}, nil
}

// isRawLoadImm64 reports whether ins is a raw slot with the opcode of a
// 64-bit load: the loaders read the next slot as its second half.
func isRawLoadImm64(ins isa.Instruction) bool { return ins.Raw && ins.Op == isa.OpLoadImm64 }

func rawHalfError(pos Pos) *Error {
	return errorf(pos, "insn.raw: code 0x18 starts a 64-bit load, which takes two slots: follow it with its second half, insn.raw(0, 0, 0, 0, IMM_HI)")
}

func isGotol(ins isa.Instruction) bool {
	return !ins.Raw && ins.Op.Class() == isa.ClassJMP32 && ins.Op.JumpOp() == isa.JumpJA
}

// jumpDelta returns the relative target of a jump instruction, in slots.
func jumpDelta(ins isa.Instruction) (int64, bool) {
	if ins.Raw {
		return 0, false
	}
	c := ins.Op.Class()
	if c != isa.ClassJMP && c != isa.ClassJMP32 {
		return 0, false
	}
	switch ins.Op.JumpOp() {
	case isa.JumpCall, isa.JumpExit:
		return 0, false
	case isa.JumpJA:
		if c == isa.ClassJMP32 {
			return ins.Imm, true
		}
	}
	return int64(ins.Off), true
}

func terminates(ins isa.Instruction) bool {
	c := ins.Op.Class()
	return (c == isa.ClassJMP || c == isa.ClassJMP32) &&
		(ins.Op.JumpOp() == isa.JumpJA || (c == isa.ClassJMP && ins.Op.JumpOp() == isa.JumpExit))
}
