package isa

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// SlotSize is the size in bytes of one instruction slot.
const SlotSize = 8

// Instruction is one BPF instruction.
//
// Imm holds the sign-extended 32-bit immediate, except for the 64-bit
// immediate load (Op == OpLoadImm64), where it holds all 64 bits and the
// instruction takes two slots. A Raw instruction is a single slot written as
// given, without validation: it can express any 8 bytes, including half of a
// 64-bit load.
//
// The fields are ordered so that an Instruction takes 16 bytes: programs
// of a million instructions hold a million of them.
type Instruction struct {
	Op  Opcode
	Dst Register
	Src Register
	Raw bool
	Off int16
	Imm int64
}

// IsLoadImm64 reports whether ins is the two-slot 64-bit immediate load.
func (ins Instruction) IsLoadImm64() bool { return ins.Op == OpLoadImm64 && !ins.Raw }

// Slots returns the number of 8-byte slots the instruction occupies.
func (ins Instruction) Slots() int {
	if ins.IsLoadImm64() {
		return 2
	}
	return 1
}

// Size returns the encoded size in bytes.
func (ins Instruction) Size() int { return ins.Slots() * SlotSize }

// Append appends the little-endian encoding of ins to b.
func (ins Instruction) Append(b []byte) []byte {
	b = append(b,
		byte(ins.Op),
		byte(ins.Src&0x0f)<<4|byte(ins.Dst&0x0f),
		byte(uint16(ins.Off)), byte(uint16(ins.Off)>>8))
	b = binary.LittleEndian.AppendUint32(b, uint32(ins.Imm))
	if ins.IsLoadImm64() {
		b = append(b, 0, 0, 0, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(uint64(ins.Imm)>>32))
	}
	return b
}

// ErrShort is returned by Decode when fewer than 8 bytes are left.
var ErrShort = errors.New("isa: truncated instruction")

// Decode decodes the instruction at the start of b and returns it with the
// number of bytes it used (8 or 16). A 64-bit immediate load whose second
// slot is missing or has non-zero opcode, register or offset fields decodes
// as a Raw single slot, so that decoding and re-encoding any byte string
// gives back the same bytes.
func Decode(b []byte) (Instruction, int, error) {
	ins, err := DecodeSlot(b)
	if err != nil {
		return Instruction{}, 0, err
	}
	if ins.Op != OpLoadImm64 {
		return ins, SlotSize, nil
	}
	second, err := DecodeSlot(b[SlotSize:])
	if err != nil || second.Op != 0 || second.Dst != 0 || second.Src != 0 || second.Off != 0 {
		return ins, SlotSize, nil // Raw: a first half without its second
	}
	ins.Raw = false
	ins.Imm = int64(uint64(uint32(second.Imm))<<32 | uint64(uint32(ins.Imm)))
	return ins, 2 * SlotSize, nil
}

// DecodeAll decodes a whole instruction stream. Trailing bytes that do not
// fill a slot are an error.
func DecodeAll(b []byte) ([]Instruction, error) {
	var out []Instruction
	for len(b) > 0 {
		ins, n, err := Decode(b)
		if err != nil {
			return out, err
		}
		out = append(out, ins)
		b = b[n:]
	}
	return out, nil
}

// Encode encodes a sequence of instructions.
func Encode(insns []Instruction) []byte {
	n := 0
	for _, ins := range insns {
		n += ins.Size()
	}
	b := make([]byte, 0, n)
	for _, ins := range insns {
		b = ins.Append(b)
	}
	return b
}

// FitsInt32 reports whether v is representable as a signed 32-bit immediate.
func FitsInt32(v int64) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }

// FitsInt16 reports whether v is representable as a signed 16-bit offset.
func FitsInt16(v int64) bool { return v >= math.MinInt16 && v <= math.MaxInt16 }

// InvalidError reports an instruction that the ISA does not define, or that
// breaks one of its rules (such as writing to the frame pointer).
type InvalidError struct {
	Insn   Instruction
	Reason string
}

func (e *InvalidError) Error() string { return e.Reason }

func invalid(ins Instruction, format string, args ...any) error {
	return &InvalidError{Insn: ins, Reason: fmt.Sprintf(format, args...)}
}
