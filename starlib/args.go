package starlib

import (
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/isa"
)

// regArg unpacks a register argument: a register value (r0..r10, fp) or
// its number.
type regArg struct{ r isa.Register }

func (a *regArg) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case Register:
		a.r = isa.Register(v)
		return nil
	case starlark.Int:
		n, ok := v.Int64()
		if !ok || n < 0 || n > int64(isa.MaxRegister) {
			return fmt.Errorf("register %v out of range (r0-r10)", v)
		}
		a.r = isa.Register(n)
		return nil
	}
	return fmt.Errorf("got %s, want register", v.Type())
}

// intArg unpacks any Starlark int that fits in 64 bits (signed or not).
type intArg struct {
	v   int64
	u   uint64
	neg bool
}

func (a *intArg) Unpack(v starlark.Value) error {
	i, ok := v.(starlark.Int)
	if !ok {
		return fmt.Errorf("got %s, want int", v.Type())
	}
	if s, ok := i.Int64(); ok {
		a.v, a.u, a.neg = s, uint64(s), s < 0
		return nil
	}
	if u, ok := i.Uint64(); ok {
		a.v, a.u = int64(u), u
		return nil
	}
	return fmt.Errorf("%v does not fit in 64 bits", i)
}

// in reports whether the value lies in [lo, hi].
func (a *intArg) in(lo int64, hi uint64) bool {
	if a.neg {
		return a.v >= lo
	}
	return (lo <= 0 || a.u >= uint64(lo)) && a.u <= hi
}

func (a *intArg) String() string {
	if a.neg {
		return fmt.Sprint(a.v)
	}
	return fmt.Sprint(a.u)
}

// imm32 checks a 32-bit immediate. Where the operation is 32 bits wide, an
// unsigned value up to 0xffffffff is accepted too (it has the same bits).
func imm32(a intArg, unsigned bool) (int64, error) {
	hi := uint64(math.MaxInt32)
	if unsigned {
		hi = math.MaxUint32
	}
	if !a.in(math.MinInt32, hi) {
		if unsigned {
			return 0, fmt.Errorf("immediate %s does not fit in 32 bits", a.String())
		}
		return 0, fmt.Errorf("immediate %s does not fit in a signed 32-bit field (use insn.ld_imm64 for 64-bit constants)", a.String())
	}
	return int64(int32(uint32(a.v))), nil
}

func off16(a intArg) (int16, error) {
	if !a.in(math.MinInt16, math.MaxInt16) {
		return 0, fmt.Errorf("offset %s does not fit in a signed 16-bit field", a.String())
	}
	return int16(a.v), nil
}

// targetArg unpacks a jump target: a label name or a relative offset in
// instructions, as the encoding has it.
type targetArg struct {
	label string
	off   int64
}

func (a *targetArg) Unpack(v starlark.Value) error {
	switch v := v.(type) {
	case starlark.String:
		if v == "" {
			return fmt.Errorf("empty label name")
		}
		a.label = string(v)
		return nil
	case *Label:
		a.label = v.name()
		return nil
	case starlark.Int:
		n, ok := v.Int64()
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			return fmt.Errorf("jump offset %v out of range", v)
		}
		a.off = n
		return nil
	}
	return fmt.Errorf("got %s, want label name (string) or offset (int)", v.Type())
}

// choice unpacks a string that must be one of a fixed set of names.
type choice[T any] struct {
	what  string
	names *nameTable[T]
	v     T
	name  string
}

func (c *choice[T]) Unpack(v starlark.Value) error {
	s, ok := v.(starlark.String)
	if !ok {
		return fmt.Errorf("got %s, want %s name (string)", v.Type(), c.what)
	}
	val, ok := c.names.lookup(string(s))
	if !ok {
		return fmt.Errorf("unknown %s %q (want one of %s)", c.what, string(s), c.list())
	}
	c.v, c.name = val, string(s)
	return nil
}

func (c *choice[T]) list() string {
	names := make([]string, len(c.names.names))
	for i, n := range c.names.names {
		names[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(names, " ")
}

var sizes = newNameTable(map[string]isa.Size{"b": isa.SizeB, "h": isa.SizeH, "w": isa.SizeW, "dw": isa.SizeDW})

func sizeArg() choice[isa.Size] { return choice[isa.Size]{what: "size", names: sizes} }

// aluOp is an arithmetic operation with the offset that selects its signed
// variant.
type aluOp struct {
	op  isa.ALUOp
	off int16
}

var aluOps = newNameTable(map[string]aluOp{
	"add": {isa.ALUAdd, 0}, "sub": {isa.ALUSub, 0}, "mul": {isa.ALUMul, 0},
	"div": {isa.ALUDiv, 0}, "sdiv": {isa.ALUDiv, 1}, "or": {isa.ALUOr, 0},
	"and": {isa.ALUAnd, 0}, "lsh": {isa.ALULsh, 0}, "rsh": {isa.ALURsh, 0},
	"neg": {isa.ALUNeg, 0}, "mod": {isa.ALUMod, 0}, "smod": {isa.ALUMod, 1},
	"xor": {isa.ALUXor, 0}, "mov": {isa.ALUMov, 0}, "arsh": {isa.ALUArsh, 0},
})

var jumpOps = newNameTable(map[string]isa.JumpOp{
	"jeq": isa.JumpJEQ, "jne": isa.JumpJNE, "jgt": isa.JumpJGT, "jge": isa.JumpJGE,
	"jlt": isa.JumpJLT, "jle": isa.JumpJLE, "jsgt": isa.JumpJSGT, "jsge": isa.JumpJSGE,
	"jslt": isa.JumpJSLT, "jsle": isa.JumpJSLE, "jset": isa.JumpJSET,
})

var atomicOps = newNameTable(map[string]isa.AtomicOp{
	"add": isa.AtomicAdd, "or": isa.AtomicOr, "and": isa.AtomicAnd, "xor": isa.AtomicXor,
	"xchg": isa.AtomicXchg, "cmpxchg": isa.AtomicCmpXchg,
})
