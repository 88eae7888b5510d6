package isa_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/isa"
)

// TestParseLLVM is the differential test of Parse: every instruction form
// over edge values, the encodings llvm-mc cannot write, and thousands of
// random valid instructions and random slots are assembled into an object
// by llvm-mc-19, printed by llvm-objdump-19 --mcpu=v4 and by String; both
// texts must parse back to the bytes objdump shows, for the forms llvm-mc
// can express, and to an instruction that prints the same text for the
// others (whose fields LLVM ignores come back zero). The listing of
// objdump without --mcpu, which spells narrow loads and stores with 64-bit
// registers, must parse to the same instructions as the v4 one.
func TestParseLLVM(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	insns := append(isatest.Forms(), isatest.Noncanonical()...)
	insns = append(insns, isatest.RandomValid(r, 3000)...)
	insns = append(insns, isatest.RandomSlots(r, 3000)...)
	obj := isatest.Assemble(t, t.TempDir(), "all", isatest.Source(insns))

	v4 := instructionLines(t, isatest.Objdump(t, obj))
	od := testenv.Tool(t, "llvm-objdump-19")
	out, err := exec.Command(od, "-d", obj).Output()
	if err != nil {
		t.Fatalf("llvm-objdump-19 -d %s: %v", obj, err)
	}
	v1 := instructionLines(t, string(out))
	if len(v4) != len(insns) || len(v1) != len(insns) {
		t.Fatalf("objdump printed %d and %d instruction lines, want %d", len(v4), len(v1), len(insns))
	}
	bad, parsed, narrow := 0, 0, 0
	for i, ins := range insns {
		want := ins.Append(nil)
		canonical := ins.AsmString() == ins.String()
		if t1, t4 := lineText(v1[i]), lineText(v4[i]); t1 != t4 && t1 != isa.Unknown {
			// The pre-alu32 spelling of the same instruction, except
			// that LLVM without alu32 reads the fetching 32-bit add as
			// the plain one.
			narrow++
			p1, err1 := isa.Parse(t1)
			p4, err4 := isa.Parse(t4)
			switch {
			case err1 != nil:
				t.Errorf("%+v: Parse(%q): %v", ins, t1, err1)
			case err4 != nil:
				t.Errorf("%+v: Parse(%q): %v", ins, t4, err4)
			case p1.Insn != p4.Insn && !strings.Contains(t4, "atomic_fetch_add((u32"):
				t.Errorf("%+v: Parse(%q) = %+v, but Parse(%q) = %+v", ins, t1, p1.Insn, t4, p4.Insn)
			}
		}
		for _, line := range []string{v4[i], "\t\t" + ins.String()} {
			// "   12:\t61 12 04 00 00 00 00 00\tw2 = *(u32 *)(r1 + 0x4) <sym>"
			fields := strings.SplitN(line, "\t", 3)
			text := fields[2]
			if len(fields) == 3 && fields[1] != "" {
				if got := strings.ReplaceAll(fields[1], " ", ""); got != hexBytes(want) {
					t.Fatalf("line %q: objdump shows bytes %s, want %s", line, got, hexBytes(want))
				}
			}
			if text == isa.Unknown {
				continue
			}
			parsed++
			p, err := isa.Parse(text)
			switch {
			case err != nil:
				t.Errorf("%+v: Parse(%q): %v", ins, text, err)
			case canonical && !bytes.Equal(p.Insn.Append(nil), want):
				t.Errorf("%+v: Parse(%q) encodes to % x, want % x", ins, text, p.Insn.Append(nil), want)
			case !canonical && p.Insn.String() != ins.String():
				t.Errorf("%+v: Parse(%q) prints %q, want %q", ins, text, p.Insn.String(), ins.String())
			default:
				continue
			}
			if bad++; bad == 20 {
				t.Fatal("too many differences")
			}
		}
	}
	if narrow == 0 {
		t.Error("objdump without --mcpu printed no line differently: the pre-alu32 spelling went untested")
	}
	t.Logf("%d instructions, %d texts parsed, %d in the pre-alu32 spelling", len(insns), parsed, narrow)
}

// lineText returns the text column of an objdump line.
func lineText(line string) string { return strings.SplitN(line, "\t", 3)[2] }

func hexBytes(b []byte) string { return fmt.Sprintf("%x", b) }
