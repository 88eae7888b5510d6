package starlib

import (
	"encoding/hex"
	"reflect"
	"testing"

	"go.starlark.net/starlark"
)

// evalInsn evaluates a Starlark expression in the program-file environment.
func evalInsn(t *testing.T, expr string) (starlark.Value, error) {
	t.Helper()
	thread := &starlark.Thread{}
	return starlark.EvalOptions(FileOptions(), thread, "expr.star", expr, Predeclared())
}

// Each builtin produces exactly the bytes llvm-mc-19 -mcpu=v4 assembles for
// the same instruction, and prints as llvm-objdump-19 prints it. The table
// was made by assembling the right-hand column with llvm-mc-19 and
// disassembling with llvm-objdump-19 --mcpu=v4; the isa package's
// differential test re-checks encodings against llvm-mc on every run.
var encodings = []struct{ expr, hex, text string }{
	{`insn.mov64_imm(r0, 1)`, "b700000001000000", "r0 = 0x1"},
	{`insn.mov64_imm(r3, -1)`, "b7030000ffffffff", "r3 = -0x1"},
	{`insn.mov64_reg(r1, r2)`, "bf21000000000000", "r1 = r2"},
	{`insn.mov32_imm(r1, 0xffffffff)`, "b4010000ffffffff", "w1 = -0x1"},
	{`insn.mov32_reg(r9, r10)`, "bca9000000000000", "w9 = w10"},
	{`insn.alu64_imm("add", r1, -3)`, "07010000fdffffff", "r1 += -0x3"},
	{`insn.alu64_imm("sub", r1, 3)`, "1701000003000000", "r1 -= 0x3"},
	{`insn.alu64_imm("mul", r1, 3)`, "2701000003000000", "r1 *= 0x3"},
	{`insn.alu64_imm("div", r1, 3)`, "3701000003000000", "r1 /= 0x3"},
	{`insn.alu64_imm("sdiv", r1, 3)`, "3701010003000000", "r1 s/= 0x3"},
	{`insn.alu64_imm("or", r1, 3)`, "4701000003000000", "r1 |= 0x3"},
	{`insn.alu64_imm("and", r1, 3)`, "5701000003000000", "r1 &= 0x3"},
	{`insn.alu64_imm("lsh", r1, 3)`, "6701000003000000", "r1 <<= 0x3"},
	{`insn.alu64_imm("rsh", r1, 3)`, "7701000003000000", "r1 >>= 0x3"},
	{`insn.alu64_imm("neg", r1, 0)`, "8701000000000000", "r1 = -r1"},
	{`insn.alu64_imm("mod", r1, 3)`, "9701000003000000", "r1 %= 0x3"},
	{`insn.alu64_imm("smod", r1, 3)`, "9701010003000000", "r1 s%= 0x3"},
	{`insn.alu64_imm("xor", r1, 3)`, "a701000003000000", "r1 ^= 0x3"},
	{`insn.alu64_imm("arsh", r1, 3)`, "c701000003000000", "r1 s>>= 0x3"},
	{`insn.alu64_reg("add", r1, r2)`, "0f21000000000000", "r1 += r2"},
	{`insn.alu64_reg("sdiv", r1, r2)`, "3f21010000000000", "r1 s/= r2"},
	{`insn.alu64_reg("smod", r1, r2)`, "9f21010000000000", "r1 s%= r2"},
	{`insn.alu64_reg("arsh", r1, r2)`, "cf21000000000000", "r1 s>>= r2"},
	{`insn.alu32_imm("add", r1, 7)`, "0401000007000000", "w1 += 0x7"},
	{`insn.alu32_imm("sdiv", r1, 7)`, "3401010007000000", "w1 s/= 0x7"},
	{`insn.alu32_imm("neg", r1, 0)`, "8401000000000000", "w1 = -w1"},
	{`insn.alu32_reg("xor", r1, r2)`, "ac21000000000000", "w1 ^= w2"},
	{`insn.alu32_reg("smod", r4, r5)`, "9c54010000000000", "w4 s%= w5"},
	{`insn.neg64(r2)`, "8702000000000000", "r2 = -r2"},
	{`insn.neg32(r2)`, "8402000000000000", "w2 = -w2"},
	{`insn.movsx64_reg(r1, r2, 8)`, "bf21080000000000", "r1 = (s8)r2"},
	{`insn.movsx64_reg(r1, r2, 16)`, "bf21100000000000", "r1 = (s16)r2"},
	{`insn.movsx64_reg(r1, r2, 32)`, "bf21200000000000", "r1 = (s32)r2"},
	{`insn.movsx32_reg(r1, r2, 8)`, "bc21080000000000", "w1 = (s8)w2"},
	{`insn.movsx32_reg(r1, r2, 16)`, "bc21100000000000", "w1 = (s16)w2"},
	{`insn.to_be(r1, 16)`, "dc01000010000000", "r1 = be16 r1"},
	{`insn.to_be(r1, 32)`, "dc01000020000000", "r1 = be32 r1"},
	{`insn.to_be(r1, 64)`, "dc01000040000000", "r1 = be64 r1"},
	{`insn.to_le(r1, 16)`, "d401000010000000", "r1 = le16 r1"},
	{`insn.to_le(r1, 64)`, "d401000040000000", "r1 = le64 r1"},
	{`insn.bswap(r1, 16)`, "d701000010000000", "r1 = bswap16 r1"},
	{`insn.bswap(r1, 32)`, "d701000020000000", "r1 = bswap32 r1"},
	{`insn.bswap(r1, 64)`, "d701000040000000", "r1 = bswap64 r1"},
	{`insn.ldx_mem("b", r1, r2, 1)`, "7121010000000000", "w1 = *(u8 *)(r2 + 0x1)"},
	{`insn.ldx_mem("h", r1, r2, -2)`, "6921feff00000000", "w1 = *(u16 *)(r2 - 0x2)"},
	{`insn.ldx_mem("w", r1, r2, 4)`, "6121040000000000", "w1 = *(u32 *)(r2 + 0x4)"},
	{`insn.ldx_mem("dw", r1, r10, -8)`, "79a1f8ff00000000", "r1 = *(u64 *)(r10 - 0x8)"},
	{`insn.ldx_memsx("b", r1, r2, 1)`, "9121010000000000", "r1 = *(s8 *)(r2 + 0x1)"},
	{`insn.ldx_memsx("h", r1, r2, 2)`, "8921020000000000", "r1 = *(s16 *)(r2 + 0x2)"},
	{`insn.ldx_memsx("w", r1, r2, 32767)`, "8121ff7f00000000", "r1 = *(s32 *)(r2 + 0x7fff)"},
	{`insn.stx_mem("b", r10, r1, -1)`, "731affff00000000", "*(u8 *)(r10 - 0x1) = w1"},
	{`insn.stx_mem("h", r10, r1, -2)`, "6b1afeff00000000", "*(u16 *)(r10 - 0x2) = w1"},
	{`insn.stx_mem("w", r10, r1, -4)`, "631afcff00000000", "*(u32 *)(r10 - 0x4) = w1"},
	{`insn.stx_mem("dw", r10, r1, -32768)`, "7b1a008000000000", "*(u64 *)(r10 - 0x8000) = r1"},
	{`insn.st_mem("b", r10, -1, 255)`, "720affffff000000", "*(u8 *)(r10 - 0x1) = 0xff"},
	{`insn.st_mem("w", r10, -4, -7)`, "620afcfff9ffffff", "*(u32 *)(r10 - 0x4) = -0x7"},
	{`insn.st_mem("dw", r1, 8, 42)`, "7a0108002a000000", "*(u64 *)(r1 + 0x8) = 0x2a"},
	{`insn.atomic_op("w", "add", r1, r2, 4)`, "c321040000000000", "lock *(u32 *)(r1 + 0x4) += w2"},
	{`insn.atomic_op("dw", "add", r1, r2, 0)`, "db21000000000000", "lock *(u64 *)(r1 + 0x0) += r2"},
	{`insn.atomic_op("dw", "or", r1, r2, 0)`, "db21000040000000", "lock *(u64 *)(r1 + 0x0) |= r2"},
	{`insn.atomic_op("dw", "and", r1, r2, 0)`, "db21000050000000", "lock *(u64 *)(r1 + 0x0) &= r2"},
	{`insn.atomic_op("dw", "xor", r1, r2, 0)`, "db210000a0000000", "lock *(u64 *)(r1 + 0x0) ^= r2"},
	{`insn.atomic_op("dw", "add", r1, r2, 0, fetch = True)`, "db21000001000000", "r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)"},
	{`insn.atomic_op("w", "or", r1, r2, 0, fetch = True)`, "c321000041000000", "w2 = atomic_fetch_or((u32 *)(r1 + 0x0), w2)"},
	{`insn.atomic_op("dw", "and", r1, r2, 0, fetch = True)`, "db21000051000000", "r2 = atomic_fetch_and((u64 *)(r1 + 0x0), r2)"},
	{`insn.atomic_op("dw", "xor", r1, r2, 0, fetch = True)`, "db210000a1000000", "r2 = atomic_fetch_xor((u64 *)(r1 + 0x0), r2)"},
	{`insn.atomic_op("dw", "xchg", r1, r2, 8)`, "db210800e1000000", "r2 = xchg_64(r1 + 0x8, r2)"},
	{`insn.atomic_op("w", "xchg", r1, r2, 8)`, "c3210800e1000000", "w2 = xchg32_32(r1 + 0x8, w2)"},
	{`insn.atomic_op("dw", "cmpxchg", r1, r2, 8)`, "db210800f1000000", "r0 = cmpxchg_64(r1 + 0x8, r0, r2)"},
	{`insn.atomic_op("w", "cmpxchg", r1, r2, 8)`, "c3210800f1000000", "w0 = cmpxchg32_32(r1 + 0x8, w0, w2)"},
	{`insn.jmp_imm("jeq", r1, 5, 2)`, "1501020005000000", "if r1 == 0x5 goto +0x2"},
	{`insn.jmp_imm("jne", r1, 5, -2)`, "5501feff05000000", "if r1 != 0x5 goto -0x2"},
	{`insn.jmp_imm("jgt", r1, 5, 1)`, "2501010005000000", "if r1 > 0x5 goto +0x1"},
	{`insn.jmp_imm("jge", r1, 5, 1)`, "3501010005000000", "if r1 >= 0x5 goto +0x1"},
	{`insn.jmp_imm("jlt", r1, 5, 1)`, "a501010005000000", "if r1 < 0x5 goto +0x1"},
	{`insn.jmp_imm("jle", r1, 5, 1)`, "b501010005000000", "if r1 <= 0x5 goto +0x1"},
	{`insn.jmp_imm("jsgt", r1, -5, 1)`, "65010100fbffffff", "if r1 s> -0x5 goto +0x1"},
	{`insn.jmp_imm("jsge", r1, 5, 1)`, "7501010005000000", "if r1 s>= 0x5 goto +0x1"},
	{`insn.jmp_imm("jslt", r1, 5, 1)`, "c501010005000000", "if r1 s< 0x5 goto +0x1"},
	{`insn.jmp_imm("jsle", r1, 5, 1)`, "d501010005000000", "if r1 s<= 0x5 goto +0x1"},
	{`insn.jmp_imm("jset", r1, 5, 1)`, "4501010005000000", "if r1 & 0x5 goto +0x1"},
	{`insn.jmp_reg("jeq", r1, r2, 1)`, "1d21010000000000", "if r1 == r2 goto +0x1"},
	{`insn.jmp_reg("jset", r1, r2, 1)`, "4d21010000000000", "if r1 & r2 goto +0x1"},
	{`insn.jmp32_imm("jeq", r1, 5, 1)`, "1601010005000000", "if w1 == 0x5 goto +0x1"},
	{`insn.jmp32_imm("jslt", r1, -1, 1)`, "c6010100ffffffff", "if w1 s< -0x1 goto +0x1"},
	{`insn.jmp32_reg("jne", r1, r2, 1)`, "5e21010000000000", "if w1 != w2 goto +0x1"},
	{`insn.jmp32_reg("jsle", r1, r2, -1)`, "de21ffff00000000", "if w1 s<= w2 goto -0x1"},
	{`insn.ja(3)`, "0500030000000000", "goto +0x3"},
	{`insn.gotol(1000)`, "06000000e8030000", "gotol +0x3e8"},
	{`insn.ld_imm64(r1, 0x123456789abcdef0)`, "18010000f0debc9a0000000078563412", "r1 = 0x123456789abcdef0 ll"},
	{`insn.ld_imm64(r1, -1)`, "18010000ffffffff00000000ffffffff", "r1 = -0x1 ll"},
	{`insn.ld_abs("b", 3)`, "3000000003000000", "r0 = *(u8 *)skb[0x3]"},
	{`insn.ld_abs("h", 12)`, "280000000c000000", "r0 = *(u16 *)skb[0xc]"},
	{`insn.ld_abs("w", 0)`, "2000000000000000", "r0 = *(u32 *)skb[0x0]"},
	{`insn.ld_ind("w", r3, 0)`, "4030000000000000", "r0 = *(u32 *)skb[r3]"},
	{`insn.call("map_lookup_elem")`, "8500000001000000", "call 0x1"},
	{`insn.call("bpf_ktime_get_ns")`, "8500000005000000", "call 0x5"},
	{`insn.call(211)`, "85000000d3000000", "call 0xd3"},
	{`insn.exit()`, "9500000000000000", "exit"},
	{`exit()`, "9500000000000000", "exit"},
}

