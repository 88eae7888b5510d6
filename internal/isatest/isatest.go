// Package isatest generates BPF instructions for differential tests against
// LLVM, and runs the LLVM tools on them. It is shared by the tests of the isa
// and disasm packages, which check the same objects from both ends: isa that
// its encoder agrees with llvm-mc and its String with llvm-objdump, disasm
// that its listing of a whole object agrees with llvm-objdump's.
package isatest

import (
	"bytes"
	"debug/elf"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/isa"
)

// Edge values for the fields that vary.
var (
	imm32s = []int64{0, 1, -1, 2, 16, 0x7f, 0xff, 0x7fff, -0x8000, 0x12345678,
		math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, math.MinInt32 + 1}
	imm64s = []int64{0, 1, -1, 0x123456789, 0xffffffff, 0x80000000, -0x80000000,
		0x100000000, 0x1122334455667788, -0x1122334455667788,
		math.MaxInt64, math.MinInt64, math.MaxInt32, math.MinInt32}
	offs = []int16{0, 1, -1, 2, 8, -8, 0x7ff, 0x7fff, -0x8000, math.MaxInt16 - 1, math.MinInt16 + 1}
)

// template is one instruction form: an opcode and the fields it uses. Fields
// not in use stay zero; fixed fields keep the template's value.
type template struct {
	ins                       isa.Instruction
	dst, src, off, imm, imm64 bool
	imms                      []int64 // replaces imm32s when set
}

var aluOps = []isa.ALUOp{isa.ALUAdd, isa.ALUSub, isa.ALUMul, isa.ALUDiv, isa.ALUOr, isa.ALUAnd,
	isa.ALULsh, isa.ALURsh, isa.ALUMod, isa.ALUXor, isa.ALUMov, isa.ALUArsh}

var condOps = []isa.JumpOp{isa.JumpJEQ, isa.JumpJGT, isa.JumpJGE, isa.JumpJSET, isa.JumpJNE,
	isa.JumpJSGT, isa.JumpJSGE, isa.JumpJLT, isa.JumpJLE, isa.JumpJSLT, isa.JumpJSLE}

var sizes = []isa.Size{isa.SizeW, isa.SizeH, isa.SizeB, isa.SizeDW}

