package compile

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/fuzzbytes"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/asm"
)

// FuzzBuild builds programs made from the fuzzer's bytes (each byte
// chooses a builtin or an argument) and checks that a build either fails
// with an error naming a position in the file, or produces an object that
// debug/elf and cilium/ebpf's LoadCollectionSpecFromReader both parse. The
// seed corpus is in testdata/fuzz/FuzzBuild.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte("\x03\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0\xc0\xd0\xe0\xf0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src := genProgram(data)
		obj, err := Source("fuzz.star", []byte(src), Options{MaxSteps: 1_000_000})
		if err != nil {
			var ae *asm.Error
			if !errors.As(err, &ae) || ae.Pos.File != "fuzz.star" || ae.Pos.Line < 1 || ae.Pos.Col < 1 {
				t.Fatalf("error without a position in the file: %v\n%s", err, src)
			}
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("%v\n%s", err, src)
			}
			return
		}
		if _, err := elf.NewFile(bytes.NewReader(obj)); err != nil {
			t.Fatalf("debug/elf: %v\n%s", err, src)
		}
		if _, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj)); err != nil {
			t.Fatalf("cilium/ebpf: %v\n%s", err, src)
		}
	})
}

// byteReader hands out the fuzzer's bytes; past the end it gives zeros.
type byteReader struct{ fuzzbytes.Reader }

func (r *byteReader) pick(choices ...string) string {
	return choices[int(r.Next())%len(choices)]
}

func (r *byteReader) reg() string {
	b := r.Next()
	if b >= 240 { // now and then, a register out of range or r10
		return fmt.Sprint(int(b) - 240)
	}
	return fmt.Sprintf("r%d", b%10)
}

func (r *byteReader) imm() string {
	switch b := r.Next(); b % 8 {
	case 0:
		return fmt.Sprint(int8(r.Next()))
	case 1:
		return r.pick("0", "1", "-1", "0x7fffffff", "-0x80000000", "0xffffffff", "0x80000000", "1 << 32", "-(1 << 63)", "(1 << 64) - 1")
	default:
		return fmt.Sprint(int(r.Next()) | int(r.Next())<<8)
	}
}

func (r *byteReader) off() string {
	if r.Next()%16 == 0 {
		return r.pick("32767", "-32768", "32768", "-32769")
	}
	return fmt.Sprint(int8(r.Next()))
}

// genProgram turns data into a program file: a map, a global and a
// function now and then, and one to three programs of instructions,
// labels and jumps.
func genProgram(data []byte) string {
	r := &byteReader{fuzzbytes.Reader{Data: data}}
	var b strings.Builder
	b.WriteString("m = bpf_map(\"m\", \"array\", 4, 8, 1)\n")
	b.WriteString("g = data(\"g\", 7, size = 8)\n")
	b.WriteString("ro = rodata(\"ro\", b\"hello\")\n")
	if r.Next()%2 == 0 {
		b.WriteString("license(\"GPL\")\n")
	}
	hasFunc := r.Next()%3 == 0
	if hasFunc {
		b.WriteString("f = function(\"f\", [insn.mov64_reg(r0, r1), insn.alu64_imm(\"add\", r0, 1), exit()])\n")
	}
	nprog := 1 + int(r.Next())%3
	for p := 0; p < nprog; p++ {
		sec := r.pick("xdp", "socket", "tc", "kprobe/do_sys_open", "cgroup/dev", "tracepoint/syscalls/sys_enter_open")
		fmt.Fprintf(&b, "section(%q, \"p%d\", [\n", sec, p)
		labels := 1 + int(r.Next())%4
		n := int(r.Next()) % 24
		for i := 0; i < n && !r.Done(); i++ {
			fmt.Fprintf(&b, "    %s,\n", genInsn(r, labels, hasFunc))
		}
		// The labels mark the end, so that every jump to one lands on an
		// instruction; now and then the program falls off its end.
		for l := 0; l < labels; l++ {
			fmt.Fprintf(&b, "    label(\"l%d\"),\n", l)
		}
		if r.Next() != 0xff {
			b.WriteString("    insn.mov64_imm(r0, 0),\n    exit(),\n")
		}
		b.WriteString("])\n")
	}
	return b.String()
}

