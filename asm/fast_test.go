package asm

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"unsafe"

	"github.com/bpfstar/bpfstar/isa"
)

// packedSource holds a program's items as Packed values in runs of random
// lengths, so that Assemble takes its one-pass path. Each run has its own
// table of PackedExts; consecutive items with the same out-of-line part
// share an entry, as a front end's would.
type packedSource struct {
	items []Packed
	exts  []*PackedExt // of each item
	runs  [][]Packed
	tabs  [][]*PackedExt
}

// pack makes a packedSource of items. An instruction that validates is
// marked PackedChecked unless unchecked says otherwise (the assembler
// then validates it itself).
func pack(r *rand.Rand, items []Item, unchecked bool) *packedSource {
	s := &packedSource{}
	for _, it := range items {
		var p Packed
		x := &PackedExt{File: it.Pos.File}
		p.Line, p.Col = it.Pos.Line, it.Pos.Col
		if it.IsLabel() {
			p.Flags = PackedLabel
			x.Label = it.Label
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
				x.Label = it.Target
				if it.Ref.Kind != RefNone {
					ref := it.Ref
					x.Ref = &ref
				}
			}
		}
		p.Aux = uint8(r.IntN(256)) // not the assembler's business
		s.items = append(s.items, p)
		s.exts = append(s.exts, x)
	}
	for at := 0; at < len(s.items); {
		n := 1 + r.IntN(len(s.items)-at)
		run := s.items[at : at+n : at+n]
		var tab []*PackedExt
		for j := range run {
			x := s.exts[at+j]
			if k := len(tab) - 1; k >= 0 && *tab[k] == *x {
				x = tab[k]
			} else {
				tab = append(tab, x)
			}
			s.exts[at+j] = x
			run[j].Ext = uint8(len(tab) - 1)
		}
		s.runs, s.tabs = append(s.runs, run), append(s.tabs, tab)
		at += n
	}
	return s
}

func (s *packedSource) Len() int                               { return len(s.items) }
func (s *packedSource) Item(i int, it *Item)                   { s.items[i].Item(s.exts[i], it) }
func (s *packedSource) Insn(i int) (isa.Instruction, ItemKind) { return s.items[i].Kind() }
func (s *packedSource) Pos(i int) Pos                          { return s.items[i].Pos(s.exts[i]) }
func (s *packedSource) Runs() int                              { return len(s.runs) }
func (s *packedSource) Run(k int) ([]Packed, []*PackedExt)     { return s.runs[k], s.tabs[k] }

// A Packed item is 24 bytes and holds no pointer.
func TestPackedSize(t *testing.T) {
	if n := unsafe.Sizeof(Packed{}); n != 24 {
		t.Errorf("Packed is %d bytes, want 24", n)
	}
	if hasPointer(reflect.TypeOf(Packed{})) {
		t.Error("Packed holds a pointer")
	}
}

func hasPointer(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if hasPointer(t.Field(i).Type) {
				return true
			}
		}
	case reflect.Array:
		return hasPointer(t.Elem())
	}
	return false
}

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
