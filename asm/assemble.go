package asm

import (
	"encoding/binary"
	"math"

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
		labels: make(map[string]int32, n/8),
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
	// labels holds the index in defs of each label's definition.
	labels map[string]int32
	defs   []labelDef
	// pending holds the jumps to labels not defined when they were read,
	// most of them forward to a label a few instructions on (the end of a
	// block), resolved when it is defined; the map is read only for the
	// others (jumps back, and far).
	pending []pendingJump
	// The jumps by offset, checked at the end.
	jumps []jumpAt
	first failure
}

type pendingJump struct {
	jumpAt
	name string
}

// window is how many of the latest pending jumps a label's definition
// looks at: enough for the jumps of a block to its end, few enough that
// jumps to far labels do not make each definition slow.
const window = 16

type labelDef struct {
	slot  int32
	label *Label // in the metadata of the instruction it marks, or in Trailing
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

// define places label l at slot, for instruction i (len(Insns) for the
// end), and resolves the pending jumps to it among the latest.
func (a *assembler) define(i int, l *Label, slot int) {
	// One map operation a label: the map grows unless the name was there
	// (then the first definition is found again, on this rare path).
	n := len(a.labels)
	a.labels[l.Name] = int32(len(a.defs))
	if len(a.labels) == n {
		for k, d := range a.defs {
			if d.label.Name == l.Name {
				a.labels[l.Name] = int32(k)
				e := errorf(l.Pos, ErrDuplicateLabel, "label %q defined twice (first at %v)", l.Name, d.label.Pos)
				e.Label = l.Name
				a.fail(i, e)
				return
			}
		}
	}
	def := labelDef{int32(slot), l}
	a.defs = append(a.defs, def)
	total := int64(-1) // a label before an instruction: a jump to it lands
	if i == len(a.p.Insns) {
		total = int64(slot)
	}
	for k := len(a.pending) - 1; k >= 0 && k >= len(a.pending)-window; k-- {
		if j := &a.pending[k]; j.index >= 0 && j.name == l.Name {
			a.resolveJump(j.jumpAt, l.Name, def, total)
			j.index = -1
		}
	}
	for len(a.pending) > 0 && a.pending[len(a.pending)-1].index < 0 {
		a.pending = a.pending[:len(a.pending)-1]
	}
}

// jumpTo notes the jump at j to label name, to be resolved when the label
// is defined or at the end.
func (a *assembler) jumpTo(j jumpAt, name string) {
	a.pending = append(a.pending, pendingJump{j, name})
}

func (a *assembler) run() {
	insns := a.p.Insns
	slot := 0
	open := -1 // index of a raw first half of a 64-bit load that wants its second
	for i := range insns {
		ins := &insns[i]
		target, ref, labels := ins.Metadata.parts()
		if labels {
			ins.eachLabel(func(l *Label) { a.define(i, l, slot) })
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
		if target != "" && !x.IsJump() {
			a.fail(i, errorf(ins.Pos(), ErrInvalid, "a jump target (label %q) on an instruction that does not jump", target))
			continue
		}
		if ref.Kind != RefNone {
			a.relocs = append(a.relocs, Reloc{Offset: uint64(slot) * isa.SlotSize, Ref: ref, Pos: ins.Pos()})
		}
		a.code = x.Append(a.code)
		if target != "" {
			a.jumpTo(jumpAt{int32(slot), int32(i)}, target)
		} else if x.IsJump() {
			a.jumps = append(a.jumps, jumpAt{int32(slot), int32(i)})
		}
		if x.SecondHalf() {
			a.mark(slot + 1)
		}
		slot += x.Slots()
	}
	if open >= 0 {
		a.fail(open, unpaired(insns[open].Pos()))
	}
	for k := range a.p.Trailing {
		a.define(len(insns), &a.p.Trailing[k], slot)
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

// resolve fills in the jumps to labels still pending and checks where
// the jumps by offset land.
func (a *assembler) resolve(total int64) {
	for _, j := range a.pending {
		if j.index < 0 {
			continue
		}
		k, ok := a.labels[j.name]
		if !ok {
			e := errorf(a.p.Insns[j.index].Pos(), ErrUndefinedLabel, "undefined label %q", j.name)
			e.Label = j.name
			a.fail(int(j.index), e)
			continue
		}
		a.resolveJump(j.jumpAt, j.name, a.defs[k], total)
	}
	for _, j := range a.jumps {
		if int(j.index) >= a.first.at || !a.check(j, a.p.Insns[j.index].Instruction, total, "") {
			break
		}
	}
}

// resolveJump fills in the jump at j to the label name, defined at def, in
// a program of total slots (-1: a jump to def lands on an instruction).
func (a *assembler) resolveJump(j jumpAt, name string, def labelDef, total int64) {
	if int(j.index) >= a.first.at {
		return
	}
	x := a.p.Insns[j.index].Instruction
	delta := int64(def.slot) - int64(j.slot) - 1
	if !x.SetJumpOffset(delta) {
		e := errorf(a.p.Insns[j.index].Pos(), ErrJumpTooFar, "jump to label %q is %d instructions away, too far for a 16-bit offset (gotol has a 32-bit one)", name, delta)
		e.Label, e.Distance = name, delta
		a.fail(int(j.index), e)
		return
	}
	if total < 0 {
		total = math.MaxInt64
	}
	if !a.check(j, x, total, name) {
		return
	}
	// Only the offset fields change: patch them in place.
	if at := int(j.slot) * isa.SlotSize; at+isa.SlotSize <= len(a.code) {
		binary.LittleEndian.PutUint16(a.code[at+2:], uint16(x.Off))
		binary.LittleEndian.PutUint32(a.code[at+4:], uint32(x.Imm))
	}
}

// check reports whether the jump x at j, to label (if not empty), lands on
// an instruction, and records the problem if not.
func (a *assembler) check(j jumpAt, x isa.Instruction, total int64, label string) bool {
	dest, _ := x.JumpTarget(int64(j.slot))
	if a.lands(dest, total) {
		return true
	}
	delta, _ := x.JumpOffset()
	pos := a.p.Insns[j.index].Pos()
	switch {
	case label != "" && dest == total:
		e := errorf(pos, ErrJumpOutside, "jump to label %q lands past the last instruction: a label after it marks the end of the program, where no jump may land", label)
		e.Label = label
		a.fail(int(j.index), e)
	case dest < 0 || dest >= total:
		a.fail(int(j.index), errorf(pos, ErrJumpOutside, "jump target %+d lands outside the program (at slot %d; its slots are 0 to %d)", delta, dest, total-1))
	default:
		a.fail(int(j.index), errorf(pos, ErrJumpIntoPair, "jump target %+d lands in the middle of a 64-bit immediate load", delta))
	}
	return false
}
