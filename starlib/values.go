package starlib

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/isa"
)

// Register is the Starlark value of a BPF register (r0..r10, fp).
type Register isa.Register

var (
	_ starlark.Value      = Register(0)
	_ starlark.Comparable = Register(0)
)

func (r Register) String() string        { return isa.Register(r).String() }
func (r Register) Type() string          { return "register" }
func (r Register) Freeze()               {}
func (r Register) Truth() starlark.Bool  { return true }
func (r Register) Hash() (uint32, error) { return uint32(r) + 0x9e3779b9, nil }
func (r Register) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return threeway(op, int(r)-int(y.(Register)))
}

func threeway(op syntax.Token, cmp int) (bool, error) {
	switch op {
	case syntax.EQL:
		return cmp == 0, nil
	case syntax.NEQ:
		return cmp != 0, nil
	case syntax.LT:
		return cmp < 0, nil
	case syntax.LE:
		return cmp <= 0, nil
	case syntax.GT:
		return cmp > 0, nil
	case syntax.GE:
		return cmp >= 0, nil
	}
	return false, fmt.Errorf("unsupported comparison %s", op)
}

// Label is the Starlark value of a label marker inside an instruction
// list: it marks the instruction that follows it (or, at the end of a
// program, the end).
type Label struct {
	l asm.Label
}

// name returns the label's name.
func (l *Label) name() string { return l.l.Name }

var (
	_ starlark.Value      = (*Label)(nil)
	_ starlark.Comparable = (*Label)(nil)
)

func (l *Label) String() string        { return fmt.Sprintf("label(%q)", l.name()) }
func (l *Label) Type() string          { return "label" }
func (l *Label) Freeze()               {}
func (l *Label) Truth() starlark.Bool  { return true }
func (l *Label) Hash() (uint32, error) { return starlark.String(l.name()).Hash() }
func (l *Label) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	eq := l.name() == y.(*Label).name()
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("label values can only be compared with == and !=")
}

func toPos(p syntax.Position) asm.Pos {
	return asm.Pos{File: p.Filename(), Line: p.Line, Col: p.Col}
}
