// Package isa describes eBPF instructions as defined by RFC 9669 (the BPF
// Instruction Set Architecture), including the version 4 additions: signed
// loads, signed division and modulo, sign-extending moves, unconditional byte
// swaps and the 32-bit-offset jump (gotol).
//
// An [Instruction] is one logical instruction. Every instruction encodes to one
// 8-byte slot, except the 64-bit immediate load (opcode 0x18), which takes two
// slots. [Instruction.Append] encodes, [Decode] decodes, [Instruction.Validate]
// checks an instruction against the ISA, and [Instruction.String] prints it in
// the LLVM assembler syntax that llvm-objdump uses.
//
// The package knows nothing about labels, sections or object files: those
// live in the asm and objwriter packages, which build on this one.
package isa
