package isa

import (
	"fmt"
	"strconv"
	"strings"
)

// Unknown is the text llvm-objdump prints for bytes it cannot decode, and so
// the text String returns for them.
const Unknown = "<unknown>"

// String returns the instruction exactly as `llvm-objdump-19 -d --mcpu=v4`
// prints it in its text column, for example
//
//	r0 = 0x1
//	w2 = *(u32 *)(r1 + 0x4)
//	if r1 == 0x0 goto +0x2
//	lock *(u64 *)(r1 + 0x0) += r2
//	r1 = 0x123456789 ll
//	r0 = cmpxchg_64(r1 + 0x8, r0, r2)
//
// but without the " <sym+0x80>" that objdump appends to jumps: naming the
// target needs the symbol table, which is the disassembler's business (see
// package disasm).
//
// String describes the bytes [Instruction.Append] produces, decoded the way
// LLVM 19 decodes them, quirks included:
//
//   - With --mcpu=v4 (which implies alu32) 8-, 16- and 32-bit loads and
//     register stores name the 32-bit register: "w2 = *(u32 *)(r1 + 0x4)",
//     "*(u16 *)(r1 + 0x0) = w2"; sign-extending loads name the 64-bit one.
//   - The byte swaps print 64-bit registers even in the 32-bit class:
//     "r1 = le16 r1", "r1 = be32 r1", "r1 = bswap64 r1".
//   - A 64-bit immediate load with a non-zero source register (a pseudo load:
//     map fd, map value, BTF id, function, ...) prints as
//     "ld_pseudo\tr1, 0x2, 0x5", with a tab and with only the low 32 bits of
//     the immediate; the high half is not shown.
//   - Calls print the immediate and nothing else: "call 0x1" is a helper
//     call, a BPF-to-BPF call (src 1) and a kfunc call (src 2) print the same.
//   - Fields that LLVM's decoder does not look at are ignored rather than
//     rejected: the immediate of register-source arithmetic, loads and
//     stores; the registers and immediate of goto and call; the high 24 bits
//     of an atomic's immediate; the second slot's reserved bytes of a 64-bit
//     load. Any atomic whose low nibble is not 1 is the non-fetching form.
//   - The legacy packet loads read "r0 = *(u32 *)skb[0x4]" and
//     "r0 = *(u16 *)skb[r7]".
//   - LLVM also knows a few encodings that RFC 9669 and Validate do not:
//     "callx r3" (0x8d, register in dst), "may_goto +0x3" (0xe5),
//     "r1 = addr_space_cast(r2, 0x1, 0x2)" (0xbf with offset 1) and a
//     register 11 ("r11", "w11"); register numbers 12 to 15 do not decode.
//   - Anything LLVM cannot decode prints as "<unknown>": undefined opcodes,
//     non-zero offsets where LLVM wants zero, a non-zero immediate on exit,
//     byte swap widths other than 16, 32 and 64, and a Raw first half of a
//     64-bit load.
func (ins Instruction) String() string {
	text, _, _ := ins.decodeLLVM()
	return text
}

// AsmString returns text that `llvm-mc-19 -triple bpfel -mcpu=v4` assembles
// to exactly the bytes of [Instruction.Append].
//
// llvm-mc parses everything String prints (including "ld_pseudo", "r11",
// "callx", "may_goto" and "addr_space_cast"), so for most instructions
// AsmString is String. llvm-mc, however, always writes zero into fields the
// syntax does not mention, and a few encodings have no syntax at all. For
// those AsmString falls back to a data directive with String as a comment,
// for example
//
//	.byte 0x85, 0x10, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff // call -0x1
//
// The forms llvm-mc 19 cannot express are:
//
//   - BPF-to-BPF calls (src 1) and kfunc calls (src 2): "call N" always
//     assembles with src 0; llvm-mc sets src 1 only for a call to a label,
//     which a single instruction cannot name.
//   - gotol with an offset outside the 16-bit range: llvm-mc 19 accepts a
//     number only if it fits in 16 bits ("operand is not an identifier or
//     16-bit signed integer"), although the encoding has 32.
//   - Pseudo 64-bit loads (src 1-15) whose immediate does not fit in 32 bits
//     (such as a map value load with an offset in the second slot's
//     immediate): ld_pseudo takes and keeps only the low 32 bits.
//   - Any non-zero value in a field that LLVM ignores (see String), such as
//     the immediate of a register-source instruction or the registers of goto;
//     and an atomic immediate other than exactly op or op|fetch.
//   - Everything String prints as "<unknown>", and Raw slots of a 64-bit load.
func (ins Instruction) AsmString() string {
	text, canon, ok := ins.decodeLLVM()
	b := ins.Append(nil)
	if ok && string(canon.Append(nil)) == string(b) {
		return text
	}
	var sb strings.Builder
	sb.WriteString(".byte ")
	for i, c := range b {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%#02x", c)
	}
	sb.WriteString(" // ")
	sb.WriteString(text)
	return sb.String()
}

