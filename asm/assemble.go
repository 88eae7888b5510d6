package asm

import (
	"encoding/binary"

	"github.com/bpfstar/bpfstar/isa"
)

// Assemble lays out and checks p and returns its encoding.
//
// It reads the program once, in order, encoding each instruction as it
// goes; a jump to a label that comes later is encoded with a zero offset
// and filled in at the end, once every label has its slot. When a program
// has several problems, Assemble reports the one at the earliest
// instruction (a problem of the whole program, such as falling off its
// end, comes last).
func Assemble(p *Program) (*Result, error) {
	n := len(p.Insns)
	if n == 0 && len(p.Trailing) == 0 {
		return nil, errorf(p.Pos, ErrEmpty, "program %q is empty: it needs at least an exit instruction", p.Symbol)
	}
	if n > MaxInstructions {
		return nil, errorf(p.Pos, ErrTooLarge, "program %q has %d instructions, more than the kernel's limit of %d", p.Symbol, n, MaxInstructions)
	}
	a := assembler{
		p:      p,
		code:   make([]byte, 0, (n+n/8+1)*isa.SlotSize),
		labels: make(map[string]labelDef, n/16),
		first:  failure{at: n + 1},
	}
	a.run()
	if a.first.err != nil {
		return nil, a.first.err
	}
	if n == 0 {
		return nil, errorf(p.Pos, ErrEmpty, "program %q is empty: it needs at least an exit instruction", p.Symbol)
	}
	if last := p.Insns[n-1]; !last.Terminates() {
		return nil, errorf(last.Pos(), ErrFallsOff, "program %q falls off its end: the last instruction must be exit or an unconditional jump (ja/gotol)", p.Symbol)
	}
	return &Result{Code: a.code, Relocs: a.relocs, Insns: n}, nil
}

type assembler struct {
	p      *Program
	code   []byte
	relocs []Reloc
	// second has a bit for every slot that is the second half of a
	// 64-bit load, where no jump may land.
	second []uint64
	labels map[string]labelDef
	// The jumps to labels, filled in at the end, and the jumps by offset,
	// checked at the end: the slot and index of each.
	fixups, jumps []jumpAt
	first         failure
}

type labelDef struct {
	slot int32
	pos  Pos
}

type jumpAt struct{ slot, index int32 }

// failure is the problem found at the earliest instruction so far: at is
// its index (len(Insns) for the trailing labels, more when there is none).
type failure struct {
	at  int
	err *Error
}

// fail records err, found at instruction i, unless a problem at an
// earlier instruction is already known.
func (a *assembler) fail(i int, err *Error) {
	if i < a.first.at {
		a.first = failure{i, err}
	}
}

func (a *assembler) define(i int, l Label, slot int) {
	if prev, dup := a.labels[l.Name]; dup {
		e := errorf(l.Pos, ErrDuplicateLabel, "label %q defined twice (first at %v)", l.Name, prev.pos)
		e.Label = l.Name
		a.fail(i, e)
		return
	}
	a.labels[l.Name] = labelDef{int32(slot), l.Pos}
}