func genInsn(r *byteReader, labels int, hasFunc bool) string {
	target := func() string {
		switch b := r.Next(); {
		case b < 8:
			return fmt.Sprint(int8(r.Next()) / 8)
		case b < 12:
			return "\"nowhere\""
		}
		return fmt.Sprintf("\"l%d\"", int(r.Next())%labels)
	}
	switch r.Next() % 26 {
	case 0:
		return fmt.Sprintf("label(\"m%d\")", r.Next()%8) // may be defined twice
	case 1:
		return fmt.Sprintf("insn.mov64_imm(%s, %s)", r.reg(), r.imm())
	case 2:
		return fmt.Sprintf("insn.mov32_imm(%s, %s)", r.reg(), r.imm())
	case 3:
		return fmt.Sprintf("insn.mov64_reg(%s, %s)", r.reg(), r.reg())
	case 4:
		return fmt.Sprintf("insn.alu64_imm(%q, %s, %s)", r.pick("add", "sub", "mul", "div", "sdiv", "or", "and", "lsh", "rsh", "mod", "smod", "xor", "mov", "arsh"), r.reg(), r.imm())
	case 5:
		return fmt.Sprintf("insn.alu32_reg(%q, %s, %s)", r.pick("add", "sub", "mul", "div", "sdiv", "or", "and", "lsh", "rsh", "mod", "smod", "xor", "mov", "arsh"), r.reg(), r.reg())
	case 6:
		return fmt.Sprintf("insn.neg64(%s)", r.reg())
	case 7:
		return fmt.Sprintf("insn.movsx64_reg(%s, %s, %s)", r.reg(), r.reg(), r.pick("8", "16", "32"))
	case 8:
		return fmt.Sprintf("insn.%s(%s, %s)", r.pick("to_be", "to_le", "bswap"), r.reg(), r.pick("16", "32", "64"))
	case 9:
		return fmt.Sprintf("insn.ldx_mem(%q, %s, %s, %s)", r.pick("b", "h", "w", "dw"), r.reg(), r.reg(), r.off())
	case 10:
		return fmt.Sprintf("insn.ldx_memsx(%q, %s, %s, %s)", r.pick("b", "h", "w"), r.reg(), r.reg(), r.off())
	case 11:
		return fmt.Sprintf("insn.stx_mem(%q, %s, %s, %s)", r.pick("b", "h", "w", "dw"), r.reg(), r.reg(), r.off())
	case 12:
		return fmt.Sprintf("insn.st_mem(%q, %s, %s, %s)", r.pick("b", "h", "w", "dw"), r.reg(), r.off(), r.imm())
	case 13:
		return fmt.Sprintf("insn.atomic_op(%q, %q, %s, %s, %s, fetch = %s)", r.pick("w", "dw"), r.pick("add", "or", "and", "xor", "xchg", "cmpxchg"), r.reg(), r.reg(), r.off(), r.pick("True", "False"))
	case 14:
		return fmt.Sprintf("insn.jmp_imm(%q, %s, %s, %s)", r.pick("jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"), r.reg(), r.imm(), target())
	case 15:
		return fmt.Sprintf("insn.jmp32_reg(%q, %s, %s, %s)", r.pick("jeq", "jne", "jgt", "jge", "jlt", "jle", "jsgt", "jsge", "jslt", "jsle", "jset"), r.reg(), r.reg(), target())
	case 16:
		return fmt.Sprintf("insn.ja(%s)", target())
	case 17:
		return fmt.Sprintf("insn.gotol(%s)", target())
	case 18:
		return fmt.Sprintf("insn.ld_imm64(%s, %s)", r.reg(), r.imm())
	case 19:
		return fmt.Sprintf("insn.ld_abs(%q, %s)", r.pick("b", "h", "w"), r.imm())
	case 20:
		return fmt.Sprintf("insn.call(%s)", r.pick("\"map_lookup_elem\"", "\"bpf_ktime_get_ns\"", "\"trace_printk\"", "1", "5", "\"get_prandom_u32\"", "\"map_update_elem\"", "\"nope\""))
	case 21:
		return "exit()"
	case 22:
		return fmt.Sprintf("insn.ld_map_fd(%s, m)", r.reg())
	case 23:
		return fmt.Sprintf("insn.ld_map_value(%s, %s, %d)", r.reg(), r.pick("g", "ro"), r.Next()%10)
	case 24:
		if hasFunc {
			return "insn.call_func(f)"
		}
		return "insn.call_func(\"f\")"
	default:
		return fmt.Sprintf("insn.raw(%d, %d, %d, %s, %s)", r.Next(), r.Next()%16, r.Next()%16, r.off(), r.imm())
	}
}