// decodeLLVM models LLVM 19's BPF decoder and instruction printer. It returns
// the text, the canonical instruction that llvm-mc would assemble from that
// text (every field LLVM ignores set to zero), and whether llvm-mc can
// assemble the text at all (false when decoding failed).
func (ins Instruction) decodeLLVM() (string, Instruction, bool) {
	// Print what the bytes say, not the fields: the encoding keeps four
	// bits of a register and 32 bits of an immediate.
	var buf [16]byte
	slot, _ := DecodeSlot(ins.Append(buf[:0]))
	op := slot.Op
	d := &decoder{
		op:  op,
		dst: slot.Dst,
		src: slot.Src,
		off: slot.Off,
		imm: int32(slot.Imm),
	}
	d.canon.Op = op
	if op == OpLoadImm64 && ins.Raw {
		return Unknown, Instruction{}, false
	}
	text := d.text(ins.Imm)
	if text == "" || d.bad {
		return Unknown, Instruction{}, false
	}
	d.canon.Raw = ins.Raw
	return text, d.canon, !d.noAsm
}

// text runs the printer on the decoder's fields: the text of the
// instruction, or "" when LLVM cannot decode it (imm64 is the immediate of
// a 64-bit load). String prints values through it, and parse.go's forms
// are its text in form mode.
func (d *decoder) text(imm64 int64) string {
	switch d.op.Class() {
	case ClassLD:
		return d.ld(imm64)
	case ClassLDX:
		return d.ldx()
	case ClassST:
		return d.st()
	case ClassSTX:
		return d.stx()
	case ClassALU, ClassALU64:
		return d.alu(d.op.Class() == ClassALU64)
	}
	return d.jump(d.op.Class() == ClassJMP32)
}

// decoder holds the fields of one slot and collects the canonical
// instruction while the text is built.
type decoder struct {
	op       Opcode
	dst, src Register
	off      int16
	imm      int32
	canon    Instruction
	bad      bool // a register field LLVM decodes holds 12-15
	noAsm    bool // llvm-mc cannot parse the text back
	// form, when set, makes every field print as a slot mark (slotMark)
	// instead of its value: the text is then the form that parse.go
	// matches input against. used collects the fields the slots print.
	form bool
	used field
	// noALU32 prints 8-, 16- and 32-bit loads and stores, and the 32-bit
	// atomic add, with the 64-bit register name, as LLVM does without the
	// alu32 feature (before --mcpu=v3): "r2 = *(u32 *)(r1 + 0x4)", "lock
	// *(u32 *)(r1 + 0x0) += r2". Parse reads both spellings.
	noALU32 bool
}

// slot returns the text of a field: its value, or in form mode the mark
// of slot kind k, noting the fields the slot covers.
func (d *decoder) slot(k slotKind, f field, value func() string) string {
	if d.form {
		d.used |= f
		return slotMark(k)
	}
	return value()
}

// maxLLVMRegister is the highest register number LLVM's decoder accepts; it
// knows an r11 that the kernel does not.
const maxLLVMRegister = 11

func (d *decoder) reg(r Register, w bool) string {
	if r > maxLLVMRegister {
		d.bad = true
	}
	if w {
		return "w" + strconv.Itoa(int(r))
	}
	return "r" + strconv.Itoa(int(r))
}

// D and S name the destination and source registers and record them as used.
func (d *decoder) D(w bool) string {
	d.canon.Dst = d.dst
	return d.slot(regSlot(slotDst, w), fieldDst, func() string { return d.reg(d.dst, w) })
}
func (d *decoder) S(w bool) string {
	d.canon.Src = d.src
	return d.slot(regSlot(slotSrc, w), fieldSrc, func() string { return d.reg(d.src, w) })
}

// K prints the 32-bit immediate and records it as used.
func (d *decoder) K() string {
	d.canon.Imm = int64(d.imm)
	return d.slot(slotImm, fieldImm, func() string { return hex(int64(d.imm)) })
}

// O prints a branch offset ("+0x2", "-0x1") and records it as used.
func (d *decoder) O() string {
	d.canon.Off = d.off
	return d.slot(slotOff, fieldOff, func() string { return branch(int64(d.off)) })
}

// mem prints the inside of a memory operand, "r1 + 0x4" or "r1 - 0x8", for
// register r.
func (d *decoder) mem(r Register) string {
	d.canon.Off = d.off
	if d.off >= 0 {
		return d.reg(r, false) + " + " + hex(int64(d.off))
	}
	return d.reg(r, false) + " - " + hex(-int64(d.off))
}