// templates lists every instruction form that llvm-mc can express.
func templates() []template {
	var ts []template
	add := func(t template) { ts = append(ts, t) }
	for _, c := range []isa.Class{isa.ClassALU, isa.ClassALU64} {
		for _, op := range aluOps {
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(op), isa.SrcK)}, dst: true, imm: true})
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(op), isa.SrcX)}, dst: true, src: true})
		}
		for _, op := range []isa.ALUOp{isa.ALUDiv, isa.ALUMod} { // sdiv, smod
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(op), isa.SrcK), Off: 1}, dst: true, imm: true})
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(op), isa.SrcX), Off: 1}, dst: true, src: true})
		}
		widths := []int16{8, 16}
		if c == isa.ClassALU64 {
			widths = append(widths, 32)
		}
		for _, w := range widths { // movsx
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(isa.ALUMov), isa.SrcX), Off: w}, dst: true, src: true})
		}
		add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(isa.ALUNeg), isa.SrcK)}, dst: true})
		swaps := []isa.Source{isa.SrcK, isa.SrcX} // le, be
		if c == isa.ClassALU64 {
			swaps = swaps[:1] // bswap
		}
		for _, s := range swaps {
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(isa.ALUEnd), s)}, dst: true, imm: true, imms: []int64{16, 32, 64}})
		}
	}
	// addr_space_cast: the immediate holds two 16-bit address spaces.
	add(template{ins: isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcX), Off: 1},
		dst: true, src: true, imm: true, imms: []int64{0, 1, 0x10000, 0x10002, 0xffff, -1, -0x10000}})

	for _, c := range []isa.Class{isa.ClassJMP, isa.ClassJMP32} {
		for _, op := range condOps {
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(op), isa.SrcK)}, dst: true, imm: true, off: true})
			add(template{ins: isa.Instruction{Op: isa.Op(c, uint8(op), isa.SrcX)}, dst: true, src: true, off: true})
		}
	}
	add(template{ins: isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpJA), isa.SrcK)}, off: true})
	// gotol: llvm-mc takes 16-bit offsets only.
	add(template{ins: isa.Instruction{Op: isa.Op(isa.ClassJMP32, uint8(isa.JumpJA), isa.SrcK)}, imm: true,
		imms: []int64{0, 1, -1, 0x100, 0x7fff, -0x8000, 0x7ffe, -0x7fff}})
	add(template{ins: isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK)}, imm: true})
	add(template{ins: isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcX)}, dst: true}) // callx
	add(template{ins: isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpExit), isa.SrcK)}})
	add(template{ins: isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpMayGoto), isa.SrcK)}, off: true})

	add(template{ins: isa.Instruction{Op: isa.OpLoadImm64}, dst: true, imm64: true})
	for src := isa.PseudoMapFD; src <= 15; src++ {
		add(template{ins: isa.Instruction{Op: isa.OpLoadImm64, Src: src}, dst: true, imm: true,
			imms: []int64{0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678}})
	}
	for _, s := range sizes[:3] {
		add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassLD, isa.ModeABS, s)}, imm: true})
		add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassLD, isa.ModeIND, s)}, src: true})
	}
	for _, s := range sizes {
		add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, s)}, dst: true, src: true, off: true})
		if s != isa.SizeDW {
			add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEMSX, s)}, dst: true, src: true, off: true})
		}
		add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassST, isa.ModeMEM, s)}, dst: true, off: true, imm: true})
		add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassSTX, isa.ModeMEM, s)}, dst: true, src: true, off: true})
	}
	for _, s := range []isa.Size{isa.SizeW, isa.SizeDW} {
		for _, a := range []isa.AtomicOp{isa.AtomicAdd, isa.AtomicOr, isa.AtomicAnd, isa.AtomicXor} {
			for _, f := range []isa.AtomicOp{0, isa.AtomicFetch} {
				add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassSTX, isa.ModeATOMIC, s), Imm: int64(a | f)}, dst: true, src: true, off: true})
			}
		}
		for _, a := range []isa.AtomicOp{isa.AtomicXchg, isa.AtomicCmpXchg} {
			add(template{ins: isa.Instruction{Op: isa.MemOp(isa.ClassSTX, isa.ModeATOMIC, s), Imm: int64(a)}, dst: true, src: true, off: true})
		}
	}
	return ts
}

// base returns the template's instruction with distinctive defaults in the
// fields it uses.
func (t template) base() isa.Instruction {
	ins := t.ins
	if t.dst {
		ins.Dst = isa.R1
	}
	if t.src {
		ins.Src = isa.R2
	}
	if t.off {
		ins.Off = 3
	}
	if t.imm64 {
		ins.Imm = 0x123456789
	} else if t.imm {
		ins.Imm = t.immValues()[len(t.immValues())/2]
	}
	return ins
}

func (t template) immValues() []int64 {
	if t.imms != nil {
		return t.imms
	}
	return imm32s
}

// Forms returns instructions of every form llvm-mc can express: for each
// form its fields one at a time over all registers r0-r10 and over edge
// values of offsets and immediates. AsmString never falls back to a data
// directive for them.
func Forms() []isa.Instruction {
	var out []isa.Instruction
	for _, t := range templates() {
		b := t.base()
		out = append(out, b)
		if t.dst {
			for r := isa.R0; r <= isa.R10; r++ {
				ins := b
				ins.Dst = r
				out = append(out, ins)
			}
		}
		if t.src {
			for r := isa.R0; r <= isa.R10; r++ {
				ins := b
				ins.Src = r
				out = append(out, ins)
			}
		}
		if t.off {
			for _, o := range offs {
				ins := b
				ins.Off = o
				out = append(out, ins)
			}
		}
		if t.imm {
			for _, v := range t.immValues() {
				ins := b
				ins.Imm = v
				out = append(out, ins)
			}
		}
		if t.imm64 {
			for _, v := range imm64s {
				ins := b
				ins.Imm = v
				out = append(out, ins)
			}
		}
	}
	// LLVM knows a register r11 that the kernel does not.
	out = append(out,
		isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcX), Dst: 11, Src: 11},
		isa.Instruction{Op: isa.Op(isa.ClassALU, uint8(isa.ALUAdd), isa.SrcK), Dst: 11, Imm: 5},
		isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, isa.SizeDW), Dst: 11, Src: 11, Off: -8},
		isa.Instruction{Op: isa.OpLoadImm64, Dst: 11, Imm: 7},
	)
	return out
}

