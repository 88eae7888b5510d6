package isa

import "encoding/binary"

// This file holds the two ways of reading instruction bytes besides Decode:
// one slot at a time (DecodeSlot, which every reader of instruction bytes
// goes through) and the way LLVM's disassembler reads them (DecodeLLVM).

// DecodeSlot returns the fields of the 8-byte slot at the start of b, as an
// instruction that encodes back to exactly those 8 bytes: Imm is the
// sign-extended 32-bit immediate, and the first slot of a 64-bit immediate
// load (opcode 0x18) comes back as a Raw single slot, since one slot cannot
// hold the whole load. It returns ErrShort when fewer than 8 bytes are left.
//
// DecodeSlot is the one place where the bytes of a slot become fields:
// Decode and DecodeLLVM read slots through it.
func DecodeSlot(b []byte) (Instruction, error) {
	if len(b) < SlotSize {
		return Instruction{}, ErrShort
	}
	ins := Instruction{
		Op:  Opcode(b[0]),
		Dst: Register(b[1] & 0x0f),
		Src: Register(b[1] >> 4),
		Off: int16(binary.LittleEndian.Uint16(b[2:])),
		Imm: int64(int32(binary.LittleEndian.Uint32(b[4:]))),
		Raw: b[0] == byte(OpLoadImm64),
	}
	return ins, nil
}

// DecodeLLVM decodes the instruction at the start of b the way LLVM 19's
// disassembler (llvm-objdump-19 -d --mcpu=v4) does, and returns it with the
// text objdump prints for it (see [Instruction.String]) and the number of
// bytes objdump shows on its line.
//
// LLVM decides from the first slot alone whether the bytes are a 64-bit
// immediate load; if they are, it needs a second slot, of which it reads only
// the immediate (the high 32 bits): the other fields of the second slot are
// ignored, so such a load decodes even where [Decode] would return a Raw
// slot. The results are:
//
//   - n = 16 for a 64-bit load, whose Imm holds all 64 bits;
//   - n = 8 for any other slot, text [Unknown] if LLVM cannot decode it;
//   - n = 1 and text [Unknown] when the bytes end before the instruction does
//     (fewer than 8 bytes, or the first slot of a 64-bit load without its
//     second): objdump then prints one "<unknown>" line per byte.
//
// When the text is not Unknown, ins.String() is the text and ins is never
// Raw, so [Instruction.JumpTarget] and the other methods apply. When it is
// Unknown, ins holds the fields of the first slot as [DecodeSlot] returns
// them (Raw for opcode 0x18), or is the zero Instruction when fewer than 8
// bytes are left. DecodeLLVM never panics.
func DecodeLLVM(b []byte) (ins Instruction, text string, n int) {
	slot, err := DecodeSlot(b)
	if err != nil {
		return Instruction{}, Unknown, 1
	}
	if slot.Op != OpLoadImm64 {
		text, _, _ = slot.decodeLLVM()
		return slot, text, SlotSize
	}
	// The first slot decides: only its fields and the low half of the
	// immediate matter for whether the load decodes.
	ins = slot
	ins.Raw = false
	ins.Imm = int64(uint32(slot.Imm))
	if text, _, _ = ins.decodeLLVM(); text == Unknown {
		return slot, Unknown, SlotSize
	}
	second, err := DecodeSlot(b[SlotSize:])
	if err != nil {
		return slot, Unknown, 1
	}
	ins.Imm |= int64(uint64(uint32(second.Imm)) << 32)
	text, _, _ = ins.decodeLLVM()
	return ins, text, 2 * SlotSize
}
