// Package isa describes eBPF instructions as defined by RFC 9669 (the BPF
// Instruction Set Architecture), including the version 4 additions: signed
// loads, signed division and modulo, sign-extending moves, unconditional byte
// swaps and the 32-bit-offset jump (gotol).
//
// An [Instruction] is one logical instruction. Every instruction encodes to one
// 8-byte slot, except the 64-bit immediate load (opcode 0x18), which takes two
// slots. [Instruction.Append] encodes; [DecodeSlot] turns the bytes of a slot
// into fields, and [Decode] (exact round trips) and [DecodeLLVM] (as
// llvm-objdump reads bytes) decode through it; [Instruction.Validate] checks
// an instruction against the ISA, and [Instruction.String] prints it in the
// LLVM assembler syntax that llvm-objdump uses. [Parse] reads that syntax
// back: its forms are not a grammar of their own but the printer's text
// with the fields left open (parse.go), so that whatever String prints,
// Parse reads back to the same bytes.
//
// isa also owns the rules about control flow and slots, in one place
// (jump.go): which instructions jump and where to ([Instruction.JumpOffset],
// [Instruction.JumpTarget]), which end a program ([Instruction.Terminates]),
// and which slots are the second half of a 64-bit load, where no jump may
// land ([Instruction.SecondHalf]). The assembler, the disassembler and the
// object reader all ask here.
//
// The package knows nothing about labels, sections or object files: those
// live in the asm and objwriter packages, which build on this one.
package isa
