package starlib

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/asm"
)

// Local labels
//
// A macro that places a label can be used only once in a program if the
// label has a fixed name: the second use defines it again. local(name)
// returns a label name no other call of local() in the evaluation returns
// ("skip#1", "skip#2", ...: '#' is not allowed in the names label() takes
// otherwise), so a macro makes its own labels fresh on every call:
//
//	def bounds_check(n, out):
//	    ok = local("ok")
//	    return [insn.jmp_imm("jle", r2, n, ok), insn.ja(out), label(ok)]
//
// and still jumps to the labels its caller passes it (out).
//
// When a program defines a label twice or jumps to one it never places,
// the message names each place by its FILE:LINE:COL and the calls that led
// there. Recording the call stack of every label and jump would slow every
// build for the sake of the few that fail, so it is recorded only when a
// build has failed so: the file is evaluated again (evaluation is
// deterministic) with Options.TraceLabel set to the label concerned, and
// the calls that placed it or jumped to it are noted then.

// localName is the Starlark builtin local(name).
func (u *unit) local(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := unpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	if !isIdent(name) {
		return nil, errorf(b, "label name %q is not an identifier ([A-Za-z_][A-Za-z0-9_.]*)", name)
	}
	u.localCount++
	s := fmt.Sprintf("%s#%d", name, u.localCount)
	if u.locals == nil {
		u.locals = make(map[string]bool)
	}
	u.locals[s] = true
	return starlark.String(s), nil
}

// LabelUse is a place where the traced label was placed (Label) or
// jumped to, and the calls that led there, innermost first.
type LabelUse struct {
	Pos   asm.Pos
	Label bool
	Calls []string
}

// traceLabel notes the call stack of a label placed (label), or of a jump
// made, at pos, when the evaluation traces that label (see above).
func (u *unit) traceLabel(thread *starlark.Thread, name string, pos asm.Pos, label bool) {
	if u.traceName == "" || name != u.traceName {
		return
	}
	stack := thread.CallStack()
	// The innermost frames are the builtin and the call itself, at pos.
	var calls []string
	for i := len(stack) - 3; i >= 0; i-- {
		calls = append(calls, fmt.Sprintf("called from %s in %s", toPos(stack[i].Pos), stack[i].Name))
	}
	u.LabelUses = append(u.LabelUses, LabelUse{pos, label, calls})
}

// Phrase is the package's Phrase, with the calls that led to the places a
// label error concerns when the unit was evaluated with
// Options.TraceLabel: for a label defined twice, every place it was
// placed; for an undefined one, the jumps made where the error is.
func (u *Unit) Phrase(err error) error {
	err = Phrase(err)
	ae, ok := err.(*asm.Error)
	if !ok || u == nil || len(u.LabelUses) == 0 {
		return err
	}
	var uses []LabelUse
	called := false // a use made inside a function: the message alone does not tell how it was reached
	for _, use := range u.LabelUses {
		if e := ae.Kind; e == asm.ErrDuplicateLabel && use.Label || e == asm.ErrUndefinedLabel && !use.Label && use.Pos == ae.Pos {
			uses = append(uses, use)
			called = called || len(use.Calls) > 0
		}
	}
	if !called {
		return err
	}
	e := *ae
	var b strings.Builder
	b.WriteString(e.Msg)
	for _, use := range uses {
		what := "placed"
		if !use.Label {
			what = "jumped to"
		}
		fmt.Fprintf(&b, "\n\t%s at %s", what, use.Pos)
		if len(use.Calls) > 0 {
			b.WriteString(", " + strings.Join(use.Calls, ", "))
		}
	}
	e.Msg = b.String()
	return &e
}
