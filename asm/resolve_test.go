package asm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bpfstar/bpfstar/isa"
)

// reference assembles a program the plain way, in two passes (the slots of
// the labels first, then every instruction with its offset), for programs
// without errors.
func reference(p *Program) []byte {
	slots := map[string]int{}
	slot := 0
	for _, ins := range p.Insns {
		for _, l := range ins.Labels() {
			slots[l.Name] = slot
		}
		slot += ins.Slots()
	}
	for _, l := range p.Trailing {
		slots[l.Name] = slot
	}
	var code []byte
	slot = 0
	for _, ins := range p.Insns {
		x := ins.Instruction
		if t := ins.Target(); t != "" {
			x.SetJumpOffset(int64(slots[t] - slot - 1))
		}
		code = x.Append(code)
		slot += x.Slots()
	}
	return code
}

// Random programs whose jumps go forward and back, near and far (past the
// window of pending jumps a label looks at), to labels defined once: the
// one-pass assembler gives the bytes of the two-pass reference.
func TestResolveMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 2000; n++ {
		p := randomProgram(r, 1+r.IntN(200), r.IntN(20)+1)
		res, err := Assemble(p)
		if err != nil {
			t.Fatalf("program %d: %v", n, err)
		}
		if want := reference(p); !bytes.Equal(res.Code, want) {
			t.Fatalf("program %d: code differs from the reference", n)
		}
	}
}

// randomProgram makes a valid program of about n instructions with labels
// l0..l(labels-1), jumps to them (some with gotol), 64-bit loads, ending in
// exit.
func randomProgram(r *rand.Rand, n, labels int) *Program {
	var insns []Instruction
	where := make([]int, labels) // the instruction each label marks
	for i := range where {
		where[i] = r.IntN(n + 1)
	}
	for i := 0; i < n; i++ {
		var x isa.Instruction
		target := ""
		switch r.IntN(5) {
		case 0:
			x, target = jeq, fmt.Sprintf("l%d", r.IntN(labels))
		case 1:
			x, target = gotol, fmt.Sprintf("l%d", r.IntN(labels))
		case 2:
			x = ld64
		default:
			x = isa.Instruction{Op: 0xb7, Dst: isa.R2, Imm: int64(i)}
		}
		ins := in(x, int32(i+1))
		if target != "" {
			ins.Metadata = ins.WithTarget(target)
		}
		for k, a := range where {
			if a == i {
				ins.Metadata = ins.WithLabel(Label{fmt.Sprintf("l%d", k), at(int32(i + 1))})
			}
		}
		insns = append(insns, ins)
	}
	last := in(exit, int32(n+1))
	for k, a := range where {
		if a == n {
			last.Metadata = last.WithLabel(Label{fmt.Sprintf("l%d", k), at(int32(n + 1))})
		}
	}
	insns = append(insns, last)
	return &Program{Symbol: "p", Insns: insns}
}

// Many jumps to one label far ahead (more than the window), then many
// blocks: every jump is filled in.
func TestResolveFarPending(t *testing.T) {
	var insns []Instruction
	for i := 0; i < 100; i++ {
		insns = append(insns, to(jeq, "end", 1))
	}
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("b%d", i)
		insns = append(insns, to(jeq, name, 2), marked(name, 3, in(mov0, 4)))
	}
	insns = append(insns, marked("end", 5, in(exit, 6)))
	p := &Program{Symbol: "p", Insns: insns}
	res, err := Assemble(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Code, reference(p)) {
		t.Fatal("code differs from the reference")
	}
}
