package isa_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/golden"
	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/isa"
)

// roundTrip checks that the text String prints for ins parses back: to the
// bytes of ins when llvm-mc could assemble them from the text (AsmString is
// String), and always to an instruction that prints the same text.
func roundTrip(t *testing.T, ins isa.Instruction) {
	t.Helper()
	text := ins.String()
	if text == isa.Unknown {
		if _, err := isa.Parse(text); err == nil {
			t.Errorf("Parse(%q) succeeded", text)
		}
		return
	}
	p, err := isa.Parse(text)
	if err != nil {
		t.Errorf("%+v: Parse(%q): %v", ins, text, err)
		return
	}
	if p.Name != "" {
		t.Errorf("Parse(%q): name %q", text, p.Name)
	}
	if got := p.Insn.String(); got != text {
		t.Errorf("Parse(%q) = %+v, which prints %q", text, p.Insn, got)
	}
	if ins.AsmString() == text {
		if got, want := p.Insn.Append(nil), ins.Append(nil); !bytes.Equal(got, want) {
			t.Errorf("Parse(%q) encodes to % x, want % x", text, got, want)
		}
	}
}

func TestParseForms(t *testing.T) {
	for _, ins := range isatest.Forms() {
		roundTrip(t, ins)
	}
	for _, ins := range isatest.Noncanonical() {
		roundTrip(t, ins)
	}
}

func TestParseRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, ins := range isatest.RandomValid(r, 20000) {
		roundTrip(t, ins)
	}
	for _, ins := range isatest.RandomSlots(r, 20000) {
		roundTrip(t, ins)
	}
}

// TestParseNames checks the names Parse accepts in place of numbers, and
// the spellings beyond String's.
func TestParseNames(t *testing.T) {
	tests := []struct {
		text   string
		want   string // String of the instruction
		name   string
		addend int64
		at     int
	}{
		{"if r2 > r3 goto pass", "if r2 > r3 goto +0x0", "pass", 0, 16},
		{"goto out", "goto +0x0", "out", 0, 5},
		{"gotol far", "gotol +0x0", "far", 0, 6},
		{"may_goto .Lloop", "may_goto +0x0", ".Lloop", 0, 9},
		{"call bpf_map_lookup_elem", "call 0x0", "bpf_map_lookup_elem", 0, 5},
		{"r1 = counts ll", "r1 = 0x0 ll", "counts", 0, 5},
		{"r1 = data + 8 ll", "r1 = 0x0 ll", "data", 8, 5},
		{"r1 = data - 8 ll", "r1 = 0x0 ll", "data", -8, 5},
		{"goto +0x3 <LBB0_2>", "goto +0x3", "", 0, 0},
		{"if r1 == 0x0 goto -0x1 <.text+0x8>", "if r1 == 0x0 goto -0x1", "", 0, 0},
		{"r2 = *(u32 *)(r1 + 76)", "w2 = *(u32 *)(r1 + 0x4c)", "", 0, 0},
		{"*(u16 *)(r10 - 2) = r3", "*(u16 *)(r10 - 0x2) = w3", "", 0, 0},
		{"lock *(u32 *)(r1 + 0) += r2", "lock *(u32 *)(r1 + 0x0) += w2", "", 0, 0},
		{"r1=*(u64*)(r10-8)", "r1 = *(u64 *)(r10 - 0x8)", "", 0, 0},
		{"w1 = 4294967295", "w1 = -0x1", "", 0, 0},
		{"r1 = 0xffffffffffffffff ll", "r1 = -0x1 ll", "", 0, 0},
		{"r1 = -0x8000000000000000 ll", "r1 = -0x8000000000000000 ll", "", 0, 0},
		{"if w1 s>= -5 goto +1", "if w1 s>= -0x5 goto +0x1", "", 0, 0},
		{"r1 = -0", "r1 = 0x0", "", 0, 0},
		{"\tr1 s>>= 3  ", "r1 s>>= 0x3", "", 0, 0},
	}
	for _, tt := range tests {
		p, err := isa.Parse(tt.text)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.text, err)
			continue
		}
		if got := p.Insn.String(); got != tt.want || p.Name != tt.name || p.Addend != tt.addend || p.NameOffset != tt.at {
			t.Errorf("Parse(%q) = %q, name %q%+d at %d; want %q, name %q%+d at %d",
				tt.text, got, p.Name, p.Addend, p.NameOffset, tt.want, tt.name, tt.addend, tt.at)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text string
		at   int
		msg  string
	}{
		{"", 0, "expected an instruction"},
		{"r1 = 0x123456789", 16, `unexpected end of line, expected "ll"`},
		{"r1 += 0x123456789", 6, "0x123456789 does not fit in a 32-bit immediate"},
		{"r1 += -0x80000001", 7, "-0x80000001 does not fit in a 32-bit immediate"},
		{"r1 = *(u32 *)(r1 + 70000)", 19, "+70000 does not fit in a signed 16-bit offset"},
		{"r1 = *(u32 *)(r1)", 16, `unexpected ")", expected "+" or "-" and an offset`},
		{"goto +40000", 6, "+40000 does not fit in a signed 16-bit jump offset (gotol takes 32 bits)"},
		{"r1 = r2 + 1", 8, `unexpected "+", expected end of line`},
		{"movv r1, 2", 0, `unknown instruction "movv"`},
		{"iff r1 > 2 goto x", 0, `unknown instruction "iff" (did you mean "if"?)`},
		{"r12 = r1", 0, "no register r12 (r0-r10, w0-w10)"},
		{"exit 1", 5, `unexpected "1", expected end of line`},
		{"r1 = xchg_64(r2 + 0, r3)", 21, "r3 must be the same register as the first operand, r1"},
		{"r1 = -r2", 6, "r2 must be the same register as the first operand, r1"},
		{"goto", 4, "unexpected end of line, expected a label or an offset such as +0x2"},
		{"if r1 == 0x0", 12, `unexpected end of line, expected "goto"`},
		{"if r1 == w2 goto +1", 9, `unexpected "w2", expected one of a number, a register (r0-r10)`},
		{"r1 = 0x10000000000000000 ll", 5, "number 0x10000000000000000 does not fit in 64 bits"},
		{"r1 = 0x1g", 5, `bad number "0x1g"`},
		{"r1 = $", 5, "unexpected character '$'"},
		{"goto +1 <x", 10, `unexpected end of line, expected ">"`},
		{"call -0x80000001", 6, "-0x80000001 does not fit in a 32-bit immediate"},
		{"ld_pseudo r1, 16, 0", 14, "16 does not fit in a source register field (0-15)"},
		{"= r1", 0, `unexpected "=" at the start of an instruction`},
	}
	for _, tt := range tests {
		_, err := isa.Parse(tt.text)
		se, ok := err.(*isa.SyntaxError)
		if !ok {
			t.Errorf("Parse(%q) = %v, want a SyntaxError", tt.text, err)
			continue
		}
		if se.Offset != tt.at || se.Msg != tt.msg {
			t.Errorf("Parse(%q): error at %d: %s\nwant at %d: %s", tt.text, se.Offset, se.Msg, tt.at, tt.msg)
		}
	}
}

