package isa_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/isa"
)

// insn builds an instruction from its parts.
func insn(op isa.Opcode, dst, src isa.Register, off int16, imm int64) isa.Instruction {
	return isa.Instruction{Op: op, Dst: dst, Src: src, Off: off, Imm: imm}
}

var (
	alu    = func(op isa.ALUOp, s isa.Source) isa.Opcode { return isa.Op(isa.ClassALU, uint8(op), s) }
	alu64  = func(op isa.ALUOp, s isa.Source) isa.Opcode { return isa.Op(isa.ClassALU64, uint8(op), s) }
	jmp    = func(op isa.JumpOp, s isa.Source) isa.Opcode { return isa.Op(isa.ClassJMP, uint8(op), s) }
	jmp32  = func(op isa.JumpOp, s isa.Source) isa.Opcode { return isa.Op(isa.ClassJMP32, uint8(op), s) }
	memop  = isa.MemOp
	atomic = func(s isa.Size) isa.Opcode { return memop(isa.ClassSTX, isa.ModeATOMIC, s) }
)

// TestString pins the text of every form, as llvm-objdump-19 prints it.
// TestLLVM checks the same against the real tools.
func TestString(t *testing.T) {
	K, X := isa.SrcK, isa.SrcX
	tests := []struct {
		ins  isa.Instruction
		want string
	}{
		{insn(alu64(isa.ALUMov, K), 0, 0, 0, 1), "r0 = 0x1"},
		{insn(alu64(isa.ALUMov, K), 1, 0, 0, -1), "r1 = -0x1"},
		{insn(alu(isa.ALUMov, K), 1, 0, 0, -0x80000000), "w1 = -0x80000000"},
		{insn(alu64(isa.ALUMov, X), 1, 2, 0, 0), "r1 = r2"},
		{insn(alu(isa.ALUMov, X), 1, 2, 0, 0), "w1 = w2"},
		{insn(alu64(isa.ALUMov, X), 1, 2, 8, 0), "r1 = (s8)r2"},
		{insn(alu64(isa.ALUMov, X), 1, 2, 16, 0), "r1 = (s16)r2"},
		{insn(alu64(isa.ALUMov, X), 1, 2, 32, 0), "r1 = (s32)r2"},
		{insn(alu(isa.ALUMov, X), 1, 2, 8, 0), "w1 = (s8)w2"},
		{insn(alu(isa.ALUMov, X), 1, 2, 16, 0), "w1 = (s16)w2"},
		{insn(alu(isa.ALUMov, X), 1, 2, 32, 0), "<unknown>"},
		{insn(alu64(isa.ALUMov, X), 1, 2, 1, 0x10002), "r1 = addr_space_cast(r2, 0x1, 0x2)"},
		{insn(alu64(isa.ALUAdd, K), 1, 0, 0, 0x7fffffff), "r1 += 0x7fffffff"},
		{insn(alu64(isa.ALUSub, X), 10, 9, 0, 0), "r10 -= r9"},
		{insn(alu(isa.ALUMul, K), 3, 0, 0, 5), "w3 *= 0x5"},
		{insn(alu64(isa.ALUDiv, K), 1, 0, 0, 3), "r1 /= 0x3"},
		{insn(alu64(isa.ALUDiv, K), 1, 0, 1, -3), "r1 s/= -0x3"},
		{insn(alu(isa.ALUMod, X), 1, 2, 0, 0), "w1 %= w2"},
		{insn(alu(isa.ALUMod, X), 1, 2, 1, 0), "w1 s%= w2"},
		{insn(alu(isa.ALUMod, X), 1, 2, 2, 0), "<unknown>"},
		{insn(alu64(isa.ALUOr, K), 1, 0, 0, 1), "r1 |= 0x1"},
		{insn(alu64(isa.ALUAnd, X), 1, 2, 0, 0), "r1 &= r2"},
		{insn(alu64(isa.ALULsh, K), 1, 0, 0, 63), "r1 <<= 0x3f"},
		{insn(alu(isa.ALURsh, X), 1, 2, 0, 0), "w1 >>= w2"},
		{insn(alu64(isa.ALUArsh, K), 1, 0, 0, 1), "r1 s>>= 0x1"},
		{insn(alu(isa.ALUXor, K), 1, 0, 0, -16), "w1 ^= -0x10"},
		{insn(alu64(isa.ALUNeg, K), 1, 0, 0, 0), "r1 = -r1"},
		{insn(alu(isa.ALUNeg, K), 1, 0, 0, 0), "w1 = -w1"},
		{insn(alu(isa.ALUEnd, K), 1, 0, 0, 16), "r1 = le16 r1"},
		{insn(alu(isa.ALUEnd, X), 1, 0, 0, 32), "r1 = be32 r1"},
		{insn(alu64(isa.ALUEnd, K), 1, 0, 0, 64), "r1 = bswap64 r1"},
		{insn(alu64(isa.ALUEnd, X), 1, 0, 0, 64), "<unknown>"},
		{insn(alu(isa.ALUEnd, K), 1, 0, 0, 8), "<unknown>"},
		{insn(alu64(isa.ALUAdd, K), 1, 0, 1, 1), "<unknown>"},

		{insn(memop(isa.ClassLDX, isa.ModeMEM, isa.SizeW), 2, 1, 4, 0), "w2 = *(u32 *)(r1 + 0x4)"},
		{insn(memop(isa.ClassLDX, isa.ModeMEM, isa.SizeH), 2, 1, -2, 0), "w2 = *(u16 *)(r1 - 0x2)"},
		{insn(memop(isa.ClassLDX, isa.ModeMEM, isa.SizeB), 2, 1, 0, 0), "w2 = *(u8 *)(r1 + 0x0)"},
		{insn(memop(isa.ClassLDX, isa.ModeMEM, isa.SizeDW), 2, 10, -0x8000, 0), "r2 = *(u64 *)(r10 - 0x8000)"},
		{insn(memop(isa.ClassLDX, isa.ModeMEMSX, isa.SizeW), 2, 1, 4, 0), "r2 = *(s32 *)(r1 + 0x4)"},
		{insn(memop(isa.ClassLDX, isa.ModeMEMSX, isa.SizeH), 2, 1, 4, 0), "r2 = *(s16 *)(r1 + 0x4)"},
		{insn(memop(isa.ClassLDX, isa.ModeMEMSX, isa.SizeB), 2, 1, 4, 0), "r2 = *(s8 *)(r1 + 0x4)"},
		{insn(memop(isa.ClassLDX, isa.ModeMEMSX, isa.SizeDW), 2, 1, 4, 0), "<unknown>"},
		{insn(memop(isa.ClassST, isa.ModeMEM, isa.SizeW), 10, 0, -8, 1), "*(u32 *)(r10 - 0x8) = 0x1"},
		{insn(memop(isa.ClassST, isa.ModeMEM, isa.SizeDW), 10, 0, -8, -1), "*(u64 *)(r10 - 0x8) = -0x1"},
		{insn(memop(isa.ClassSTX, isa.ModeMEM, isa.SizeB), 10, 3, -1, 0), "*(u8 *)(r10 - 0x1) = w3"},
		{insn(memop(isa.ClassSTX, isa.ModeMEM, isa.SizeH), 10, 3, 2, 0), "*(u16 *)(r10 + 0x2) = w3"},
		{insn(memop(isa.ClassSTX, isa.ModeMEM, isa.SizeDW), 10, 3, -8, 0), "*(u64 *)(r10 - 0x8) = r3"},

		{insn(atomic(isa.SizeDW), 1, 2, 0, int64(isa.AtomicAdd)), "lock *(u64 *)(r1 + 0x0) += r2"},
		{insn(atomic(isa.SizeW), 1, 2, 8, int64(isa.AtomicOr)), "lock *(u32 *)(r1 + 0x8) |= w2"},
		{insn(atomic(isa.SizeDW), 1, 2, 0, int64(isa.AtomicAnd)), "lock *(u64 *)(r1 + 0x0) &= r2"},
		{insn(atomic(isa.SizeW), 1, 2, 0, int64(isa.AtomicXor)), "lock *(u32 *)(r1 + 0x0) ^= w2"},
		{insn(atomic(isa.SizeDW), 1, 2, 0, int64(isa.AtomicAdd|isa.AtomicFetch)), "r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)"},
		{insn(atomic(isa.SizeW), 1, 2, 0, int64(isa.AtomicOr|isa.AtomicFetch)), "w2 = atomic_fetch_or((u32 *)(r1 + 0x0), w2)"},
		{insn(atomic(isa.SizeDW), 1, 2, 0, int64(isa.AtomicAnd|isa.AtomicFetch)), "r2 = atomic_fetch_and((u64 *)(r1 + 0x0), r2)"},
		{insn(atomic(isa.SizeW), 1, 2, -4, int64(isa.AtomicXor|isa.AtomicFetch)), "w2 = atomic_fetch_xor((u32 *)(r1 - 0x4), w2)"},
		{insn(atomic(isa.SizeDW), 1, 2, 0, int64(isa.AtomicXchg)), "r2 = xchg_64(r1 + 0x0, r2)"},
		{insn(atomic(isa.SizeW), 1, 2, 0, int64(isa.AtomicXchg)), "w2 = xchg32_32(r1 + 0x0, w2)"},
		{insn(atomic(isa.SizeDW), 1, 2, 8, int64(isa.AtomicCmpXchg)), "r0 = cmpxchg_64(r1 + 0x8, r0, r2)"},
		{insn(atomic(isa.SizeW), 1, 2, 8, int64(isa.AtomicCmpXchg)), "w0 = cmpxchg32_32(r1 + 0x8, w0, w2)"},
		{insn(atomic(isa.SizeDW), 1, 2, 0, 0x102), "lock *(u64 *)(r1 + 0x0) += r2"}, // LLVM reads the low byte only
		{insn(atomic(isa.SizeDW), 1, 2, 0, 0xe0), "<unknown>"},
		{insn(atomic(isa.SizeH), 1, 2, 0, 0), "<unknown>"},

		{insn(jmp(isa.JumpJA, K), 0, 0, 2, 0), "goto +0x2"},
		{insn(jmp(isa.JumpJA, K), 0, 0, -1, 0), "goto -0x1"},
		{insn(jmp32(isa.JumpJA, K), 0, 0, 0, 0x10000), "gotol +0x10000"},
		{insn(jmp32(isa.JumpJA, K), 0, 0, 0, -0x80000000), "gotol -0x80000000"},
		{insn(jmp(isa.JumpJEQ, K), 1, 0, 2, 0), "if r1 == 0x0 goto +0x2"},
		{insn(jmp(isa.JumpJGT, X), 1, 2, 0, 0), "if r1 > r2 goto +0x0"},
		{insn(jmp32(isa.JumpJGE, K), 1, 0, -3, -1), "if w1 >= -0x1 goto -0x3"},
		{insn(jmp32(isa.JumpJSET, X), 1, 2, 1, 0), "if w1 & w2 goto +0x1"},
		{insn(jmp(isa.JumpJNE, K), 1, 0, 1, 7), "if r1 != 0x7 goto +0x1"},
		{insn(jmp(isa.JumpJSGT, X), 1, 2, 1, 0), "if r1 s> r2 goto +0x1"},
		{insn(jmp(isa.JumpJSGE, K), 1, 0, 1, 7), "if r1 s>= 0x7 goto +0x1"},
		{insn(jmp32(isa.JumpJLT, X), 1, 2, 1, 0), "if w1 < w2 goto +0x1"},
		{insn(jmp32(isa.JumpJLE, K), 1, 0, 1, 7), "if w1 <= 0x7 goto +0x1"},
		{insn(jmp(isa.JumpJSLT, X), 1, 2, 1, 0), "if r1 s< r2 goto +0x1"},
		{insn(jmp(isa.JumpJSLE, K), 1, 0, 1, 7), "if r1 s<= 0x7 goto +0x1"},
		{insn(jmp(isa.JumpCall, K), 0, 0, 0, 1), "call 0x1"},
		{insn(jmp(isa.JumpCall, K), 0, isa.CallPseudo, 0, -1), "call -0x1"},
		{insn(jmp(isa.JumpCall, K), 0, isa.CallKfunc, 0, 0x1234), "call 0x1234"},
		{insn(jmp(isa.JumpCall, X), 3, 0, 0, 0), "callx r3"},
		{insn(jmp(isa.JumpExit, K), 0, 0, 0, 0), "exit"},
		{insn(jmp(isa.JumpExit, K), 0, 0, 0, 1), "<unknown>"},
		{insn(jmp(isa.JumpMayGoto, K), 0, 0, 5, 0), "may_goto +0x5"},
		{insn(jmp32(isa.JumpCall, K), 0, 0, 0, 1), "<unknown>"},

		{insn(isa.OpLoadImm64, 1, 0, 0, 0x123456789), "r1 = 0x123456789 ll"},
		{insn(isa.OpLoadImm64, 1, 0, 0, -1), "r1 = -0x1 ll"},
		{insn(isa.OpLoadImm64, 1, 0, 0, -0x8000000000000000), "r1 = -0x8000000000000000 ll"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoMapFD, 0, 5), "ld_pseudo\tr1, 0x1, 0x5"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoMapValue, 0, 0x700000005), "ld_pseudo\tr1, 0x2, 0x5"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoBTFID, 0, -1), "ld_pseudo\tr1, 0x3, 0xffffffff"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoFunc, 0, 3), "ld_pseudo\tr1, 0x4, 0x3"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoMapIdx, 0, 0), "ld_pseudo\tr1, 0x5, 0x0"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoMapIdxValue, 0, 8), "ld_pseudo\tr1, 0x6, 0x8"},
		{insn(isa.OpLoadImm64, 1, 0, 1, 0), "<unknown>"},
		{isa.Instruction{Op: isa.OpLoadImm64, Dst: 1, Raw: true}, "<unknown>"},
		{insn(memop(isa.ClassLD, isa.ModeABS, isa.SizeW), 0, 0, 0, 4), "r0 = *(u32 *)skb[0x4]"},
		{insn(memop(isa.ClassLD, isa.ModeABS, isa.SizeH), 0, 0, 0, -1), "r0 = *(u16 *)skb[-0x1]"},
		{insn(memop(isa.ClassLD, isa.ModeABS, isa.SizeB), 0, 0, 0, 0), "r0 = *(u8 *)skb[0x0]"},
		{insn(memop(isa.ClassLD, isa.ModeIND, isa.SizeW), 0, 7, 0, 0), "r0 = *(u32 *)skb[r7]"},
		{insn(memop(isa.ClassLD, isa.ModeIND, isa.SizeH), 0, 7, 0, 0), "r0 = *(u16 *)skb[r7]"},
		{insn(memop(isa.ClassLD, isa.ModeIND, isa.SizeB), 0, 7, 0, 0), "r0 = *(u8 *)skb[r7]"},
		{insn(memop(isa.ClassLD, isa.ModeABS, isa.SizeDW), 0, 0, 0, 0), "<unknown>"},

		// Fields LLVM does not decode are ignored; registers 12-15 are not.
		{insn(jmp(isa.JumpJA, K), 1, 2, 3, 4), "goto +0x3"},
		{insn(alu64(isa.ALUAdd, X), 1, 2, 0, 99), "r1 += r2"},
		{insn(alu64(isa.ALUAdd, K), 1, 15, 0, 99), "r1 += 0x63"},
		{insn(alu64(isa.ALUMov, X), 11, 11, 0, 0), "r11 = r11"},
		{insn(alu64(isa.ALUMov, X), 12, 1, 0, 0), "<unknown>"},
		{isa.Instruction{Op: 0xff}, "<unknown>"},
	}
	for _, tt := range tests {
		if got := tt.ins.String(); got != tt.want {
			t.Errorf("%+v: String() = %q, want %q", tt.ins, got, tt.want)
		}
	}
}

