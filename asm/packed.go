package asm

import (
	"github.com/bpfstar/bpfstar/isa"
)

// Packed is an item in 24 bytes, without a pointer: the form in which a
// front end can keep the items of a large program, and from which the
// assembler reads them fastest (see PackedSource). The instruction is
// packed into Imm, Off, Op and Regs. What few items have besides (a label,
// a jump target, a symbol reference) and the file name live out of line,
// in a PackedExt that many items may share: a run of items comes with a
// table of them, which Ext indexes. Having no pointer, a million Packed
// items cost the garbage collector nothing to scan.
type Packed struct {
	Imm   int64
	Off   int16
	Op    isa.Opcode
	Regs  uint8 // Dst | Src<<4, as the encoding has them
	Flags PackedFlags
	Ext   uint8 // the item's PackedExt: its index in its run's table
	Aux   uint8 // the front end's own; the assembler does not read it
	Line  int32
	Col   int32
}

// PackedFlags say what a Packed item is.
type PackedFlags uint8

// Packed flags.
const (
	// PackedRaw: the instruction is a raw slot (isa.Instruction.Raw).
	PackedRaw PackedFlags = 1 << iota
	// PackedLabel: the item is the label Ext.Label; its instruction
	// fields are zero.
	PackedLabel
	// PackedExtra: the item has a label or a reference in Ext (a jump
	// to label Ext.Label, an instruction referring to Ext.Ref).
	PackedExtra
	// PackedChecked: the instruction passed isa.Instruction.Validate
	// when it was made, so the assembler does not check it again.
	PackedChecked
)

// PackedExt is what a Packed item holds out of line: the name of the file
// it was written in, its label (of a PackedLabel) or jump target, and the
// symbol it refers to.
type PackedExt struct {
	File  string
	Label string
	Ref   *Ref
}

// Instruction returns the instruction of the item (zero for a label).
func (p *Packed) Instruction() isa.Instruction {
	return isa.Instruction{Op: p.Op, Dst: isa.Register(p.Regs & 15), Src: isa.Register(p.Regs >> 4), Off: p.Off, Imm: p.Imm, Raw: p.Flags&PackedRaw != 0}
}

// Pos returns the item's position; x is its PackedExt.
func (p *Packed) Pos(x *PackedExt) Pos { return Pos{File: x.File, Line: p.Line, Col: p.Col} }

// Kind returns the kind of the item and, unless it is a label, its
// instruction, as InsnSource.Insn does.
func (p *Packed) Kind() (isa.Instruction, ItemKind) {
	switch {
	case p.Flags&PackedLabel != 0:
		return isa.Instruction{}, KindLabel
	case p.Flags&PackedExtra != 0:
		return p.Instruction(), KindOther
	}
	return p.Instruction(), KindInsn
}

// Item sets *it to the item; x is its PackedExt.
func (p *Packed) Item(x *PackedExt, it *Item) {
	it.Pos = p.Pos(x)
	switch {
	case p.Flags&PackedLabel != 0:
		it.Label, it.Insn, it.Target, it.Ref = x.Label, isa.Instruction{}, "", Ref{}
	case x.Ref == nil:
		it.Label, it.Insn, it.Target, it.Ref = "", p.Instruction(), x.Label, Ref{}
	default:
		it.Label, it.Insn, it.Target, it.Ref = "", p.Instruction(), x.Label, *x.Ref
	}
}

// PackedSource is an InsnSource that holds its items as Packed values, in
// runs: the assembler reads each run as a slice, item after item, rather
// than through a method call per item.
type PackedSource interface {
	InsnSource
	// Runs returns the number of runs.
	Runs() int
	// Run returns run k, 0 <= k < Runs(), and the table of PackedExts its
	// items' Ext fields index. The runs, one after the other, are the
	// items 0..Len()-1 in order.
	Run(k int) ([]Packed, []*PackedExt)
}