// Noncanonical returns encodings that llvm-mc cannot produce from text
// (pseudo calls, non-zero ignored fields, undecodable opcodes), for which
// AsmString must fall back to a data directive. None is a Raw half of a
// 64-bit load or all zero, so each prints as one objdump line.
func Noncanonical() []isa.Instruction {
	op := isa.Op
	return []isa.Instruction{
		{Op: op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Src: isa.CallPseudo, Imm: -1},
		{Op: op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Src: isa.CallPseudo, Imm: 12},
		{Op: op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Src: isa.CallKfunc, Imm: 0x1234},
		{Op: op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Dst: 1, Off: 2, Imm: 1},
		{Op: op(isa.ClassJMP, uint8(isa.JumpJA), isa.SrcK), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: op(isa.ClassJMP32, uint8(isa.JumpJA), isa.SrcK), Off: 3, Imm: 4},
		{Op: op(isa.ClassJMP, uint8(isa.JumpExit), isa.SrcK), Dst: 1, Src: 2, Off: 3},
		{Op: op(isa.ClassALU64, uint8(isa.ALUAdd), isa.SrcX), Dst: 1, Src: 2, Imm: 7},
		{Op: op(isa.ClassALU, uint8(isa.ALUAdd), isa.SrcK), Dst: 1, Src: 2, Imm: 7},
		{Op: op(isa.ClassALU64, uint8(isa.ALUNeg), isa.SrcK), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: op(isa.ClassALU, uint8(isa.ALUEnd), isa.SrcK), Dst: 1, Src: 2, Off: 3, Imm: 16},
		{Op: op(isa.ClassJMP, uint8(isa.JumpJEQ), isa.SrcK), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: op(isa.ClassJMP32, uint8(isa.JumpJNE), isa.SrcX), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: op(isa.ClassJMP, uint8(isa.JumpMayGoto), isa.SrcK), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, isa.SizeW), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: isa.MemOp(isa.ClassST, isa.ModeMEM, isa.SizeB), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: isa.MemOp(isa.ClassSTX, isa.ModeMEM, isa.SizeH), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: isa.MemOp(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW), Dst: 1, Src: 2, Off: 3, Imm: 0x102},
		{Op: isa.MemOp(isa.ClassSTX, isa.ModeATOMIC, isa.SizeW), Dst: 1, Src: 2, Off: 3, Imm: 0x42},
		{Op: isa.MemOp(isa.ClassSTX, isa.ModeATOMIC, isa.SizeW), Dst: 1, Src: 2, Off: 3, Imm: 0x1e1},
		{Op: isa.MemOp(isa.ClassLD, isa.ModeABS, isa.SizeW), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: isa.MemOp(isa.ClassLD, isa.ModeIND, isa.SizeH), Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: isa.OpLoadImm64, Dst: 1, Src: isa.PseudoMapValue, Imm: 0x700000005},
		{Op: isa.OpLoadImm64, Dst: 1, Src: isa.PseudoMapIdxValue, Imm: -1},
		{Op: op(isa.ClassJMP32, uint8(isa.JumpJA), isa.SrcK), Imm: 0x8000},
		{Op: op(isa.ClassJMP32, uint8(isa.JumpJA), isa.SrcK), Imm: -0x80000000},
		{Op: 0xff, Dst: 1, Src: 2, Off: 3, Imm: 4},
		{Op: op(isa.ClassALU64, uint8(isa.ALUEnd), isa.SrcX), Dst: 1, Imm: 16},
		{Op: op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcX), Dst: 12, Src: 1},
		{Op: op(isa.ClassALU, uint8(isa.ALUMov), isa.SrcX), Dst: 1, Off: 32},
		{Op: op(isa.ClassJMP, uint8(isa.JumpExit), isa.SrcK), Imm: 1},
	}
}

