package isa

// Validate reports whether ins is an instruction that RFC 9669 defines (or
// may_goto, which the kernel added after it), with
// operands in range and unused fields zero, and that it does not write to the
// read-only frame pointer R10. Raw instructions are not checked.
//
// The common forms are accepted by a table lookup (see quick.go); the
// rules below decide the rest, and say what is wrong.
func (ins Instruction) Validate() error {
	if ins.Raw || ins.quickValid() {
		return nil
	}
	return ins.validate()
}

func (ins Instruction) validate() error {
	if !ins.Dst.Valid() {
		return invalid(ins, "destination register r%d out of range (r0-r10)", ins.Dst)
	}
	if !ins.Src.Valid() && !(ins.Op.Class() == ClassLD) {
		return invalid(ins, "source register r%d out of range (r0-r10)", ins.Src)
	}
	if !ins.IsLoadImm64() && !FitsInt32(ins.Imm) {
		return invalid(ins, "immediate %d does not fit in 32 bits", ins.Imm)
	}
	switch c := ins.Op.Class(); c {
	case ClassALU, ClassALU64:
		return ins.validateALU(c == ClassALU64)
	case ClassJMP, ClassJMP32:
		return ins.validateJump(c == ClassJMP32)
	case ClassLD:
		return ins.validateLD()
	case ClassLDX:
		return ins.validateLDX()
	case ClassST:
		if ins.Op.Mode() != ModeMEM {
			return invalid(ins, "unknown store mode %#x", uint8(ins.Op.Mode()))
		}
		return ins.zero(ins.Src == 0, "source register")
	default: // ClassSTX
		return ins.validateSTX()
	}
}

func (ins Instruction) zero(ok bool, field string) error {
	if !ok {
		return invalid(ins, "opcode %#02x needs a zero %s", uint8(ins.Op), field)
	}
	return nil
}

func (ins Instruction) writes(r Register) error {
	if r == R10 {
		return invalid(ins, "r10 is the read-only frame pointer and cannot be written")
	}
	return nil
}

func (ins Instruction) validateALU(is64 bool) error {
	op, src := ins.Op.ALUOp(), ins.Op.Source()
	if op > ALUEnd {
		return invalid(ins, "unknown arithmetic operation %#x", uint8(op))
	}
	if err := ins.writes(ins.Dst); err != nil {
		return err
	}
	switch op {
	case ALUEnd:
		if is64 && src != SrcK {
			return invalid(ins, "opcode %#02x is not defined (bswap has no register form)", uint8(ins.Op))
		}
		if ins.Imm != 16 && ins.Imm != 32 && ins.Imm != 64 {
			return invalid(ins, "byte swap width must be 16, 32 or 64, not %d", ins.Imm)
		}
		if err := ins.zero(ins.Src == 0, "source register"); err != nil {
			return err
		}
		return ins.zero(ins.Off == 0, "offset")
	case ALUNeg:
		if src != SrcK {
			return invalid(ins, "opcode %#02x is not defined (neg has no register form)", uint8(ins.Op))
		}
		if err := ins.zero(ins.Src == 0, "source register"); err != nil {
			return err
		}
		if err := ins.zero(ins.Imm == 0, "immediate"); err != nil {
			return err
		}
		return ins.zero(ins.Off == 0, "offset")
	}
	if src == SrcK {
		if err := ins.zero(ins.Src == 0, "source register"); err != nil {
			return err
		}
	} else if err := ins.zero(ins.Imm == 0, "immediate"); err != nil {
		return err
	}
	switch op {
	case ALUDiv, ALUMod:
		if ins.Off != 0 && ins.Off != 1 {
			return invalid(ins, "division offset must be 0 (unsigned) or 1 (signed), not %d", ins.Off)
		}
		if src == SrcK && ins.Imm == 0 {
			return invalid(ins, "division by zero")
		}
	case ALUMov:
		if ins.Off == 0 {
			return nil
		}
		if src == SrcK {
			return ins.zero(false, "offset")
		}
		if ins.Off == 8 || ins.Off == 16 || (is64 && ins.Off == 32) {
			return nil
		}
		if is64 {
			return invalid(ins, "sign extension width must be 8, 16 or 32, not %d", ins.Off)
		}
		return invalid(ins, "32-bit sign extension width must be 8 or 16, not %d", ins.Off)
	default:
		return ins.zero(ins.Off == 0, "offset")
	}
	return nil
}

