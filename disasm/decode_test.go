package disasm

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/isa"
)

// TestDecodeLLVM pins the cases of isa.DecodeLLVM that the disassembler
// relies on: how many bytes a line takes, and when the instruction is one
// whose jump target can be asked for. (The isa package's own tests cover the
// text; TestInstructions and TestRandomBytes compare whole listings with
// llvm-objdump-19.)
func TestDecodeLLVM(t *testing.T) {
	ldimm := func(dst, src isa.Register, off int16, imm int64) []byte {
		return isa.Instruction{Op: isa.OpLoadImm64, Dst: dst, Src: src, Off: off, Imm: imm}.Append(nil)
	}
	reserved := ldimm(1, 0, 0, 0x123456789)
	reserved[9] = 0x7f // LLVM reads only the second slot's immediate
	tests := []struct {
		name  string
		b     []byte
		text  string
		n     int
		imm   int64
		raw   bool
		jumps bool
	}{
		{"empty", nil, isa.Unknown, 1, 0, false, false},
		{"short", []byte{0xb7, 0, 0, 0, 1}, isa.Unknown, 1, 0, false, false},
		{"mov", []byte{0xb7, 0, 0, 0, 1, 0, 0, 0}, "r0 = 0x1", 8, 1, false, false},
		{"goto", []byte{0x05, 0, 0xfe, 0xff, 0, 0, 0, 0}, "goto -0x2", 8, 0, false, true},
		{"gotol", []byte{0x06, 0, 0, 0, 0, 0, 1, 0}, "gotol +0x10000", 8, 0x10000, false, true},
		{"may_goto", []byte{0xe5, 0, 3, 0, 0, 0, 0, 0}, "may_goto +0x3", 8, 0, false, true},
		{"call", []byte{0x85, 0x10, 0, 0, 0xff, 0xff, 0xff, 0xff}, "call -0x1", 8, -1, false, false},
		{"bad jump", []byte{0x1d, 0xc1, 1, 0, 0, 0, 0, 0}, isa.Unknown, 8, 0, false, false},
		{"ldimm64", ldimm(1, 0, 0, -2), "r1 = -0x2 ll", 16, -2, false, false},
		{"reserved bytes", reserved, "r1 = 0x123456789 ll", 16, 0x123456789, false, false},
		{"pseudo", ldimm(2, isa.PseudoMapValue, 0, 0x700000005), "ld_pseudo\tr2, 0x2, 0x5", 16, 0x700000005, false, false},
		{"ldimm64 cut", ldimm(1, 0, 0, 1)[:15], isa.Unknown, 1, 1, true, false},
		{"ldimm64 alone", ldimm(1, 0, 0, 1)[:8], isa.Unknown, 1, 1, true, false},
		// The first slot alone decides: a bad one takes 8 bytes, second
		// slot or not.
		{"ldimm64 offset", ldimm(1, 0, 1, -1)[:8], isa.Unknown, 8, -1, true, false},
		{"ldimm64 r12", ldimm(12, 0, 0, 0), isa.Unknown, 8, 0, true, false},
	}
	for _, tt := range tests {
		ins, text, n := isa.DecodeLLVM(tt.b)
		if text != tt.text || n != tt.n || ins.Imm != tt.imm || ins.Raw != tt.raw {
			t.Errorf("%s: DecodeLLVM(% x) = %+v, %q, %d; want text %q, n %d, Imm %#x, Raw %v",
				tt.name, tt.b, ins, text, n, tt.text, tt.n, tt.imm, tt.raw)
		}
		if _, ok := ins.JumpTarget(0); ok != tt.jumps && text != isa.Unknown {
			t.Errorf("%s: JumpTarget reports %v", tt.name, ok)
		}
		if text != isa.Unknown && ins.String() != text {
			t.Errorf("%s: String() = %q, text %q", tt.name, ins.String(), text)
		}
	}
}

// TestDecodeSlot checks that DecodeLLVM and Decode agree with DecodeSlot on
// the fields of random single slots, and that a slot encodes back to itself.
func TestDecodeSlot(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, ins := range isatest.RandomSlots(r, 3000) {
		b := ins.Append(nil)[:isa.SlotSize]
		slot, err := isa.DecodeSlot(b)
		if err != nil {
			t.Fatalf("DecodeSlot(% x): %v", b, err)
		}
		if got := slot.Append(nil); !bytes.Equal(got, b) {
			t.Fatalf("DecodeSlot(% x) = %+v, which encodes to % x", b, slot, got)
		}
		if slot.Op == isa.OpLoadImm64 {
			continue
		}
		dec, text, n := isa.DecodeLLVM(b)
		if dec != slot || n != isa.SlotSize || text != slot.String() {
			t.Fatalf("DecodeLLVM(% x) = %+v, %q, %d; DecodeSlot %+v", b, dec, text, n, slot)
		}
	}
	if _, err := isa.DecodeSlot(make([]byte, 7)); err != isa.ErrShort {
		t.Errorf("DecodeSlot of 7 bytes: %v, want ErrShort", err)
	}
}