func TestAsmString(t *testing.T) {
	tests := []struct {
		ins  isa.Instruction
		want string
	}{
		{insn(alu64(isa.ALUMov, isa.SrcK), 0, 0, 0, 1), "r0 = 0x1"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoMapFD, 0, 5), "ld_pseudo\tr1, 0x1, 0x5"},
		{insn(jmp(isa.JumpCall, isa.SrcK), 0, isa.CallPseudo, 0, -1),
			".byte 0x85, 0x10, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff // call -0x1"},
		{insn(isa.OpLoadImm64, 1, isa.PseudoMapValue, 0, 0x700000005),
			".byte 0x18, 0x21, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00 // ld_pseudo\tr1, 0x2, 0x5"},
		{isa.Instruction{Op: 0xff, Raw: true}, ".byte 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 // <unknown>"},
	}
	for _, tt := range tests {
		if got := tt.ins.AsmString(); got != tt.want {
			t.Errorf("%+v: AsmString() = %q, want %q", tt.ins, got, tt.want)
		}
	}
}

// TestLLVM assembles every instruction form over edge values, a few thousand
// random valid instructions and random 8-byte slots with llvm-mc-19, checks
// that the object's .text holds exactly the bytes of isa.Encode, and that
// llvm-objdump-19 prints String for each of them.
func TestLLVM(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	forms := isatest.Forms()
	for _, ins := range forms {
		if s := ins.AsmString(); strings.HasPrefix(s, ".byte") {
			t.Errorf("%+v: llvm-mc can express it, but AsmString() = %q", ins, s)
		}
	}
	nonCanonical := isatest.Noncanonical()
	for _, ins := range nonCanonical {
		if s := ins.AsmString(); !strings.HasPrefix(s, ".byte") {
			t.Errorf("%+v: llvm-mc cannot express it, but AsmString() = %q", ins, s)
		}
	}
	insns := append(append(forms, nonCanonical...), isatest.RandomValid(r, 3000)...)
	insns = append(insns, isatest.RandomSlots(r, 5000)...)
	t.Logf("%d instructions", len(insns))

	obj := isatest.Assemble(t, t.TempDir(), "all", isatest.Source(insns))
	got, want := isatest.Section(t, obj, ".text"), isa.Encode(insns)
	if !bytes.Equal(got, want) {
		off := 0
		for _, ins := range insns {
			n := ins.Size()
			if off+n > len(got) || !bytes.Equal(got[off:off+n], want[off:off+n]) {
				end := min(off+n, len(got))
				t.Fatalf("at byte %d, %q assembles to % x, want % x", off, ins.AsmString(), got[off:end], want[off:off+n])
			}
			off += n
		}
		t.Fatalf(".text is %d bytes, want %d", len(got), len(want))
	}

	lines := instructionLines(t, isatest.Objdump(t, obj))
	if len(lines) != len(insns) {
		t.Fatalf("objdump printed %d instruction lines, want %d", len(lines), len(insns))
	}
	off, bad := 0, 0
	for i, ins := range insns {
		want := fmt.Sprintf("%8d:\t% x\t%s", off/8, ins.Append(nil), ins.String())
		off += ins.Size()
		line := annotation.ReplaceAllString(lines[i], "")
		if line != want {
			t.Errorf("%+v:\n%s", ins, cmp.Diff(want, line))
			if bad++; bad == 20 {
				t.Fatal("too many differences")
			}
		}
	}
}

