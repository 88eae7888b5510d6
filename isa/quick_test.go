package isa

import (
	"math/rand/v2"
	"testing"
)

// quickValid never accepts what the full rules refuse, and accepts the
// common forms.
func TestQuickAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	offs := []int16{0, 1, 8, 16, 32, -1, 0x7fff}
	imms := []int64{0, 1, -1, 16, 32, 64, 1 << 31, -1 << 31, 1<<31 - 1, 1 << 40, 0x10, 0x11, 0xe1, 0xf1}
	quick := 0
	for n := 0; n < 2_000_000; n++ {
		ins := Instruction{
			Op:  Opcode(r.IntN(256)),
			Dst: Register(r.IntN(16)),
			Src: Register(r.IntN(16)),
			Off: offs[r.IntN(len(offs))],
			Imm: imms[r.IntN(len(imms))],
		}
		if !ins.quickValid() {
			continue
		}
		quick++
		if err := ins.validate(); err != nil {
			t.Fatalf("quickValid accepts %+v, which validate refuses: %v", ins, err)
		}
	}
	if quick == 0 {
		t.Fatal("quickValid accepted nothing")
	}
	for _, ins := range []Instruction{
		{Op: 0xb7, Dst: 1, Imm: 5}, {Op: 0x0f, Dst: 1, Src: 2}, {Op: 0x61, Dst: 2, Src: 1, Off: 4},
		{Op: 0x15, Dst: 1, Imm: 3, Off: 2}, {Op: OpLoadImm64, Dst: 1, Imm: 1 << 40}, {Op: 0x85, Imm: 1},
		{Op: 0x95}, {Op: 0x7b, Dst: 10, Src: 1, Off: -8}, {Op: 0x05, Off: 3}, {Op: 0x06, Imm: 1 << 20},
	} {
		if !ins.quickValid() {
			t.Errorf("quickValid refuses the common %v", ins)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	ins := []Instruction{{Op: 0xb7, Dst: 1, Imm: 5}, {Op: 0x0f, Dst: 1, Src: 2}, {Op: 0x61, Dst: 2, Src: 1, Off: 4}, {Op: 0x15, Dst: 1, Imm: 3, Off: 2}, {Op: OpLoadImm64, Dst: 1, Imm: 1 << 40}, {Op: 0x85, Imm: 1}, {Op: 0x95}, {Op: 0x7b, Dst: 10, Src: 1, Off: -8}}
	for b.Loop() {
		for _, x := range ins {
			if x.Validate() != nil {
				b.Fatal(x)
			}
		}
	}
}