// memDst and memSrc are mem for the destination and source register.
func (d *decoder) memDst() string {
	d.canon.Dst = d.dst
	return d.slot(slotMemDst, fieldDst|fieldOff, func() string { return d.mem(d.dst) })
}
func (d *decoder) memSrc() string {
	d.canon.Src = d.src
	return d.slot(slotMemSrc, fieldSrc|fieldOff, func() string { return d.mem(d.src) })
}

// hex formats v as LLVM's printers do with hexadecimal immediates: "0x1f",
// "-0x8", "0x0".
func hex(v int64) string {
	if v < 0 {
		return "-0x" + strconv.FormatUint(-uint64(v), 16)
	}
	return "0x" + strconv.FormatUint(uint64(v), 16)
}

func branch(v int64) string {
	if v >= 0 {
		return "+" + hex(v)
	}
	return hex(v)
}

var sizeNames = [4]string{"u32", "u16", "u8", "u64"}

func sizeName(s Size) string { return sizeNames[s>>3] }

func (d *decoder) ld(imm64 int64) string {
	switch d.op {
	case OpLoadImm64:
		if d.off != 0 {
			return ""
		}
		dst := d.D(false)
		d.canon.Src = d.src
		if d.src == 0 {
			d.canon.Imm = imm64
			return dst + " = " + d.slot(slotImm64, fieldImm, func() string { return hex(imm64) }) + " ll"
		}
		// LLVM prints (and llvm-mc keeps) only the low 32 bits.
		lo := uint32(imm64)
		d.canon.Imm = int64(lo)
		return "ld_pseudo\t" + dst + ", " +
			d.slot(slotPseudo, fieldSrc, func() string { return hex(int64(d.src)) }) + ", " +
			d.slot(slotLow32, fieldImm, func() string { return hex(int64(lo)) })
	}
	s := d.op.Size()
	if s == SizeDW {
		return ""
	}
	switch d.op.Mode() {
	case ModeABS:
		return "r0 = *(" + sizeName(s) + " *)skb[" + d.K() + "]"
	case ModeIND:
		return "r0 = *(" + sizeName(s) + " *)skb[" + d.S(false) + "]"
	}
	return ""
}

func (d *decoder) ldx() string {
	s := d.op.Size()
	switch d.op.Mode() {
	case ModeMEM:
		w := s != SizeDW && !d.noALU32
		return d.D(w) + " = *(" + sizeName(s) + " *)(" + d.memSrc() + ")"
	case ModeMEMSX:
		if s == SizeDW {
			return ""
		}
		return d.D(false) + " = *(s" + sizeName(s)[1:] + " *)(" + d.memSrc() + ")"
	}
	return ""
}

func (d *decoder) st() string {
	if d.op.Mode() != ModeMEM {
		return ""
	}
	return "*(" + sizeName(d.op.Size()) + " *)(" + d.memDst() + ") = " + d.K()
}

var atomicOps = map[AtomicOp]string{AtomicAdd: "add", AtomicOr: "or", AtomicAnd: "and", AtomicXor: "xor"}

var atomicSymbols = map[AtomicOp]string{AtomicAdd: "+", AtomicOr: "|", AtomicAnd: "&", AtomicXor: "^"}

func (d *decoder) stx() string {
	s := d.op.Size()
	switch d.op.Mode() {
	case ModeMEM:
		return "*(" + sizeName(s) + " *)(" + d.memDst() + ") = " + d.S(s != SizeDW && !d.noALU32)
	case ModeATOMIC:
	default:
		return ""
	}
	if s != SizeW && s != SizeDW {
		return ""
	}
	w := s == SizeW
	// LLVM looks at the low byte of the immediate only: the high nibble is
	// the operation and a low nibble of 1 selects the fetching form.
	op := AtomicOp(d.imm) & 0xf0
	ptr := "(" + sizeName(s) + " *)(" + d.memDst() + ")"
	if d.imm&0x0f != int32(AtomicFetch) {
		sym, ok := atomicSymbols[op]
		if !ok {
			return ""
		}
		d.canon.Imm = int64(op)
		if d.noALU32 && op == AtomicAdd {
			w = false // the one 32-bit atomic LLVM knows without alu32
		}
		return "lock *" + ptr + " " + sym + "= " + d.S(w)
	}
	d.canon.Imm = int64(op | AtomicFetch)
	suffix := "_64"
	if w {
		suffix = "32_32"
	}
	switch op {
	case AtomicXchg &^ AtomicFetch:
		return d.S(w) + " = xchg" + suffix + "(" + d.memDst() + ", " + d.S(w) + ")"
	case AtomicCmpXchg &^ AtomicFetch:
		r0 := d.reg(R0, w)
		return r0 + " = cmpxchg" + suffix + "(" + d.memDst() + ", " + r0 + ", " + d.S(w) + ")"
	}
	name, ok := atomicOps[op]
	if !ok {
		return ""
	}
	return d.S(w) + " = atomic_fetch_" + name + "(" + ptr + ", " + d.S(w) + ")"
}

