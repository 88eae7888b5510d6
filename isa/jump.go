package isa

// This file holds the rules about where control goes and how slots pair
// up: the one place that says which instructions jump, how far, and which
// slots are the second half of a 64-bit load. The assembler, the
// disassembler and (later) the interpreter all ask here.

// IsJump reports whether ins transfers control to a relative target: goto
// (ja), gotol, and the conditional jumps of both jump classes. Calls and
// exit are not jumps; neither is a Raw slot.
func (ins Instruction) IsJump() bool {
	_, ok := ins.JumpOffset()
	return ok
}

// JumpOffset returns the relative target of a jump, in slots from the slot
// after the jump: Imm for gotol (the 32-bit form of ja), Off for every other
// jump. It reports false for anything that is not a jump (see IsJump).
func (ins Instruction) JumpOffset() (int64, bool) {
	if ins.Raw {
		return 0, false
	}
	c := ins.Op.Class()
	if c != ClassJMP && c != ClassJMP32 {
		return 0, false
	}
	switch ins.Op.JumpOp() {
	case JumpCall, JumpExit:
		return 0, false
	case JumpJA:
		if c == ClassJMP32 {
			return int64(int32(ins.Imm)), true
		}
	}
	return int64(ins.Off), true
}

// JumpTarget returns the slot a jump at slot pc lands on: pc + 1 + its
// offset. It reports false for anything that is not a jump.
func (ins Instruction) JumpTarget(pc int64) (int64, bool) {
	off, ok := ins.JumpOffset()
	if !ok {
		return 0, false
	}
	return pc + 1 + off, true
}

// SetJumpOffset sets the relative target of a jump (Imm for gotol, Off for
// the others) and reports whether it fits the field: a 16-bit offset holds
// -32768..32767 slots, gotol's 32-bit immediate much more.
func (ins *Instruction) SetJumpOffset(off int64) bool {
	if ins.IsGotol() {
		if !FitsInt32(off) {
			return false
		}
		ins.Imm = off
		return true
	}
	if !FitsInt16(off) {
		return false
	}
	ins.Off = int16(off)
	return true
}

// IsGotol reports whether ins is gotol, the jump with a 32-bit offset in
// its immediate.
func (ins Instruction) IsGotol() bool {
	return !ins.Raw && ins.Op.Class() == ClassJMP32 && ins.Op.JumpOp() == JumpJA
}

// Terminates reports whether control never falls through ins to the next
// slot: exit and the unconditional jumps (ja, gotol). A program's last
// instruction must be one of them.
func (ins Instruction) Terminates() bool {
	c := ins.Op.Class()
	return (c == ClassJMP || c == ClassJMP32) &&
		(ins.Op.JumpOp() == JumpJA || (c == ClassJMP && ins.Op.JumpOp() == JumpExit))
}

// OpensPair reports whether ins is a Raw slot with the opcode of a 64-bit
// load: the loaders read the next slot as its second half, so one must
// follow (see ClosesPair).
func (ins Instruction) OpensPair() bool { return ins.Raw && ins.Op == OpLoadImm64 }

// ClosesPair reports whether ins can be the second half of a 64-bit load
// written as two Raw slots: a slot whose opcode, registers and offset are
// zero (its immediate is the high 32 bits).
func (ins Instruction) ClosesPair() bool {
	return ins.Raw && ins.Op == 0 && ins.Dst == 0 && ins.Src == 0 && ins.Off == 0
}

// SecondHalf reports whether the slot after ins is the second half of a
// 64-bit load: ins is one (two slots), or opens a pair as a Raw slot. No
// jump may land on such a slot.
func (ins Instruction) SecondHalf() bool { return ins.IsLoadImm64() || ins.OpensPair() }
