package starlib_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/helper"
	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/starlib"
)

// TestAsmPositions checks the exact FILE:LINE:COL of errors in asm()
// text: inside the string literal for the common literals (triple-quoted,
// one-line, raw, the first line of the text, after a substitution), at the
// call with the line of the text otherwise; and that the instructions asm()
// makes carry the position of their line (an undefined label is reported
// at the jump, inside the literal).
func TestAsmPositions(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"triple-quoted", `x = asm("""
    r0 = 0
    r1 = *(u32 *)(r1 + 70000)
""")
`, "t.star:3:24: asm: +70000 does not fit in a signed 16-bit offset"},
		{"first line", `x = asm("""r0 = 0 ll ll""")
`, "t.star:1:22: asm: unexpected \"ll\", expected end of line"},
		{"one line", `x   =   asm(  "r1 += r2 + 1")
`, "t.star:1:25: asm: unexpected \"+\", expected end of line"},
		{"single quotes, after a comment", `x = asm(  # the text
    'movv r1, 2')
`, "t.star:2:6: asm: unknown instruction \"movv\""},
		{"raw", `x = asm(r"""
	if r1 > r2 goto +0x1 <\x>
""")
`, "t.star:2:24: asm: unexpected character '\\\\'"},
		{"substitution", `x = asm("""
    r1 = 1
    if r1 > {n} goto out
""", n = 0x100000000)
`, "t.star:3:13: asm: 4294967296 does not fit in a 32-bit immediate"},
		{"after a substitution", `x = asm("""
    if {r} > 1 goto out out
""", r = r1)
`, "t.star:2:25: asm: unexpected \"out\", expected end of line"},
		{"missing value", `x = asm("""
    if {r} > 1 goto out
""")
`, "t.star:2:8: asm: no value for {r} (pass it as a keyword argument: asm(text, r = ...))"},
		{"tabs and non-ASCII", "x = asm(\"\"\"\n\t\tr1 = é\n\"\"\")\n", "t.star:2:8: asm: unexpected character 'é'"},
		{"non-ASCII before the literal", "é = 1; x = asm(\"r1 = $\")\n", "t.star:1:22: asm: unexpected character '$'"},
		{"escape: the call and the line of the text", `x = asm("r0 = 0\nr1 = $")
`, "t.star:1:8: asm: line 2 of the text: unexpected character '$'"},
		{"variable", `text = "r0 = 0\n\nr1 = $"
x = asm(text)
`, "t.star:2:8: asm: line 3 of the text: unexpected character '$'"},
		{"validation", `x = asm("""
    r0 = 0
      r10 = 1
""")
`, "t.star:3:7: asm: r10 is the read-only frame pointer and cannot be written"},
		{"undefined label, from the assembler", `section("xdp", "p", asm("""
    r0 = 0
    goto nowhere
    exit
"""))
`, "t.star:3:5: undefined label \"nowhere\""},
		{"objdump line", "x = asm(\"\"\"\n       0:\tbf 16 00 00 00 00 00 00\tr6 = $1\n\"\"\")\n", "t.star:2:40: asm: unexpected character '$'"},
		{"name", `x = asm("""
    call   bpf_map_lookup_elm
""")
`, "t.star:2:12: asm: unknown helper \"bpf_map_lookup_elm\" (did you mean \"bpf_map_lookup_elem\"?); a BPF function is called by its name once function() has declared it"},
	}
	for _, tt := range tests {
		_, err := compile.Source("t.star", []byte(tt.src), compile.Options{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s: got error\n\t%v\nwant\n\t%s", tt.name, err, tt.want)
		}
	}
}

// TestAsmRandomStream writes 5,000 random valid instructions of every form
// (a deterministic seed) as the text String prints, with labels and
// comments between them, reads them back with one asm() call and checks
// that the program holds the same bytes. (Calls are kept only when their
// number is a helper's: asm() refuses the others.)
func TestAsmRandomStream(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	var insns []isa.Instruction
	var text strings.Builder
	for i, ins := range isatest.RandomValid(r, 6000) {
		if ins.Op == isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK) {
			if _, ok := helper.ByID(int32(ins.Imm)); !ok {
				continue
			}
		}
		if len(insns) == 5000 {
			break
		}
		insns = append(insns, ins)
		switch r.IntN(20) {
		case 0:
			fmt.Fprintf(&text, "L%d:\n", i)
		case 1:
			text.WriteString("  # a comment\n\n")
		}
		fmt.Fprintf(&text, "\t%s\n", ins.String())
	}
	src := fmt.Sprintf("section(\"socket\", \"p\", asm(\"\"\"\n%s\"\"\"))\n", text.String())
	u, err := starlib.Exec("stream.star", []byte(src), starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := u.Programs[0].Insns
	if len(got) != len(insns) {
		t.Fatalf("%d instructions, want %d", len(got), len(insns))
	}
	for i, in := range got {
		if in.Instruction != insns[i] {
			t.Errorf("instruction %d: %q reads back as %+v, want %+v", i, insns[i].String(), in.Instruction, insns[i])
		}
		if want := int32(strings.Count(src[:strings.Index(src, "\t"+insns[i].String()+"\n")], "\n")) + 1; i < 50 && in.Pos().Line != want {
			t.Errorf("instruction %d: at line %d, want %d", i, in.Pos().Line, want)
		}
	}
	if !bytes.Equal(isa.Encode(insns), encode(got)) {
		t.Error("the bytes differ")
	}
}

func encode(insns []asm.Instruction) []byte {
	var b []byte
	for _, in := range insns {
		b = in.Instruction.Append(b)
	}
	return b
}
