// Package asm is bpfstar's program model and its assembler.
//
// A [Program] is one entry point (or one BPF-to-BPF function): a list of
// [Instruction] values, each an [isa.Instruction] with its [Metadata]. The
// metadata carries everything besides the encoding, keyed by type: the
// source position the instruction was written at, the labels that mark it,
// the label a jump goes to, the map, global or function it refers to; and
// later stages add their own kinds (see metadata.go). A front end (package
// starlib) fills a Program once; the assembler, the linker and the BTF
// writer read it; none of them depends on how the front end keeps its
// values.
//
// [Assemble] lays a program out and encodes it in one pass: it resolves
// jumps to labels into the offsets the encoding carries, checks every
// instruction against the ISA and the rules the kernel imposes on a whole
// program (a jump lands on an instruction inside the program and not in the
// middle of a 64-bit load, the last instruction does not fall through),
// and returns the code with the references the linker turns into
// relocations.
//
// Errors are [*Error] values: the source position of the instruction at
// fault, a kind, and a message in the assembler's own words. A front end
// that wants to speak its users' language (naming its builtins, say)
// rephrases them by kind.
package asm

import (
	"fmt"

	"github.com/bpfstar/bpfstar/isa"
)

// MaxInstructions is the most instructions a program may have, the kernel's
// own limit (BPF_COMPLEXITY_LIMIT_INSNS).
const MaxInstructions = 1_000_000

// Pos is a source position: file name, 1-based line and column.
type Pos struct {
	File      string
	Line, Col int32
}

func (p Pos) String() string {
	if p.File == "" {
		return "<unknown>"
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Instruction is one instruction of a program and its metadata. The zero
// Instruction is a valid value (the "r0 += 0" of opcode 0 is not: it is
// ClassLD, which Validate refuses), and 24 bytes with a single pointer.
type Instruction struct {
	isa.Instruction
	Metadata
}

// Label names a position in a program. It marks the instruction whose
// metadata holds it, or the end of the program (Program.Trailing).
type Label struct {
	Name string
	Pos  Pos // where the label was placed
}

// RefKind says what kind of symbol a reference names.
type RefKind uint8

// Reference kinds.
const (
	RefNone      RefKind = iota
	RefMap               // a 64-bit load of a map's file descriptor
	RefGlobal            // a 64-bit load of the address of a global variable, plus Addend bytes
	RefFunc              // a call of a BPF function
	RefFuncAddr          // a 64-bit load of a BPF function's address (a callback for helpers such as bpf_loop)
	RefKfunc             // a call of a kernel function (a kfunc), resolved by the loaders
	RefKfuncAddr         // a 64-bit load of a kfunc's address: 0 when a weak kfunc is missing (bpf_ksym_exists)
	RefKsym              // a 64-bit load of a kernel variable's address (a ksym)
)

// Ref is a symbolic reference from an instruction to a map, a global
// variable or a function, resolved when the object is linked.
type Ref struct {
	Kind   RefKind
	Name   string
	Addend int64
}

// Program is one BPF program: the instructions of one entry point, or of
// one function called from others.
type Program struct {
	Section string // ELF section, e.g. "cgroup/dev"
	Symbol  string // symbol name
	Insns   []Instruction
	// Trailing holds labels placed after the last instruction: they mark
	// the end of the program, where no jump may land.
	Trailing []Label
	Pos      Pos // where the program was declared
}

// Reloc is a reference at a byte offset of the assembled code.
type Reloc struct {
	Offset uint64
	Ref    Ref
	Pos    Pos
}

// Result is an assembled program.
type Result struct {
	Code   []byte
	Relocs []Reloc
	Insns  int // number of instructions (a 64-bit load counts once)
}

// ErrorKind says what an Error is about, so that a front end can phrase it
// in its own terms.
type ErrorKind uint8

// Error kinds.
const (
	ErrInvalid        ErrorKind = iota + 1 // the ISA does not define the instruction
	ErrEmpty                               // the program has no instruction
	ErrTooLarge                            // more than MaxInstructions
	ErrDuplicateLabel                      // a label placed twice
	ErrUndefinedLabel                      // a jump to a label never placed
	ErrJumpTooFar                          // a jump to a label beyond its offset field's range
	ErrJumpOutside                         // a jump that lands outside the program
	ErrJumpIntoPair                        // a jump that lands on the second half of a 64-bit load
	ErrUnpairedHalf                        // a raw first half of a 64-bit load without its second half
	ErrFallsOff                            // the last instruction falls through
)

// Error is an assembly error at a source position.
type Error struct {
	Pos  Pos
	Kind ErrorKind
	Msg  string
	// Label is the label concerned, for ErrDuplicateLabel,
	// ErrUndefinedLabel and ErrJumpTooFar; Distance the jump's distance
	// in slots for ErrJumpTooFar.
	Label    string
	Distance int64
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

func errorf(pos Pos, kind ErrorKind, format string, args ...any) *Error {
	return &Error{Pos: pos, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