var (
	// annotation matches the jump target objdump appends to a line.
	annotation = regexp.MustCompile(` <[^<>]*>$`)
	// instructionLine matches the start of an instruction line.
	instructionLine = regexp.MustCompile(`^ *[0-9]+:\t`)
)

// instructionLines returns the instruction lines of an objdump listing.
func instructionLines(t *testing.T, dump string) []string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(dump, "\n") {
		if instructionLine.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// FuzzDecodeEncode checks that decoding any bytes and encoding the result
// gives the bytes back, and that printing never panics.
func FuzzDecodeEncode(f *testing.F) {
	for _, insns := range [][]isa.Instruction{
		isatest.Forms()[:40],
		isatest.Noncanonical(),
		{insn(isa.OpLoadImm64, 1, 0, 0, 0x123456789)},
	} {
		f.Add(isa.Encode(insns))
	}
	f.Add([]byte{0x18, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		insns, err := isa.DecodeAll(data)
		whole := len(data) &^ (isa.SlotSize - 1)
		if (err != nil) != (whole != len(data)) {
			t.Fatalf("DecodeAll(% x): error %v", data, err)
		}
		if got := isa.Encode(insns); !bytes.Equal(got, data[:whole]) {
			t.Fatalf("Encode(DecodeAll(% x)) = % x", data[:whole], got)
		}
		for _, ins := range insns {
			s := ins.String()
			a := ins.AsmString()
			if s == "" || a == "" {
				t.Fatalf("%+v: empty text", ins)
			}
			if !strings.HasPrefix(a, ".byte") && a != s {
				t.Fatalf("%+v: AsmString %q is neither String %q nor data", ins, a, s)
			}
			_ = ins.Validate()
		}
	})
}
