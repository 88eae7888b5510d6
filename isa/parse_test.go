package isa_test

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

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

func TestFormsList(t *testing.T) {
	fs := isa.Forms()
	t.Logf("%d forms:\n%s", len(fs), strings.Join(fs, "\n"))
}
