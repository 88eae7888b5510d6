package isa

import "fmt"

// Register is one of the eleven BPF registers, R0 to R10.
type Register uint8

// The BPF registers. R0 holds return values, R1-R5 arguments, R6-R9 are
// callee-saved and R10 is the read-only frame pointer.
const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10
)

// RFP is the frame pointer, an alias of R10.
const RFP = R10

// MaxRegister is the highest valid register number.
const MaxRegister = R10

// Valid reports whether r names one of R0..R10.
func (r Register) Valid() bool { return r <= MaxRegister }

// String returns the 64-bit name of the register, "r0".."r10".
func (r Register) String() string { return fmt.Sprintf("r%d", uint8(r)) }

// W returns the 32-bit name of the register, "w0".."w10".
func (r Register) W() string { return fmt.Sprintf("w%d", uint8(r)) }
