package isa

// Opcode is the first byte of an instruction. Its low three bits are the
// instruction class; the meaning of the other bits depends on the class.
type Opcode uint8

// Class is the instruction class, the low three bits of an opcode.
type Class uint8

// Instruction classes.
const (
	ClassLD    Class = 0x00 // non-standard loads: 64-bit immediate, legacy packet access
	ClassLDX   Class = 0x01 // load into register
	ClassST    Class = 0x02 // store immediate
	ClassSTX   Class = 0x03 // store from register, atomics
	ClassALU   Class = 0x04 // 32-bit arithmetic
	ClassJMP   Class = 0x05 // 64-bit jumps, call, exit
	ClassJMP32 Class = 0x06 // 32-bit jumps, gotol
	ClassALU64 Class = 0x07 // 64-bit arithmetic
)

// Class returns the instruction class of op.
func (op Opcode) Class() Class { return Class(op & 0x07) }

// Source selects the second operand of arithmetic and jump instructions.
type Source uint8

// Operand sources (bit 3 of the opcode).
const (
	SrcK Source = 0x00 // the 32-bit immediate
	SrcX Source = 0x08 // the source register
)

// Source returns the source bit of an arithmetic or jump opcode.
func (op Opcode) Source() Source { return Source(op & 0x08) }

// ALUOp is the operation of an arithmetic instruction (the high four bits).
type ALUOp uint8

// Arithmetic operations. SDIV and SMOD are DIV and MOD with offset 1; MOVSX
// is MOV with offset 8, 16 or 32; END is the byte swap family.
const (
	ALUAdd  ALUOp = 0x00
	ALUSub  ALUOp = 0x10
	ALUMul  ALUOp = 0x20
	ALUDiv  ALUOp = 0x30
	ALUOr   ALUOp = 0x40
	ALUAnd  ALUOp = 0x50
	ALULsh  ALUOp = 0x60
	ALURsh  ALUOp = 0x70
	ALUNeg  ALUOp = 0x80
	ALUMod  ALUOp = 0x90
	ALUXor  ALUOp = 0xa0
	ALUMov  ALUOp = 0xb0
	ALUArsh ALUOp = 0xc0
	ALUEnd  ALUOp = 0xd0
)

// ALUOp returns the operation of an arithmetic opcode.
func (op Opcode) ALUOp() ALUOp { return ALUOp(op & 0xf0) }

// JumpOp is the operation of a jump-class instruction (the high four bits).
type JumpOp uint8

// Jump operations.
const (
	JumpJA   JumpOp = 0x00
	JumpJEQ  JumpOp = 0x10
	JumpJGT  JumpOp = 0x20
	JumpJGE  JumpOp = 0x30
	JumpJSET JumpOp = 0x40
	JumpJNE  JumpOp = 0x50
	JumpJSGT JumpOp = 0x60
	JumpJSGE JumpOp = 0x70
	JumpCall JumpOp = 0x80
	JumpExit JumpOp = 0x90
	JumpJLT  JumpOp = 0xa0
	JumpJLE  JumpOp = 0xb0
	JumpJSLT JumpOp = 0xc0
	JumpJSLE JumpOp = 0xd0
)

// JumpOp returns the operation of a jump-class opcode.
func (op Opcode) JumpOp() JumpOp { return JumpOp(op & 0xf0) }

// Size is the access width of a load or store (bits 3-4 of the opcode).
type Size uint8

// Access widths.
const (
	SizeW  Size = 0x00 // 4 bytes
	SizeH  Size = 0x08 // 2 bytes
	SizeB  Size = 0x10 // 1 byte
	SizeDW Size = 0x18 // 8 bytes
)

// Size returns the access width of a load or store opcode.
func (op Opcode) Size() Size { return Size(op & 0x18) }

// Bytes returns the width in bytes.
func (s Size) Bytes() int {
	switch s {
	case SizeW:
		return 4
	case SizeH:
		return 2
	case SizeB:
		return 1
	default:
		return 8
	}
}

// Mode is the addressing mode of a load or store (the high three bits).
type Mode uint8

// Addressing modes.
const (
	ModeIMM    Mode = 0x00 // 64-bit immediate (with SizeDW)
	ModeABS    Mode = 0x20 // legacy packet access, absolute
	ModeIND    Mode = 0x40 // legacy packet access, indirect
	ModeMEM    Mode = 0x60 // regular load and store
	ModeMEMSX  Mode = 0x80 // sign-extending load
	ModeATOMIC Mode = 0xc0 // atomic operation
)

// Mode returns the addressing mode of a load or store opcode.
func (op Opcode) Mode() Mode { return Mode(op & 0xe0) }

// AtomicOp is the immediate of an atomic instruction.
type AtomicOp int32

// Atomic operations. Fetch may be or-ed into Add, Or, And and Xor; Xchg and
// CmpXchg always fetch.
const (
	AtomicAdd     AtomicOp = 0x00
	AtomicOr      AtomicOp = 0x40
	AtomicAnd     AtomicOp = 0x50
	AtomicXor     AtomicOp = 0xa0
	AtomicFetch   AtomicOp = 0x01
	AtomicXchg    AtomicOp = 0xe0 | AtomicFetch
	AtomicCmpXchg AtomicOp = 0xf0 | AtomicFetch
)

// Pseudo source-register values of the 64-bit immediate load, as in the
// kernel's BPF_PSEUDO_* constants.
const (
	PseudoMapFD       Register = 1 // imm is a map file descriptor
	PseudoMapValue    Register = 2 // imm is a map fd, the second imm an offset into its value
	PseudoBTFID       Register = 3 // imm is a BTF id of a kernel variable
	PseudoFunc        Register = 4 // imm is the relative offset of a function
	PseudoMapIdx      Register = 5 // imm is an index into the fd array
	PseudoMapIdxValue Register = 6 // as PseudoMapValue, by index
)

// Source-register values of the call instruction.
const (
	CallHelper Register = 0 // imm is a helper id
	CallPseudo Register = 1 // imm is the relative offset of a BPF function
	CallKfunc  Register = 2 // imm is the BTF id of a kernel function
)

// OpLoadImm64 is the opcode of the two-slot 64-bit immediate load.
const OpLoadImm64 Opcode = Opcode(ClassLD) | Opcode(ModeIMM) | Opcode(SizeDW)

// Op builds an arithmetic or jump opcode from its parts.
func Op(c Class, op uint8, src Source) Opcode { return Opcode(uint8(c) | op | uint8(src)) }

// MemOp builds a load or store opcode from its parts.
func MemOp(c Class, m Mode, s Size) Opcode { return Opcode(uint8(c) | uint8(m) | uint8(s)) }