// FuzzParse checks that Parse never panics, that what it reads prints as
// text that reads back to the same instruction, and that the instruction
// printed with String parses back to its canonical bytes.
func FuzzParse(f *testing.F) {
	for _, ins := range isatest.Forms()[:200] {
		f.Add(ins.String())
	}
	for _, s := range []string{"if r2 > r3 goto pass", "r1 = data + 8 ll", "call bpf_trace_printk",
		"goto +0x3 <LBB0_2>", "r2 = *(u32 *)(r1 + 76)", "r1 = 0xffffffffffffffff ll", "w0 = cmpxchg32_32(r1 + 0x8, w0, w2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := isa.Parse(text)
		if err != nil {
			se, ok := err.(*isa.SyntaxError)
			if !ok || se.Offset < 0 || se.Offset > len(text) || se.Msg == "" {
				t.Fatalf("Parse(%q): bad error %#v", text, err)
			}
			return
		}
		printed := p.Insn.String()
		if printed == isa.Unknown {
			t.Fatalf("Parse(%q) = %+v, which does not decode", text, p.Insn)
		}
		q, err := isa.Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v; Parse(%q): %v", text, p.Insn, printed, err)
		}
		if q.Insn != p.Insn {
			t.Fatalf("Parse(%q) = %+v, but Parse(its text %q) = %+v", text, p.Insn, printed, q.Insn)
		}
	})
}

// BenchmarkParse parses 100,000 lines: the text of random valid
// instructions of every form.
func BenchmarkParse(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	var lines []string
	for _, ins := range isatest.RandomValid(r, 100_000) {
		lines = append(lines, ins.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, l := range lines {
			if _, err := isa.Parse(l); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(lines)), "ns/line")
}

// TestFormsFile pins the list of forms in testdata/forms.txt, which the
// README points to as the complete syntax (go test -update rewrites it).
func TestFormsFile(t *testing.T) {
	golden.Check(t, "testdata/forms.txt", []byte(strings.Join(isa.Forms(), "\n")+"\n"))
}
