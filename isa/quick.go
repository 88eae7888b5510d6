package isa

// quickValid accepts the forms of instruction that make up almost every
// program (arithmetic, loads and stores, jumps, helper calls, exit,
// 64-bit loads) with a table lookup and a few comparisons: the assembler
// validates every instruction, a million of them in a large program, and
// the rules in validate.go take a chain of calls per instruction.
//
// It only ever says yes to an instruction that validate accepts too
// (TestQuickAgrees checks it on random instructions); when it says no, the
// full rules decide, and give the reason. Forms with rules of their own
// (division, sign extension, byte swaps, neg, atomics, BPF-to-BPF and
// kfunc calls, legacy packet loads) are always left to them.
func (ins Instruction) quickValid() bool {
	r := quickRules[ins.Op]
	if r == 0 || ins.Dst > MaxRegister || ins.Src > MaxRegister {
		return false
	}
	switch {
	case r&qSrcZero != 0 && ins.Src != 0,
		r&qDstZero != 0 && ins.Dst != 0,
		r&qOffZero != 0 && ins.Off != 0,
		r&qImmZero != 0 && ins.Imm != 0,
		r&qWrites != 0 && ins.Dst == R10,
		r&qPseudo != 0 && ins.Src > PseudoMapIdxValue,
		r&qImm64 == 0 && !FitsInt32(ins.Imm):
		return false
	}
	return true
}

// A quick rule: the conditions an opcode's instruction must meet. Zero
// means the opcode has no quick rule.
type quickRule uint8

const (
	qOK      quickRule = 1 << iota // the opcode has a quick rule
	qSrcZero                       // Src must be 0
	qDstZero                       // Dst must be 0
	qOffZero                       // Off must be 0
	qImmZero                       // Imm must be 0
	qWrites                        // Dst is written: not R10
	qPseudo                        // Src is a 64-bit load's pseudo source, 0-6
	qImm64                         // Imm is 64 bits wide (else a signed 32-bit value)
)

// quickRules holds the rule of every opcode. It is made once, from the
// opcode's fields, and only read.
var quickRules = func() (t [256]quickRule) {
	for c := range 256 {
		op := Opcode(c)
		t[c] = quickRuleOf(op)
	}
	return t
}()

func quickRuleOf(op Opcode) quickRule {
	k := op.Source() == SrcK
	switch op.Class() {
	case ClassALU, ClassALU64:
		switch op.ALUOp() {
		case ALUAdd, ALUSub, ALUMul, ALUOr, ALUAnd, ALULsh, ALURsh, ALUXor, ALUArsh, ALUMov:
			if k {
				return qOK | qSrcZero | qOffZero | qWrites
			}
			return qOK | qImmZero | qOffZero | qWrites
		}
	case ClassJMP, ClassJMP32:
		switch jop := op.JumpOp(); {
		case op == Op(ClassJMP, uint8(JumpJA), SrcK):
			return qOK | qDstZero | qSrcZero | qImmZero
		case op == Op(ClassJMP32, uint8(JumpJA), SrcK):
			return qOK | qDstZero | qSrcZero | qOffZero
		case op == Op(ClassJMP, uint8(JumpCall), SrcK):
			return qOK | qDstZero | qSrcZero | qOffZero // a helper call
		case op == Op(ClassJMP, uint8(JumpExit), SrcK):
			return qOK | qDstZero | qSrcZero | qOffZero | qImmZero
		case jop == JumpJA || jop == JumpCall || jop == JumpExit || jop > JumpJSLE:
			return 0
		case k:
			return qOK | qSrcZero
		default:
			return qOK | qImmZero
		}
	case ClassLD:
		if op == OpLoadImm64 {
			return qOK | qOffZero | qWrites | qPseudo | qImm64
		}
	case ClassLDX:
		if op.Mode() == ModeMEM {
			return qOK | qImmZero | qWrites
		}
	case ClassST:
		if op.Mode() == ModeMEM {
			return qOK | qSrcZero
		}
	case ClassSTX:
		if op.Mode() == ModeMEM {
			return qOK | qImmZero
		}
	}
	return 0
}
