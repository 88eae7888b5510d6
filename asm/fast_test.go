package asm

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/bpfstar/bpfstar/isa"
)

// itemsSource presents a Program of Items as an InsnSource (through the
// Program's own accessors), so that AssembleLines takes its one-pass path.
type itemsSource struct{ *Program }

func (s itemsSource) Pos(i int) Pos { return s.PosAt(i) }

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
		switch r.IntN(11) {
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
// passes) on every program they refuse; line info agrees too.
func TestFastMatchesTwoPass(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for k := 0; k < 200000; k++ {
		items := randomProgram(r)
		slow, slowErr := assemble(&Program{Symbol: "p", Items: items})
		var lines []string
		fast := assembleFast(itemsSource{&Program{Symbol: "p", Items: items}}, func(slot int, pos Pos) { lines = append(lines, fmt.Sprint(slot, pos)) })
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
			var want []string
			slot := 0
			for _, it := range items {
				if !it.IsLabel() {
					want = append(want, fmt.Sprint(slot, it.Pos))
					slot += it.Insn.Slots()
				}
			}
			if !reflect.DeepEqual(lines, want) {
				t.Fatalf("program %v: line calls %v, want %v", items, lines, want)
			}
		}
	}
	t.Logf("%d of 200000 random programs valid", accepted)
	if accepted < 1000 {
		t.Errorf("only %d of the random programs were valid: the generator needs tuning", accepted)
	}
}
