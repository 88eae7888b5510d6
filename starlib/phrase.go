package starlib

import (
	"errors"
	"fmt"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/link"
)

// Phrase returns err, an error of the assembler or the linker about a
// unit that Exec made, in the terms of a program file's author: where the
// lower layers describe instructions and symbols, it names the builtins
// that make them (insn.gotol, insn.raw, section, function). Other errors
// are returned as they are, except that a link error becomes an *asm.Error
// too, as every positioned error of a build is.
func Phrase(err error) error {
	var ae *asm.Error
	if errors.As(err, &ae) {
		e := *ae
		switch ae.Kind {
		case asm.ErrJumpTooFar:
			e.Msg = fmt.Sprintf("jump to label %q is %d instructions away, too far for a 16-bit offset: use insn.gotol", ae.Label, ae.Distance)
		case asm.ErrUnpairedHalf:
			e.Msg = "insn.raw: code 0x18 starts a 64-bit load, which takes two slots: follow it with its second half, insn.raw(0, 0, 0, 0, IMM_HI)"
		default:
			return err
		}
		return &e
	}
	var le *link.Error
	if errors.As(err, &le) {
		// A program file's errors are *asm.Errors: a position and a
		// message.
		e := asm.Error{Pos: le.Pos, Msg: le.Msg}
		switch le.Kind {
		case link.ErrNoPrograms:
			e.Msg = "no programs: call section(name, symbol, insns) at least once"
		case link.ErrUnknownFunction:
			if len(le.Names) == 0 {
				e.Msg = fmt.Sprintf("insn.call_func: call to unknown function %q (declare it with function(name, insns))", le.Name)
			} else {
				e.Msg = fmt.Sprintf("insn.call_func: call to unknown function %q (functions: %v)", le.Name, le.Names)
			}
		case link.ErrUnknownFuncAddr:
			if len(le.Names) == 0 {
				e.Msg = fmt.Sprintf("insn.ld_func: unknown function %q (declare it with function(name, insns))", le.Name)
			} else {
				e.Msg = fmt.Sprintf("insn.ld_func: unknown function %q (functions: %v)", le.Name, le.Names)
			}
		case link.ErrRecursion:
			e.Msg = "insn.call_func: " + le.Msg
		}
		return &e
	}
	return err
}
