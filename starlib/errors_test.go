package starlib

import (
	"strings"
	"testing"
)

// Bad arguments are refused when the builtin is called, with a message that
// names the builtin and the fault.
func TestBuiltinErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`insn.mov64_imm(11, 0)`, "insn.mov64_imm: for parameter dst: register 11 out of range (r0-r10)"},
		{`insn.mov64_imm("r1", 0)`, "insn.mov64_imm: for parameter dst: got string, want register"},
		{`insn.mov64_imm(r10, 0)`, "insn.mov64_imm: r10 is the read-only frame pointer and cannot be written"},
		{`insn.mov64_imm(r1, 1 << 31)`, "insn.mov64_imm: immediate 2147483648 does not fit in a signed 32-bit field (use insn.ld_imm64 for 64-bit constants)"},
		{`insn.mov32_imm(r1, 1 << 32)`, "insn.mov32_imm: immediate 4294967296 does not fit in 32 bits"},
		{`insn.mov64_imm(r1)`, "insn.mov64_imm: missing argument for imm"},
		{`insn.mov64_imm(r1, 1, 2)`, "insn.mov64_imm: got 3 arguments, want at most 2"},
		{`insn.mov64_imm(r1, 1.5)`, "insn.mov64_imm: for parameter imm: got float, want int"},
		{`insn.alu64_imm("pow", r1, 1)`, `insn.alu64_imm: for parameter op: unknown operation "pow" (want one of "add" "and" "arsh" "div" "lsh" "mod" "mov" "mul" "neg" "or" "rsh" "sdiv" "smod" "sub" "xor")`},
		{`insn.alu64_imm("div", r1, 0)`, "insn.alu64_imm: division by zero"},
		{`insn.alu64_reg("neg", r1, r2)`, "insn.alu64_reg: neg has no register form"},
		{`insn.alu64_imm("neg", r1, 3)`, "insn.alu64_imm: neg takes no operand"},
		{`insn.movsx32_reg(r1, r2, 32)`, "insn.movsx32_reg: bits must be 8 or 16, not 32"},
		{`insn.movsx64_reg(r1, r2, 4)`, "insn.movsx64_reg: bits must be 8, 16 or 32, not 4"},
		{`insn.bswap(r1, 8)`, "insn.bswap: bits must be 16, 32 or 64, not 8"},
		{`insn.ldx_mem("q", r1, r2, 0)`, `insn.ldx_mem: for parameter size: unknown size "q" (want one of "b" "dw" "h" "w")`},
		{`insn.ldx_mem("w", r1, r2, 40000)`, "insn.ldx_mem: offset 40000 does not fit in a signed 16-bit field"},
		{`insn.ldx_mem("w", r10, r2, 0)`, "insn.ldx_mem: r10 is the read-only frame pointer"},
		{`insn.ldx_memsx("dw", r1, r2, 0)`, `insn.ldx_memsx: sign-extending loads take sizes "b", "h" and "w" only`},
		{`insn.st_mem("dw", r10, -8, 1 << 40)`, "insn.st_mem: immediate 1099511627776 does not fit"},
		{`insn.atomic_op("b", "add", r1, r2, 0)`, `insn.atomic_op: atomic operations take sizes "w" and "dw" only, not "b"`},
		{`insn.atomic_op("dw", "nand", r1, r2, 0)`, `insn.atomic_op: for parameter op: unknown atomic operation "nand"`},
		{`insn.atomic_op("dw", "xchg", r1, r10, 0)`, "insn.atomic_op: r10 is the read-only frame pointer"},
		{`insn.jmp_imm("jz", r1, 0, "x")`, `insn.jmp_imm: for parameter op: unknown jump operation "jz"`},
		{`insn.jmp_imm("jeq", r1, 0, 40000)`, "insn.jmp_imm: jump offset 40000 does not fit in 16 bits: use insn.gotol"},
		{`insn.jmp_imm("jeq", r1, 0, 1.0)`, "insn.jmp_imm: for parameter target: got float, want label name (string) or offset (int)"},
		{`insn.ja("")`, "insn.ja: for parameter target: empty label name"},
		{`insn.call("map_lookup_elm")`, `insn.call: unknown helper "map_lookup_elm" (did you mean "bpf_map_lookup_elem"?)`},
		{`insn.call(999)`, "insn.call: unknown helper number 999"},
		{`insn.call(None)`, "insn.call: for parameter helper: got NoneType, want helper name (string) or number (int)"},
		{`insn.ld_imm64(r1, 1 << 64)`, "insn.ld_imm64: for parameter imm: 18446744073709551616 does not fit in 64 bits"},
		{`insn.raw(256, 0, 0, 0, 0)`, "insn.raw: code 256 out of range (0-255)"},
		{`insn.raw(0, 16, 0, 0, 0)`, "insn.raw: dst 16 out of range (0-15)"},
		{`insn.mov64_imm2(r1, 0)`, "insn has no .mov64_imm2 field or method (did you mean .mov64_imm?)"},
		{`label("1x")`, `label: label name "1x" is not an identifier`},
		{`exit(1)`, "exit: got 1 arguments, want at most 0"},
		{`fail("stop here")`, "stop here"},
	} {
		_, err := evalInsn(t, tc.expr)
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.expr, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got error %q\nwant it to contain %q", tc.expr, err, tc.want)
		}
	}
}

// Values behave as Starlark values: printable, comparable, hashable.
func TestValues(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`str(r1)`, `"r1"`},
		{`fp == r10`, `True`},
		{`[r1, r2] < [r1, r3]`, `True`},
		{`insn.mov64_imm(r0, 1) == insn.mov64_imm(r0, 1)`, `True`},
		{`insn.mov64_imm(r0, 1) != insn.mov64_imm(r0, 2)`, `True`},
		{`insn.ja("out") == insn.ja("out")`, `True`},
		{`insn.ja("out") == insn.ja("in")`, `False`},
		{`len(dict([(insn.exit(), 1), (exit(), 2)]))`, `1`},
		{`str(insn.jmp_imm("jeq", r1, 0, "out"))`, `"if r1 == 0x0 goto out"`},
		{`str(insn.gotol("far"))`, `"gotol far"`},
		{`str([label("l"), exit()])`, `"[label(\"l\"), exit]"`},
		{`insn.mov64_imm(r3, -2).imm`, `-2`},
		{`(insn.ld_imm64(r1, 1).size, exit().size)`, `(16, 8)`},
		{`insn.ja("out").target`, `"out"`},
		{`type(insn.exit())`, `"insn"`},
		// Instructions that refer to different symbols differ.
		{`insn.call_func("f") == insn.call_func("g")`, `False`},
		{`insn.call_func("f") == insn.call_func("f")`, `True`},
		{`len(dict([(insn.call_func("f"), 1), (insn.call_func("g"), 2)]))`, `2`},
	} {
		v, err := evalInsn(t, tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := v.String(); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.expr, got, tc.want)
		}
	}
}
