package vm

import (
	"errors"
	"fmt"
)

// The kinds of [Error]; errors.Is(err, ErrMemory) tells them apart.
var (
	// ErrInvalid: an instruction the ISA does not define, a jump out of the
	// program or into the middle of a 64-bit load.
	ErrInvalid = errors.New("invalid instruction")
	// ErrMemory: a load or store outside every region, or a store to
	// read-only memory.
	ErrMemory = errors.New("invalid memory access")
	// ErrAlignment: an atomic operation on a misaligned address.
	ErrAlignment = errors.New("misaligned atomic access")
	// ErrUninit: a read of stack bytes the program never wrote.
	ErrUninit = errors.New("read of uninitialised stack")
	// ErrBudget: the run executed more instructions than its budget.
	ErrBudget = errors.New("instruction budget exhausted")
	// ErrCallDepth: more than 8 nested BPF-to-BPF calls or callbacks.
	ErrCallDepth = errors.New("call stack too deep")
	// ErrUnsupported: a helper or kfunc the interpreter does not have.
	ErrUnsupported = errors.New("unsupported")
	// ErrHelper: a helper was called with arguments it cannot take.
	ErrHelper = errors.New("helper failed")
	// ErrGPL: a program whose license is not GPL-compatible calls a
	// GPL-only helper; the kernel refuses to load it, so the interpreter
	// refuses to run it.
	ErrGPL = errors.New("GPL-only helper in a program without a GPL-compatible license")
	// ErrInput: a packet or context that BPF_PROG_TEST_RUN refuses
	// (EINVAL), such as an IPv4 frame shorter than its header, or a run
	// on a CPU (Env.CPU) that the machine's per-CPU maps have no copy
	// for.
	ErrInput = errors.New("input refused")
)

// Error stops a run: what went wrong (Kind, one of the Err values of this
// package, and Msg) at which instruction (PC, the slot number in the
// program's code), from which source line when the object records one.
type Error struct {
	Kind error
	// PC is the slot in the program's code image (all code sections of
	// its object, one after the other); Section and Insn say where that
	// is in the object: the code section and the instruction's number in
	// it, as bpfstar disasm and llvm-objdump number them.
	PC      int
	Section string
	Insn    int
	// Func is the function (program or subprogram symbol) holding PC,
	// when known.
	Func string
	Line Line
	Msg  string
}

func (e *Error) Error() string {
	where := fmt.Sprintf("insn %d", e.Insn)
	if e.Func != "" {
		where = fmt.Sprintf("insn %d (%s)", e.Insn, e.Func)
	}
	if e.Line.File != "" {
		where = fmt.Sprintf("%s: %s", e.Line, where)
	}
	return fmt.Sprintf("%s: %v: %s", where, e.Kind, e.Msg)
}

// Unwrap returns e.Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Line is a source position, from the object's BTF line information.
type Line struct {
	File string
	Line int
	Col  int
	Text string // the line's text, as the object records it
}

func (l Line) String() string {
	if l.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Col)
	}
	return fmt.Sprintf("%s:%d", l.File, l.Line)
}

// fault is an error raised inside the machine before it knows the
// instruction; run turns it into an *Error.
type fault struct {
	kind error
	msg  string
}

func (f *fault) Error() string { return f.kind.Error() + ": " + f.msg }

func faultf(kind error, format string, args ...any) *fault {
	return &fault{kind: kind, msg: fmt.Sprintf(format, args...)}
}