func TestEncodings(t *testing.T) {
	for _, tc := range encodings {
		v, err := evalInsn(t, tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		in, ok := v.(*Insn)
		if !ok {
			t.Errorf("%s = %s, want insn", tc.expr, v.Type())
			continue
		}
		if got := hex.EncodeToString(in.inst().Append(nil)); got != tc.hex {
			t.Errorf("%s encodes as %s, want %s", tc.expr, got, tc.hex)
		}
		if got := in.String(); got != tc.text {
			t.Errorf("str(%s) = %q, want %q", tc.expr, got, tc.text)
		}
	}
}

// An Insn is 16 bytes without a pointer and a LinkInsn 48 bytes, and a
// chunk of either is one of the allocator's size classes (4,096 and 6,144
// bytes), so that no memory is lost rounding up (see insnvalue.go).
func TestInsnChunkSize(t *testing.T) {
	insn, link := reflect.TypeFor[Insn](), reflect.TypeFor[LinkInsn]()
	if n := insn.Size(); n != 16 {
		t.Errorf("Insn is %d bytes, want 16", n)
	}
	for i := range insn.NumField() {
		switch insn.Field(i).Type.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.String, reflect.Slice, reflect.Map:
			t.Errorf("Insn.%s holds a pointer: the collector would scan Insn chunks", insn.Field(i).Name)
		}
	}
	if n := link.Size(); n != 48 {
		t.Errorf("LinkInsn is %d bytes, want 48", n)
	}
	if n := insn.Size() * insnChunkLen; n != 4096 {
		t.Errorf("an Insn chunk is %d bytes, want 4096", n)
	}
	if n := link.Size() * linkChunkLen; n != 6144 {
		t.Errorf("a LinkInsn chunk is %d bytes, want 6144", n)
	}
}
