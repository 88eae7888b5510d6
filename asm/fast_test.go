package asm

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/bpfstar/bpfstar/isa"
)

// packedSource holds a program's items as Packed values in runs of random
// lengths, so that Assemble takes its one-pass path.
type packedSource struct {
	items []Packed
	runs  [][]Packed
}

// pack makes a packedSource of items. An instruction that validates is
// marked PackedChecked unless unchecked says otherwise (the assembler
// then validates it itself).
func pack(r *rand.Rand, items []Item, unchecked bool) *packedSource {
	s := &packedSource{}
	for _, it := range items {
		p := Packed{Line: it.Pos.Line, Col: it.Pos.Col, Ext: &PackedExt{File: it.Pos.File}}
		if it.IsLabel() {
			p.Flags = PackedLabel
			p.Ext.Label = it.Label
		} else {
			ins := it.Insn
			p.Imm, p.Off, p.Op, p.Regs = ins.Imm, ins.Off, ins.Op, uint8(ins.Dst&15)|uint8(ins.Src&15)<<4
			if ins.Raw {
				p.Flags |= PackedRaw
			}
			if ins.Validate() == nil && !unchecked {
				p.Flags |= PackedChecked
			}
			if it.Target != "" || it.Ref.Kind != RefNone {
				p.Flags |= PackedExtra
				p.Ext.Label = it.Target
				if it.Ref.Kind != RefNone {
					ref := it.Ref
					p.Ext.Ref = &ref
				}
			}
		}
		s.items = append(s.items, p)
	}
	for rest := s.items; len(rest) > 0; {
		n := 1 + r.IntN(len(rest))
		s.runs = append(s.runs, rest[:n:n])
		rest = rest[n:]
	}
	return s
}

func (s *packedSource) Len() int                               { return len(s.items) }
func (s *packedSource) Item(i int, it *Item)                   { s.items[i].Item(it) }
func (s *packedSource) Insn(i int) (isa.Instruction, ItemKind) { return s.items[i].Kind() }
func (s *packedSource) Pos(i int) Pos                          { return s.items[i].Pos() }
func (s *packedSource) Runs() int                              { return len(s.runs) }
func (s *packedSource) Run(k int) []Packed                     { return s.runs[k] }

// randomProgram makes a small program of labels, jumps (to labels, some
// undefined, and by offset, some out of range), long jumps, 64-bit loads,
// raw slots, references, invalid instructions and exits.
func randomProgram(r *rand.Rand) []Item {
	n := 1 + r.IntN(12)
	items := make([]Item, 0, n)
	label := func() string { return fmt.Sprintf("l%d", r.IntN(4)) }
	for i := 0; i < n; i++ {
		pos := Pos{File: "f.star", Line: int32(i + 1), Col: 1}
		var it Item
		switch r.IntN(12) {
		case 0:
			it = Item{Label: label()}
		case 1:
			it = Item{Insn: isa.Instruction{Op: 0x05}, Target: label()} // ja label
		case 2:
			it = Item{Insn: isa.Instruction{Op: 0x15, Dst: 1}, Target: label()} // if r1 == 0 goto label
		case 3:
			it = Item{Insn: isa.Instruction{Op: 0x06}, Target: label()} // gotol label
		case 4:
			it = Item{Insn: isa.Instruction{Op: 0x05, Off: int16(r.IntN(9) - 4)}} // ja +-n
		case 5:
			it = Item{Insn: isa.Instruction{Op: isa.OpLoadImm64, Dst: 2, Imm: r.Int64()}}
		case 6:
			it = Item{Insn: isa.Instruction{Op: isa.OpLoadImm64, Raw: true, Imm: 1}}
		case 7:
			it = Item{Insn: isa.Instruction{Raw: true, Imm: 2}}
		case 8:
			it = Item{Insn: isa.Instruction{Op: isa.OpLoadImm64, Dst: 1}, Ref: Ref{Kind: RefMap, Name: "m"}}
		case 9:
			it = Item{Insn: isa.Instruction{Op: 0xb7, Dst: isa.Register(r.IntN(12)), Imm: 1}} // r11 is invalid
		case 10:
			it = Item{Insn: isa.Instruction{Op: 0x05, Off: 1, Imm: int64(r.IntN(2))}} // ja +1, imm 1 is invalid
		default:
			it = Item{Insn: isa.Instruction{Op: 0x95}}
		}
		it.Pos = pos
		items = append(items, it)
	}
	return items
}

// The one-pass assembler gives the same result as the two-pass one on
// every program it accepts, and gives up (leaving the error to the two
// passes) on every program they refuse. Program.Lines places every
// instruction where they do.
func TestFastMatchesTwoPass(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for k := 0; k < 200000; k++ {
		items := randomProgram(r)
		slow, slowErr := assemble(&Program{Symbol: "p", Items: items})
		src := pack(r, items, r.IntN(4) == 0)
		fast := assemblePacked(src)
		switch {
		case slowErr != nil && fast != nil:
			t.Fatalf("program %v: two passes refuse it (%v), one pass accepts it", items, slowErr)
		case slowErr == nil && fast == nil:
			t.Fatalf("program %v: one pass gives up on a program two passes accept", items)
		case slowErr == nil:
			accepted++
			if !reflect.DeepEqual(slow, fast) {
				t.Fatalf("program %v:\ntwo passes %+v\none pass   %+v", items, slow, fast)
			}
		}
		// Line information: each instruction at the slot Assemble gives
		// it, read from packed runs and from Items alike.
		var want []string
		slot := 0
		for _, it := range items {
			if !it.IsLabel() {
				want = append(want, fmt.Sprint(slot, it.Pos))
				slot += it.Insn.Slots()
			}
		}
		for _, p := range []*Program{{Source: src}, {Items: items}} {
			var lines []string
			p.Lines(func(slot int, pos Pos) { lines = append(lines, fmt.Sprint(slot, pos)) })
			if !reflect.DeepEqual(lines, want) {
				t.Fatalf("program %v: Lines calls %v, want %v", items, lines, want)
			}
		}
	}
	t.Logf("%d of 200000 random programs valid", accepted)
	if accepted < 1000 {
		t.Errorf("only %d of the random programs were valid: the generator needs tuning", accepted)
	}
}