// RandomValid returns n random instructions, of random forms with random
// field values, that pass [isa.Instruction.Validate].
func RandomValid(r *rand.Rand, n int) []isa.Instruction {
	ts := templates()
	var out []isa.Instruction
	for len(out) < n {
		t := ts[r.IntN(len(ts))]
		ins := t.base()
		if t.dst {
			ins.Dst = isa.Register(r.IntN(11))
		}
		if t.src {
			ins.Src = isa.Register(r.IntN(11))
		}
		if t.off {
			ins.Off = int16(r.Uint32())
		}
		switch {
		case t.imm64:
			ins.Imm = int64(r.Uint64())
		case t.imms != nil:
			ins.Imm = t.imms[r.IntN(len(t.imms))]
		case t.imm:
			ins.Imm = int64(int32(r.Uint32()))
		}
		if ins.Validate() == nil {
			out = append(out, ins)
		}
	}
	return out
}

// RandomSlots returns n Raw 8-byte slots of random bytes, biased towards the
// values LLVM's decoder distinguishes. No slot is all zero or has the opcode
// of a 64-bit load, so that each one prints as one objdump line.
func RandomSlots(r *rand.Rand, n int) []isa.Instruction {
	pick := func(xs ...int64) int64 { return xs[r.IntN(len(xs))] }
	var out []isa.Instruction
	for len(out) < n {
		ins := isa.Instruction{Op: isa.Opcode(r.IntN(256)), Raw: true}
		if ins.Op == isa.OpLoadImm64 {
			continue
		}
		if r.IntN(2) == 0 {
			ins.Dst, ins.Src = isa.Register(r.IntN(16)), isa.Register(r.IntN(16))
		} else {
			ins.Dst, ins.Src = isa.Register(r.IntN(12)), isa.Register(r.IntN(12))
		}
		ins.Off = int16(pick(0, 0, 0, 1, 8, 16, 32, 64, -1, 2, int64(int16(r.Uint32())), 0x7fff, -0x8000))
		ins.Imm = pick(0, 0, 1, 16, 32, 64, -1, 8, int64(int32(r.Uint32())),
			0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0xe0, 0xf0, 0x02, 0x11, 0xb1,
			int64(r.Uint32()&0xff), int64(r.Uint32()&0xfff))
		if string(ins.Append(nil)) == string(make([]byte, 8)) {
			continue
		}
		out = append(out, ins)
	}
	return out
}

// Source returns assembler source with the AsmString of each instruction on
// a line of its own.
func Source(insns []isa.Instruction) string {
	var b strings.Builder
	for _, ins := range insns {
		b.WriteString("\t")
		b.WriteString(ins.AsmString())
		b.WriteString("\n")
	}
	return b.String()
}

// Assemble assembles src with `llvm-mc-19 -triple bpfel -mcpu=v4` into the
// object dir/name.o and returns its path.
func Assemble(t testing.TB, dir, name, src string) string {
	t.Helper()
	mc := testenv.Tool(t, "llvm-mc-19")
	s := filepath.Join(dir, name+".s")
	o := filepath.Join(dir, name+".o")
	if err := os.WriteFile(s, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mc, "-triple", "bpfel", "-mcpu=v4", "-filetype=obj", s, "-o", o).CombinedOutput(); err != nil {
		t.Fatalf("llvm-mc-19 %s: %v\n%s", s, err, firstLines(out, 20))
	}
	return o
}

// Objdump returns what `llvm-objdump-19 -d --mcpu=v4 path` prints.
func Objdump(t testing.TB, path string) string {
	t.Helper()
	od := testenv.Tool(t, "llvm-objdump-19")
	cmd := exec.Command(od, "-d", "--mcpu=v4", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("llvm-objdump-19 %s: %v\n%s", path, err, firstLines(stderr.Bytes(), 20))
	}
	return string(out)
}

// Section returns the contents of the named section of the ELF file at path.
func Section(t testing.TB, path, name string) []byte {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(name)
	if s == nil {
		t.Fatalf("%s: no section %s", path, name)
	}
	b, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], fmt.Sprintf("... (%d bytes in all)", len(b)))
	}
	return strings.Join(lines, "\n")
}