var aluOps = map[ALUOp]string{
	ALUAdd: "+=", ALUSub: "-=", ALUMul: "*=", ALUOr: "|=", ALUAnd: "&=",
	ALULsh: "<<=", ALURsh: ">>=", ALUXor: "^=", ALUArsh: "s>>=",
}

func (d *decoder) alu(is64 bool) string {
	w := !is64
	op, x := d.op.ALUOp(), d.op.Source() == SrcX
	// second returns the source operand, register or immediate.
	second := func() string {
		if x {
			return d.S(w)
		}
		return d.K()
	}
	switch op {
	case ALUDiv, ALUMod:
		sym := map[ALUOp]string{ALUDiv: "/=", ALUMod: "%="}[op]
		switch d.off {
		case 0:
		case 1:
			sym = "s" + sym
			d.canon.Off = 1
		default:
			return ""
		}
		return d.D(w) + " " + sym + " " + second()
	case ALUMov:
		if !x {
			if d.off != 0 {
				return ""
			}
			return d.D(w) + " = " + d.K()
		}
		d.canon.Off = d.off
		switch {
		case d.off == 0:
			return d.D(w) + " = " + d.S(w)
		case d.off == 8 || d.off == 16 || (is64 && d.off == 32):
			return d.D(w) + " = (s" + strconv.Itoa(int(d.off)) + ")" + d.S(w)
		case is64 && d.off == 1:
			// addr_space_cast(src, dst address space, src address space)
			d.canon.Imm = int64(d.imm)
			return d.D(false) + " = addr_space_cast(" + d.S(false) + ", " +
				d.slot(slotSpaceHigh, fieldImm, func() string { return hex(int64(uint32(d.imm) >> 16)) }) + ", " +
				d.slot(slotSpaceLow, fieldImm, func() string { return hex(int64(uint32(d.imm) & 0xffff)) }) + ")"
		}
		return ""
	case ALUNeg:
		if x {
			return ""
		}
		r := d.D(w)
		return r + " = -" + r
	case ALUEnd:
		if d.imm != 16 && d.imm != 32 && d.imm != 64 {
			return ""
		}
		var name string
		switch {
		case !is64 && !x:
			name = "le"
		case !is64 && x:
			name = "be"
		case !x:
			name = "bswap"
		default:
			return ""
		}
		d.canon.Imm = int64(d.imm)
		r := d.D(false)
		return r + " = " + name + strconv.Itoa(int(d.imm)) + " " + r
	}
	sym, ok := aluOps[op]
	if !ok || d.off != 0 {
		return ""
	}
	return d.D(w) + " " + sym + " " + second()
}

var jumpOps = map[JumpOp]string{
	JumpJEQ: "==", JumpJGT: ">", JumpJGE: ">=", JumpJSET: "&", JumpJNE: "!=",
	JumpJSGT: "s>", JumpJSGE: "s>=", JumpJLT: "<", JumpJLE: "<=",
	JumpJSLT: "s<", JumpJSLE: "s<=",
}

// JumpMayGoto is the may_goto operation (BPF_JCOND), which LLVM 19 decodes in
// the 64-bit jump class: "may_goto +0x3".
const JumpMayGoto JumpOp = 0xe0

func (d *decoder) jump(is32 bool) string {
	op, x := d.op.JumpOp(), d.op.Source() == SrcX
	switch op {
	case JumpJA:
		switch {
		case x:
			return ""
		case is32:
			d.canon.Imm = int64(d.imm)
			d.noAsm = !FitsInt16(int64(d.imm))
			return "gotol " + d.slot(slotLongOff, fieldImm, func() string { return branch(int64(d.imm)) })
		}
		return "goto " + d.O()
	case JumpCall:
		switch {
		case is32:
			return ""
		case x:
			return "callx " + d.D(false)
		}
		d.canon.Imm = int64(d.imm)
		return "call " + d.slot(slotCall, fieldImm, func() string { return hex(int64(d.imm)) })
	case JumpExit:
		if is32 || x || d.imm != 0 {
			return ""
		}
		return "exit"
	case JumpMayGoto:
		if is32 || x {
			return ""
		}
		return "may_goto " + d.O()
	}
	sym, ok := jumpOps[op]
	if !ok {
		return ""
	}
	var rhs string
	if x {
		rhs = d.S(is32)
	} else {
		rhs = d.K()
	}
	return "if " + d.D(is32) + " " + sym + " " + rhs + " goto " + d.O()
}
