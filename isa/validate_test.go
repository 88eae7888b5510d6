package isa_test

import (
	"testing"

	"github.com/bpfstar/bpfstar/isa"
)

// TestValidateMayGoto checks the one encoding Validate accepts beyond RFC
// 9669: may_goto, 0xe5 with a zero immediate and zero registers.
func TestValidateMayGoto(t *testing.T) {
	mayGoto := isa.Op(isa.ClassJMP, uint8(isa.JumpMayGoto), isa.SrcK)
	tests := []struct {
		ins  isa.Instruction
		want string // "" for valid
	}{
		{isa.Instruction{Op: mayGoto, Off: 3}, ""},
		{isa.Instruction{Op: mayGoto, Off: -1}, ""},
		{isa.Instruction{Op: mayGoto, Off: 3, Imm: 1}, "opcode 0xe5 needs a zero registers and immediate"},
		{isa.Instruction{Op: mayGoto, Dst: 1}, "opcode 0xe5 needs a zero registers and immediate"},
		{isa.Instruction{Op: mayGoto, Src: 1}, "opcode 0xe5 needs a zero registers and immediate"},
		{isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpMayGoto), isa.SrcX)}, "unknown jump operation 0xe0"},
		{isa.Instruction{Op: isa.Op(isa.ClassJMP32, uint8(isa.JumpMayGoto), isa.SrcK)}, "unknown jump operation 0xe0"},
	}
	for _, tt := range tests {
		err := tt.ins.Validate()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%+v: Validate() = %q, want %q", tt.ins, got, tt.want)
		}
		if off, ok := tt.ins.JumpOffset(); tt.want == "" && (!ok || off != int64(tt.ins.Off)) {
			t.Errorf("%+v: JumpOffset() = %d, %v", tt.ins, off, ok)
		}
	}
}