func (ins Instruction) validateJump(is32 bool) error {
	op, src := ins.Op.JumpOp(), ins.Op.Source()
	if op == JumpMayGoto && !is32 && src == SrcK {
		// may_goto (BPF_JCOND with src 0, BPF_MAY_GOTO): not in RFC 9669,
		// in the kernel since 6.9; a jump taken once a loop has run out
		// of its budget.
		return ins.zero(ins.Dst == 0 && ins.Src == 0 && ins.Imm == 0, "registers and immediate")
	}
	if op > JumpJSLE {
		return invalid(ins, "unknown jump operation %#x", uint8(op))
	}
	switch op {
	case JumpJA:
		if src != SrcK {
			return invalid(ins, "opcode %#02x is not defined (ja has no register form)", uint8(ins.Op))
		}
		if err := ins.zero(ins.Dst == 0 && ins.Src == 0, "register fields"); err != nil {
			return err
		}
		if is32 {
			return ins.zero(ins.Off == 0, "offset (gotol keeps its target in the immediate)")
		}
		return ins.zero(ins.Imm == 0, "immediate")
	case JumpCall, JumpExit:
		if is32 || src != SrcK {
			return invalid(ins, "opcode %#02x is not defined", uint8(ins.Op))
		}
		if err := ins.zero(ins.Dst == 0 && ins.Off == 0, "destination register and offset"); err != nil {
			return err
		}
		if op == JumpExit {
			return ins.zero(ins.Src == 0 && ins.Imm == 0, "source register and immediate")
		}
		if ins.Src > CallKfunc {
			return invalid(ins, "call source register must be 0 (helper), 1 (BPF function) or 2 (kfunc), not %d", ins.Src)
		}
		return nil
	}
	if src == SrcK {
		return ins.zero(ins.Src == 0, "source register")
	}
	return ins.zero(ins.Imm == 0, "immediate")
}

func (ins Instruction) validateLD() error {
	switch ins.Op.Mode() {
	case ModeIMM:
		if ins.Op.Size() != SizeDW {
			return invalid(ins, "opcode %#02x is not defined", uint8(ins.Op))
		}
		if err := ins.writes(ins.Dst); err != nil {
			return err
		}
		if ins.Src > PseudoMapIdxValue {
			return invalid(ins, "64-bit load source register must be 0-6, not %d", ins.Src)
		}
		return ins.zero(ins.Off == 0, "offset")
	case ModeABS, ModeIND:
		if ins.Op.Size() == SizeDW {
			return invalid(ins, "legacy packet loads take sizes b, h and w only")
		}
		if !ins.Src.Valid() {
			return invalid(ins, "source register r%d out of range (r0-r10)", ins.Src)
		}
		if err := ins.zero(ins.Dst == 0 && ins.Off == 0, "destination register and offset"); err != nil {
			return err
		}
		if ins.Op.Mode() == ModeABS {
			return ins.zero(ins.Src == 0, "source register")
		}
		return nil
	}
	return invalid(ins, "unknown load mode %#x", uint8(ins.Op.Mode()))
}

func (ins Instruction) validateLDX() error {
	switch ins.Op.Mode() {
	case ModeMEM:
	case ModeMEMSX:
		if ins.Op.Size() == SizeDW {
			return invalid(ins, "sign-extending loads take sizes b, h and w only")
		}
	default:
		return invalid(ins, "unknown load mode %#x", uint8(ins.Op.Mode()))
	}
	if err := ins.writes(ins.Dst); err != nil {
		return err
	}
	return ins.zero(ins.Imm == 0, "immediate")
}

func (ins Instruction) validateSTX() error {
	switch ins.Op.Mode() {
	case ModeMEM:
		return ins.zero(ins.Imm == 0, "immediate")
	case ModeATOMIC:
	default:
		return invalid(ins, "unknown store mode %#x", uint8(ins.Op.Mode()))
	}
	if s := ins.Op.Size(); s != SizeW && s != SizeDW {
		return invalid(ins, "atomic operations take sizes w and dw only")
	}
	switch op := AtomicOp(ins.Imm); op &^ AtomicFetch {
	case AtomicAdd, AtomicOr, AtomicAnd, AtomicXor:
		if op&AtomicFetch != 0 {
			return ins.writes(ins.Src)
		}
		return nil
	case AtomicXchg &^ AtomicFetch, AtomicCmpXchg &^ AtomicFetch:
		if op&AtomicFetch == 0 {
			return invalid(ins, "atomic exchange needs the fetch flag")
		}
		if op == AtomicXchg {
			return ins.writes(ins.Src)
		}
		return nil
	}
	return invalid(ins, "unknown atomic operation %#x", ins.Imm)
}