func (a *assembler) run() {
	insns := a.p.Insns
	slot := 0
	open := -1 // index of a raw first half of a 64-bit load that wants its second
	for i := range insns {
		ins := &insns[i]
		target, labels, ref := ins.Metadata.parts()
		for _, l := range labels {
			a.define(i, l, slot)
		}
		if a.first.err != nil {
			// Only the labels still matter: an earlier jump may need
			// one.
			slot += ins.Slots()
			continue
		}
		x := ins.Instruction
		if open >= 0 && !x.ClosesPair() {
			a.fail(open, unpaired(insns[open].Pos()))
			continue
		}
		open = -1
		if x.OpensPair() {
			open = i
		}
		if err := x.Validate(); err != nil {
			a.fail(i, errorf(ins.Pos(), ErrInvalid, "%v", err))
			continue
		}
		if target != "" {
			if !x.IsJump() {
				a.fail(i, errorf(ins.Pos(), ErrInvalid, "a jump target (label %q) on an instruction that does not jump", target))
				continue
			}
			a.fixups = append(a.fixups, jumpAt{int32(slot), int32(i)})
		} else if x.IsJump() {
			a.jumps = append(a.jumps, jumpAt{int32(slot), int32(i)})
		}
		if ref.Kind != RefNone {
			a.relocs = append(a.relocs, Reloc{Offset: uint64(slot) * isa.SlotSize, Ref: ref, Pos: ins.Pos()})
		}
		a.code = x.Append(a.code)
		if x.SecondHalf() {
			a.mark(slot + 1)
		}
		slot += x.Slots()
	}
	if open >= 0 {
		a.fail(open, unpaired(insns[open].Pos()))
	}
	for _, l := range a.p.Trailing {
		a.define(len(insns), l, slot)
	}
	a.resolve(int64(slot))
}

func unpaired(pos Pos) *Error {
	return errorf(pos, ErrUnpairedHalf, "a raw slot with opcode 0x18 starts a 64-bit load, which takes two slots: the next slot must be its second half (opcode, registers and offset zero, the high 32 bits in the immediate)")
}

// mark marks slot as the second half of a 64-bit load.
func (a *assembler) mark(slot int) {
	for slot/64 >= len(a.second) {
		a.second = append(a.second, 0)
	}
	a.second[slot/64] |= 1 << (slot % 64)
}

// lands reports whether a jump may land on slot dest of a program of total
// slots.
func (a *assembler) lands(dest, total int64) bool {
	if dest < 0 || dest >= total {
		return false
	}
	w := int(dest / 64)
	return w >= len(a.second) || a.second[w]&(1<<(dest%64)) == 0
}

// resolve fills in the jumps to labels and checks where every jump lands,
// for the instructions before the first problem found.
func (a *assembler) resolve(total int64) {
	insns := a.p.Insns
	for _, f := range a.fixups {
		if int(f.index) >= a.first.at {
			break
		}
		ins := &insns[f.index]
		target := ins.Target()
		def, ok := a.labels[target]
		if !ok {
			e := errorf(ins.Pos(), ErrUndefinedLabel, "undefined label %q", target)
			e.Label = target
			a.fail(int(f.index), e)
			break
		}
		x := ins.Instruction
		delta := int64(def.slot) - int64(f.slot) - 1
		if !x.SetJumpOffset(delta) {
			e := errorf(ins.Pos(), ErrJumpTooFar, "jump to label %q is %d instructions away, too far for a 16-bit offset (gotol has a 32-bit one)", target, delta)
			e.Label, e.Distance = target, delta
			a.fail(int(f.index), e)
			break
		}
		if !a.check(f, x, total) {
			break
		}
		// Only the offset field changes: patch it in place.
		at := a.code[f.slot*isa.SlotSize:]
		binary.LittleEndian.PutUint16(at[2:], uint16(x.Off))
		binary.LittleEndian.PutUint32(at[4:], uint32(x.Imm))
	}
	for _, j := range a.jumps {
		if int(j.index) >= a.first.at || !a.check(j, insns[j.index].Instruction, total) {
			break
		}
	}
}

// check reports whether the jump x at j lands on an instruction, and
// records the problem if not.
func (a *assembler) check(j jumpAt, x isa.Instruction, total int64) bool {
	dest, _ := x.JumpTarget(int64(j.slot))
	if a.lands(dest, total) {
		return true
	}
	delta, _ := x.JumpOffset()
	pos := a.p.Insns[j.index].Pos()
	if dest < 0 || dest >= total {
		a.fail(int(j.index), errorf(pos, ErrJumpOutside, "jump target %+d lands outside the program (instruction %d of %d)", delta, dest, total))
	} else {
		a.fail(int(j.index), errorf(pos, ErrJumpIntoPair, "jump target %+d lands in the middle of a 64-bit immediate load", delta))
	}
	return false
}
