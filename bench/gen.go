// Package bench generates the inputs of bpfstar's benchmark: a program of n
// instructions written as a Starlark loop (Star), and the same instructions
// as LLVM assembly for llvm-mc-19 (Asm). Both assemble to the same bytes in
// section "socket". The Go benchmarks of this package time the in-process
// pipeline; bench/run.sh (make bench) times the real processes against
// llvm-mc-19 and clang-19. See docs/perf.md.
package bench

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bpfstar/bpfstar/isa"
)

// Section and Symbol are where the generated program lives.
const (
	Section = "socket"
	Symbol  = "bench"
)

// BlockInsns is the number of instructions in one block of the generated
// program; a block takes BlockInsns+1 slots (it holds one ld_imm64).
const BlockInsns = 12

// blockStar is the Starlark macro that makes block i. blockInsns below is
// the same block in Go; TestBlockMatches and the byte comparison with
// llvm-mc keep the two in step.
const blockStar = `def block(i):
    skip = "L%d" % i
    return [
        insn.mov64_imm(r1, i),
        insn.alu64_imm("add", r1, 7),
        insn.alu32_reg("xor", r2, r1),
        insn.ldx_mem("w", r3, fp, -8),
        insn.stx_mem("dw", fp, r1, -16),
        insn.st_mem("w", fp, -24, i & 0xffff),
        insn.jmp_imm("jgt", r1, 1000, skip),
        insn.ld_imm64(r4, i * 0x100000001),
        insn.alu64_reg("mul", r4, r3),
        insn.jmp_reg("jne", r4, r2, skip),
        insn.alu64_imm("rsh", r4, 3),
        insn.call("ktime_get_ns"),
        label(skip),
    ]
`

// blockInsns returns block i: its instructions, and for each the index of
// the instruction its label points after (-1: no label jump). The label is
// at the end of the block.
func blockInsns(i int) []isa.Instruction {
	alu64 := func(op isa.ALUOp, s isa.Source) isa.Opcode { return isa.Op(isa.ClassALU64, uint8(op), s) }
	return []isa.Instruction{
		{Op: alu64(isa.ALUMov, isa.SrcK), Dst: isa.R1, Imm: int64(i)},
		{Op: alu64(isa.ALUAdd, isa.SrcK), Dst: isa.R1, Imm: 7},
		{Op: isa.Op(isa.ClassALU, uint8(isa.ALUXor), isa.SrcX), Dst: isa.R2, Src: isa.R1},
		{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, isa.SizeW), Dst: isa.R3, Src: isa.R10, Off: -8},
		{Op: isa.MemOp(isa.ClassSTX, isa.ModeMEM, isa.SizeDW), Dst: isa.R10, Src: isa.R1, Off: -16},
		{Op: isa.MemOp(isa.ClassST, isa.ModeMEM, isa.SizeW), Dst: isa.R10, Off: -24, Imm: int64(i & 0xffff)},
		{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpJGT), isa.SrcK), Dst: isa.R1, Imm: 1000}, // goto skip
		{Op: isa.OpLoadImm64, Dst: isa.R4, Imm: int64(i) * 0x100000001},
		{Op: alu64(isa.ALUMul, isa.SrcX), Dst: isa.R4, Src: isa.R3},
		{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpJNE), isa.SrcX), Dst: isa.R4, Src: isa.R2}, // goto skip
		{Op: alu64(isa.ALURsh, isa.SrcK), Dst: isa.R4, Imm: 3},
		{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Imm: 5}, // bpf_ktime_get_ns
	}
}

// blockJumps lists the instructions of a block that jump to its label.
var blockJumps = map[int]bool{6: true, 9: true}

// Layout splits n instructions into blocks, padding moves and the final
// exit. n must be at least 1.
func Layout(n int) (blocks, pad int) {
	blocks = (n - 1) / BlockInsns
	return blocks, n - 1 - blocks*BlockInsns
}

// Star returns a program file of n instructions (n >= 1) made by a Starlark
// loop over the block macro: list comprehensions whose nested lists section
// flattens.
func Star(n int) []byte {
	blocks, pad := Layout(n)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %d instructions: %d blocks of %d, %d padding moves and exit.\n\n", n, blocks, BlockInsns, pad)
	b.WriteString(blockStar)
	fmt.Fprintf(&b, `
prog = [
    [block(i) for i in range(%d)],
    [insn.mov64_imm(r0, i) for i in range(%d)],
    exit(),
]

section(%q, %q, prog)
license("GPL")
`, blocks, pad, Section, Symbol)
	return b.Bytes()
}

// Asm returns the instructions of Star(n) as LLVM assembly for
// `llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj`, with the jumps going
// to labels, as a compiler would write them.
func Asm(n int) []byte {
	blocks, pad := Layout(n)
	var b bytes.Buffer
	b.Grow(n * 32)
	fmt.Fprintf(&b, "\t.text\n\t.section\t%s,\"ax\",@progbits\n\t.globl\t%s\n\t.type\t%s,@function\n%s:\n", Section, Symbol, Symbol, Symbol)
	for i := 0; i < blocks; i++ {
		label := fmt.Sprintf(".LBB%d", i)
		for j, ins := range blockInsns(i) {
			s := ins.AsmString()
			if blockJumps[j] {
				// "if r1 > 0x3e8 goto +0x0": the offset becomes the label.
				s = s[:strings.LastIndexByte(s, ' ')+1] + label
			}
			b.WriteByte('\t')
			b.WriteString(s)
			b.WriteByte('\n')
		}
		b.WriteString(label)
		b.WriteString(":\n")
	}
	for i := 0; i < pad; i++ {
		fmt.Fprintf(&b, "\t%s\n", isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcK), Dst: isa.R0, Imm: int64(i)}.AsmString())
	}
	b.WriteString("\texit\n")
	fmt.Fprintf(&b, ".Lend:\n\t.size\t%s, .Lend-%s\n", Symbol, Symbol)
	return b.Bytes()
}

// AsmStar returns a program file with the instructions of Star(n) written
// as text, in one asm() call: the lines of Asm(n) without its directives,
// with labels that are identifiers.
func AsmStar(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 32)
	fmt.Fprintf(&b, "# %d instructions in one asm() call.\n\nsection(%q, %q, asm(\"\"\"\n", n, Section, Symbol)
	for _, line := range strings.Split(string(Asm(n)), "\n") {
		if line == "" || strings.HasPrefix(line, "\t.") || line == Symbol+":" || line == ".Lend:" {
			continue
		}
		b.WriteString(strings.ReplaceAll(line, ".LBB", "LBB"))
		b.WriteByte('\n')
	}
	b.WriteString("\"\"\"))\nlicense(\"GPL\")\n")
	return b.Bytes()
}

// Code returns the bytes Star(n), Asm(n) and AsmStar(n) assemble to.
func Code(n int) []byte {
	blocks, pad := Layout(n)
	var code []byte
	for i := 0; i < blocks; i++ {
		ins := blockInsns(i)
		slots := 0
		for _, in := range ins {
			slots += in.Slots()
		}
		at := 0
		for j, in := range ins {
			at += in.Slots()
			if blockJumps[j] {
				in.Off = int16(slots - at)
			}
			code = in.Append(code)
		}
	}
	for i := 0; i < pad; i++ {
		code = isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcK), Dst: isa.R0, Imm: int64(i)}.Append(code)
	}
	return isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpExit), isa.SrcK)}.Append(code)
}