// assemblePacked assembles a program in one pass over its runs: jumps to
// labels that come later are filled in at the end. It returns nil when the
// program has a problem of any kind (the two-pass assembler then says
// which).
func assemblePacked(src PackedSource) *Result {
	items := src.Len()
	// Guesses at the sizes, grown when wrong: every item an instruction,
	// one in eight a 64-bit load, a label every 16 items, a jump to a
	// label every 8. (A million items make about 14 MB; letting each grow
	// from nothing took 30 ms, mostly in page faults.)
	code := make([]byte, (items+items/8+2)*isa.SlotSize)
	// second marks the slots that are the second half of a 64-bit load,
	// where no jump may land: a bit a slot of code.
	second := make([]uint64, len(code)/isa.SlotSize/64+1)
	// Labels by name, and the slot of each (-1 until placed). A jump to
	// a label and the label itself usually share their name's string, so
	// the last name looked up is tried first.
	labelIdx := make(map[string]int32, items/16)
	labelSlot := make([]int32, 0, items/16)
	lastName, lastIdx := "", int32(-1)
	label := func(name string) int32 {
		if lastIdx >= 0 && name == lastName {
			return lastIdx
		}
		id, ok := labelIdx[name]
		if !ok {
			id = int32(len(labelSlot))
			labelIdx[name] = id
			labelSlot = append(labelSlot, -1)
		}
		lastName, lastIdx = name, id
		return id
	}
	// A jump to a label, filled in at the end: the slot, the label and
	// where the item is (no pointer: appending does not involve the
	// collector).
	type fixup struct{ slot, label, run, index int32 }
	fixups := make([]fixup, 0, items/8)
	var dests []int32 // the slots the jumps by offset land on
	var relocs []Reloc
	slot, n, open := 0, 0, false
	var last *Packed
	for k, runs := 0, src.Runs(); k < runs; k++ {
		run, exts := src.Run(k)
		for j := range run {
			p := &run[j]
			if p.Flags&PackedLabel != 0 {
				id := label(exts[p.Ext].Label)
				if labelSlot[id] >= 0 {
					return nil // defined twice
				}
				labelSlot[id] = int32(slot)
				continue
			}
			if len(code) < (slot+2)*isa.SlotSize {
				code = append(code, make([]byte, len(code)/2+2*isa.SlotSize)...)
				second = append(second, make([]uint64, len(code)/isa.SlotSize/64+1-len(second))...)
			}
			at := code[slot*isa.SlotSize : (slot+2)*isa.SlotSize]
			if p.Flags == PackedChecked && !open {
				// A plain instruction, valid as made: encode it, here
				// rather than through isa.Instruction.Append, which does
				// not inline (link of 1M items: 47 against 60 ms).
				// TestFastMatchesTwoPass holds the two encodings equal.
				at[0], at[1] = byte(p.Op), p.Regs
				at[2], at[3] = byte(uint16(p.Off)), byte(uint16(p.Off)>>8)
				putUint32(at[4:], uint32(p.Imm))
				s := 1
				switch p.Op.Class() {
				case isa.ClassLD:
					if p.Op == isa.OpLoadImm64 {
						at[8], at[9], at[10], at[11] = 0, 0, 0, 0
						putUint32(at[12:], uint32(uint64(p.Imm)>>32))
						second[(slot+1)/64] |= 1 << ((slot + 1) % 64)
						s = 2
					}
				case isa.ClassJMP, isa.ClassJMP32:
					if delta, ok := jumpDelta(p.Instruction()); ok {
						dests = append(dests, int32(int64(slot)+1+delta))
					}
				}
				slot += s
				n++
				last = p
				continue
			}
			ins := p.Instruction()
			if open && !(ins.Raw && ins.Op == 0 && ins.Dst == 0 && ins.Src == 0 && ins.Off == 0) {
				return nil
			}
			open = isRawLoadImm64(ins)
			if p.Flags&PackedChecked == 0 && ins.Validate() != nil {
				return nil
			}
			x := exts[p.Ext]
			if p.Flags&PackedExtra != 0 {
				if x.Label != "" {
					// Placed later, or earlier: either way, filled in
					// at the end, once every label has its slot.
					fixups = append(fixups, fixup{int32(slot), label(x.Label), int32(k), int32(j)})
				}
				if x.Ref != nil && x.Ref.Kind != RefNone {
					relocs = append(relocs, Reloc{Offset: uint64(slot) * isa.SlotSize, Ref: *x.Ref, Pos: p.Pos(x)})
				}
			}
			if p.Flags&PackedExtra == 0 || x.Label == "" {
				if delta, ok := jumpDelta(ins); ok {
					dests = append(dests, int32(int64(slot)+1+delta))
				}
			}
			ins.Append(at[:0])
			s := ins.Slots()
			if s == 2 || open {
				second[(slot+1)/64] |= 1 << ((slot + 1) % 64)
			}
			slot += s
			n++
			last = p
		}
	}
	if open || n == 0 || n > MaxInstructions || !terminates(last.Instruction()) {
		return nil
	}
	total := int64(slot)
	lands := func(dest int64) bool {
		return dest >= 0 && dest < total && second[dest/64]&(1<<(dest%64)) == 0
	}
	for _, d := range dests {
		if !lands(int64(d)) {
			return nil
		}
	}
	code = code[:slot*isa.SlotSize]
	for _, f := range fixups {
		dest := labelSlot[f.label]
		run, _ := src.Run(int(f.run))
		ins := run[f.index].Instruction()
		if dest < 0 || !setDelta(&ins, int64(dest)-int64(f.slot)-1) || ins.Validate() != nil {
			return nil
		}
		if delta, _ := jumpDelta(ins); !lands(int64(f.slot) + 1 + delta) {
			return nil
		}
		ins.Append(code[f.slot*isa.SlotSize : f.slot*isa.SlotSize])
	}
	return &Result{Code: code, Relocs: relocs, Insns: n}
}

func putUint32(b []byte, v uint32) {
	_ = b[3]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
