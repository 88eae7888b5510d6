package starlib

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/helper"
	"github.com/bpfstar/bpfstar/isa"
)

// newInsnModule returns the "insn" module, whose instructions a makes: one
// builtin per kernel BPF_* instruction macro, named after it
// (BPF_MOV64_IMM is insn.mov64_imm).
func newInsnModule(a *insnAlloc) *module {
	builtin := func(name string, f insnFunc) *starlark.Builtin { return builtin(a, name, f) }
	refBuiltin := func(name string, f refFunc) *starlark.Builtin { return refBuiltin(a, name, f) }
	metaBuiltin := func(name string, f metaFunc) *starlark.Builtin { return metaBuiltin(a, name, f) }
	return newModule(&starlarkstruct.Module{
		Name: "insn",
		Members: starlark.StringDict{
			"mov64_imm":    builtin("mov64_imm", movImm(isa.ClassALU64)),
			"mov64_reg":    builtin("mov64_reg", movReg(isa.ClassALU64)),
			"mov32_imm":    builtin("mov32_imm", movImm(isa.ClassALU)),
			"mov32_reg":    builtin("mov32_reg", movReg(isa.ClassALU)),
			"alu64_imm":    builtin("alu64_imm", aluImm(isa.ClassALU64)),
			"alu64_reg":    builtin("alu64_reg", aluReg(isa.ClassALU64)),
			"alu32_imm":    builtin("alu32_imm", aluImm(isa.ClassALU)),
			"alu32_reg":    builtin("alu32_reg", aluReg(isa.ClassALU)),
			"neg64":        builtin("neg64", neg(isa.ClassALU64)),
			"neg32":        builtin("neg32", neg(isa.ClassALU)),
			"movsx64_reg":  builtin("movsx64_reg", movsx(isa.ClassALU64)),
			"movsx32_reg":  builtin("movsx32_reg", movsx(isa.ClassALU)),
			"to_be":        builtin("to_be", endian(isa.ClassALU, isa.SrcX)),
			"to_le":        builtin("to_le", endian(isa.ClassALU, isa.SrcK)),
			"bswap":        builtin("bswap", endian(isa.ClassALU64, isa.SrcK)),
			"ldx_mem":      builtin("ldx_mem", ldx(isa.ModeMEM)),
			"ldx_memsx":    builtin("ldx_memsx", ldx(isa.ModeMEMSX)),
			"stx_mem":      builtin("stx_mem", stxMem),
			"st_mem":       builtin("st_mem", stMem),
			"atomic_op":    builtin("atomic_op", atomicOp),
			"jmp_imm":      builtin("jmp_imm", jmpImm(isa.ClassJMP)),
			"jmp_reg":      builtin("jmp_reg", jmpReg(isa.ClassJMP)),
			"jmp32_imm":    builtin("jmp32_imm", jmpImm(isa.ClassJMP32)),
			"jmp32_reg":    builtin("jmp32_reg", jmpReg(isa.ClassJMP32)),
			"ja":           builtin("ja", ja(isa.ClassJMP)),
			"gotol":        builtin("gotol", ja(isa.ClassJMP32)),
			"ld_imm64":     builtin("ld_imm64", ldImm64),
			"ld_abs":       builtin("ld_abs", ldAbs),
			"ld_ind":       builtin("ld_ind", ldInd),
			"call":         builtin("call", call),
			"exit":         builtin("exit", exit),
			"raw":          builtin("raw", raw),
			"ld_map_fd":    refBuiltin("ld_map_fd", ldMapFD),
			"ld_map_value": refBuiltin("ld_map_value", ldMapValue),
			"call_func":    refBuiltin("call_func", callFunc),
			"ld_func":      refBuiltin("ld_func", ldFunc),
			"call_kfunc":   metaBuiltin("call_kfunc", callKfunc),
			"ld_kfunc":     metaBuiltin("ld_kfunc", ldKfunc),
			"ld_ksym":      metaBuiltin("ld_ksym", ldKsym),
		},
	})
}

// refFunc makes an instruction that refers to a map, a global or a
// function.
type refFunc func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, error)

// refBuiltin wraps the constructor of an instruction that refers to a map,
// a global or a function as insn.NAME.
func refBuiltin(a *insnAlloc, name string, f refFunc) *starlark.Builtin {
	return starlark.NewBuiltin("insn."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		ins, ref, err := f(b, args, kwargs)
		if err != nil {
			return nil, err
		}
		if err := ins.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		return a.newInsn(ins, "", &ref, thread.CallFrame(1).Pos), nil
	})
}

type insnFunc func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error)

// builtin wraps an instruction constructor as insn.NAME. The instruction is
// checked against the ISA on the spot, and remembers the position of the
// call, so that later errors (an undefined label, say) can name it.
func builtin(a *insnAlloc, name string, f insnFunc) *starlark.Builtin {
	return starlark.NewBuiltin("insn."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		ins, target, err := f(b, args, kwargs)
		if err != nil {
			return nil, err
		}
		if err := ins.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		pos := thread.CallFrame(1).Pos
		if target != "" && a.trace != nil {
			a.trace(thread, target, toPos(pos))
		}
		return a.newInsn(ins, target, nil, pos), nil
	})
}

// callerPos is the position of the Starlark call of the running builtin.
func callerPos(thread *starlark.Thread) asm.Pos { return toPos(thread.CallFrame(1).Pos) }

func errorf(b *starlark.Builtin, format string, args ...any) error {
	return fmt.Errorf("%s: %s", b.Name(), fmt.Sprintf(format, args...))
}

func none(ins isa.Instruction) (isa.Instruction, string, error) { return ins, "", nil }

func fail(b *starlark.Builtin, err error) (isa.Instruction, string, error) {
	return isa.Instruction{}, "", fmt.Errorf("%s: %v", b.Name(), err)
}

func movImm(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		var dst regArg
		var imm intArg
		if err := unpackArgs(b.Name(), args, kwargs, "dst", &dst, "imm", &imm); err != nil {
			return isa.Instruction{}, "", err
		}
		v, err := imm32(imm, c == isa.ClassALU)
		if err != nil {
			return fail(b, err)
		}
		return none(isa.Instruction{Op: isa.Op(c, uint8(isa.ALUMov), isa.SrcK), Dst: dst.r, Imm: v})
	}
}

func movReg(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		var dst, src regArg
		if err := unpackArgs(b.Name(), args, kwargs, "dst", &dst, "src", &src); err != nil {
			return isa.Instruction{}, "", err
		}
		return none(isa.Instruction{Op: isa.Op(c, uint8(isa.ALUMov), isa.SrcX), Dst: dst.r, Src: src.r})
	}
}

func aluImm(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		op := &choice[aluOp]{what: "operation", names: aluOps}
		var dst regArg
		var imm intArg
		if err := unpackArgs(b.Name(), args, kwargs, "op", op, "dst", &dst, "imm", &imm); err != nil {
			return isa.Instruction{}, "", err
		}
		v, err := imm32(imm, c == isa.ClassALU)
		if err != nil {
			return fail(b, err)
		}
		if op.v.op == isa.ALUNeg && v != 0 {
			return fail(b, fmt.Errorf("neg takes no operand: pass 0 as imm (or use insn.neg64/neg32)"))
		}
		return none(isa.Instruction{Op: isa.Op(c, uint8(op.v.op), isa.SrcK), Dst: dst.r, Off: op.v.off, Imm: v})
	}
}

func aluReg(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		op := &choice[aluOp]{what: "operation", names: aluOps}
		var dst, src regArg
		if err := unpackArgs(b.Name(), args, kwargs, "op", op, "dst", &dst, "src", &src); err != nil {
			return isa.Instruction{}, "", err
		}
		if op.v.op == isa.ALUNeg {
			return fail(b, fmt.Errorf("neg has no register form: use insn.neg64(dst) or insn.neg32(dst)"))
		}
		return none(isa.Instruction{Op: isa.Op(c, uint8(op.v.op), isa.SrcX), Dst: dst.r, Src: src.r, Off: op.v.off})
	}
}

func neg(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		var dst regArg
		if err := unpackArgs(b.Name(), args, kwargs, "dst", &dst); err != nil {
			return isa.Instruction{}, "", err
		}
		return none(isa.Instruction{Op: isa.Op(c, uint8(isa.ALUNeg), isa.SrcK), Dst: dst.r})
	}
}

func movsx(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		var dst, src regArg
		var bits int
		if err := unpackArgs(b.Name(), args, kwargs, "dst", &dst, "src", &src, "bits", &bits); err != nil {
			return isa.Instruction{}, "", err
		}
		if bits != 8 && bits != 16 && !(bits == 32 && c == isa.ClassALU64) {
			if c == isa.ClassALU64 {
				return fail(b, fmt.Errorf("bits must be 8, 16 or 32, not %d", bits))
			}
			return fail(b, fmt.Errorf("bits must be 8 or 16, not %d", bits))
		}
		return none(isa.Instruction{Op: isa.Op(c, uint8(isa.ALUMov), isa.SrcX), Dst: dst.r, Src: src.r, Off: int16(bits)})
	}
}

func endian(c isa.Class, s isa.Source) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		var dst regArg
		var bits int
		if err := unpackArgs(b.Name(), args, kwargs, "dst", &dst, "bits", &bits); err != nil {
			return isa.Instruction{}, "", err
		}
		if bits != 16 && bits != 32 && bits != 64 {
			return fail(b, fmt.Errorf("bits must be 16, 32 or 64, not %d", bits))
		}
		return none(isa.Instruction{Op: isa.Op(c, uint8(isa.ALUEnd), s), Dst: dst.r, Imm: int64(bits)})
	}
}

func ldx(m isa.Mode) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		size := sizeArg()
		var dst, src regArg
		var off intArg
		if err := unpackArgs(b.Name(), args, kwargs, "size", &size, "dst", &dst, "src", &src, "off", &off); err != nil {
			return isa.Instruction{}, "", err
		}
		if m == isa.ModeMEMSX && size.v == isa.SizeDW {
			return fail(b, fmt.Errorf("sign-extending loads take sizes \"b\", \"h\" and \"w\" only"))
		}
		o, err := off16(off)
		if err != nil {
			return fail(b, err)
		}
		return none(isa.Instruction{Op: isa.MemOp(isa.ClassLDX, m, size.v), Dst: dst.r, Src: src.r, Off: o})
	}
}

func stxMem(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	size := sizeArg()
	var dst, src regArg
	var off intArg
	if err := unpackArgs(b.Name(), args, kwargs, "size", &size, "dst", &dst, "src", &src, "off", &off); err != nil {
		return isa.Instruction{}, "", err
	}
	o, err := off16(off)
	if err != nil {
		return fail(b, err)
	}
	return none(isa.Instruction{Op: isa.MemOp(isa.ClassSTX, isa.ModeMEM, size.v), Dst: dst.r, Src: src.r, Off: o})
}

func stMem(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	size := sizeArg()
	var dst regArg
	var off, imm intArg
	if err := unpackArgs(b.Name(), args, kwargs, "size", &size, "dst", &dst, "off", &off, "imm", &imm); err != nil {
		return isa.Instruction{}, "", err
	}
	o, err := off16(off)
	if err != nil {
		return fail(b, err)
	}
	v, err := imm32(imm, size.v != isa.SizeDW)
	if err != nil {
		return fail(b, err)
	}
	return none(isa.Instruction{Op: isa.MemOp(isa.ClassST, isa.ModeMEM, size.v), Dst: dst.r, Off: o, Imm: v})
}

func atomicOp(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	size := sizeArg()
	op := &choice[isa.AtomicOp]{what: "atomic operation", names: atomicOps}
	var dst, src regArg
	var off intArg
	var fetch bool
	if err := unpackArgs(b.Name(), args, kwargs, "size", &size, "op", op, "dst", &dst, "src", &src, "off", &off, "fetch?", &fetch); err != nil {
		return isa.Instruction{}, "", err
	}
	if size.v != isa.SizeW && size.v != isa.SizeDW {
		return fail(b, fmt.Errorf("atomic operations take sizes \"w\" and \"dw\" only, not %q", size.name))
	}
	o, err := off16(off)
	if err != nil {
		return fail(b, err)
	}
	v := op.v
	if fetch {
		v |= isa.AtomicFetch
	}
	return none(isa.Instruction{Op: isa.MemOp(isa.ClassSTX, isa.ModeATOMIC, size.v), Dst: dst.r, Src: src.r, Off: o, Imm: int64(v)})
}

// jump fills in the target of a jump: a label is resolved by the assembler,
// an offset goes straight into the encoding.
func jump(b *starlark.Builtin, ins isa.Instruction, t targetArg) (isa.Instruction, string, error) {
	if t.label != "" {
		return ins, t.label, nil
	}
	if ins.Op == isa.Op(isa.ClassJMP32, uint8(isa.JumpJA), isa.SrcK) {
		ins.Imm = t.off
		return ins, "", nil
	}
	if !isa.FitsInt16(t.off) {
		return fail(b, fmt.Errorf("jump offset %d does not fit in 16 bits: use insn.gotol", t.off))
	}
	ins.Off = int16(t.off)
	return ins, "", nil
}

func jmpImm(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		op := &choice[isa.JumpOp]{what: "jump operation", names: jumpOps}
		var dst regArg
		var imm intArg
		var t targetArg
		if err := unpackArgs(b.Name(), args, kwargs, "op", op, "dst", &dst, "imm", &imm, "target", &t); err != nil {
			return isa.Instruction{}, "", err
		}
		v, err := imm32(imm, c == isa.ClassJMP32)
		if err != nil {
			return fail(b, err)
		}
		return jump(b, isa.Instruction{Op: isa.Op(c, uint8(op.v), isa.SrcK), Dst: dst.r, Imm: v}, t)
	}
}

func jmpReg(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		op := &choice[isa.JumpOp]{what: "jump operation", names: jumpOps}
		var dst, src regArg
		var t targetArg
		if err := unpackArgs(b.Name(), args, kwargs, "op", op, "dst", &dst, "src", &src, "target", &t); err != nil {
			return isa.Instruction{}, "", err
		}
		return jump(b, isa.Instruction{Op: isa.Op(c, uint8(op.v), isa.SrcX), Dst: dst.r, Src: src.r}, t)
	}
}

func ja(c isa.Class) insnFunc {
	return func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
		var t targetArg
		if err := unpackArgs(b.Name(), args, kwargs, "target", &t); err != nil {
			return isa.Instruction{}, "", err
		}
		return jump(b, isa.Instruction{Op: isa.Op(c, uint8(isa.JumpJA), isa.SrcK)}, t)
	}
}

func ldImm64(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	var dst regArg
	var imm intArg
	if err := unpackArgs(b.Name(), args, kwargs, "dst", &dst, "imm", &imm); err != nil {
		return isa.Instruction{}, "", err
	}
	return none(isa.Instruction{Op: isa.OpLoadImm64, Dst: dst.r, Imm: imm.v})
}

func ldAbs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	size := sizeArg()
	var imm intArg
	if err := unpackArgs(b.Name(), args, kwargs, "size", &size, "imm", &imm); err != nil {
		return isa.Instruction{}, "", err
	}
	v, err := imm32(imm, false)
	if err != nil {
		return fail(b, err)
	}
	return none(isa.Instruction{Op: isa.MemOp(isa.ClassLD, isa.ModeABS, size.v), Imm: v})
}

func ldInd(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	size := sizeArg()
	var src regArg
	var imm intArg
	if err := unpackArgs(b.Name(), args, kwargs, "size", &size, "src", &src, "imm", &imm); err != nil {
		return isa.Instruction{}, "", err
	}
	v, err := imm32(imm, false)
	if err != nil {
		return fail(b, err)
	}
	return none(isa.Instruction{Op: isa.MemOp(isa.ClassLD, isa.ModeIND, size.v), Src: src.r, Imm: v})
}

func call(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	var fn starlark.Value
	if err := unpackArgs(b.Name(), args, kwargs, "helper", &fn); err != nil {
		return isa.Instruction{}, "", err
	}
	var h helper.Helper
	var ok bool
	switch fn := fn.(type) {
	case starlark.String:
		if h, ok = helper.Lookup(string(fn)); !ok {
			s := helper.Suggest(string(fn))
			if strings.HasPrefix(string(fn), "bpf_") {
				// Kernel functions' names start with bpf_ too.
				msg := fmt.Sprintf("unknown helper %q: a kernel function (kfunc) is called with insn.call_kfunc(%q, proto)", string(fn), string(fn))
				if s != "" {
					msg += fmt.Sprintf(" (or did you mean the helper %q?)", s)
				}
				return fail(b, errors.New(msg))
			}
			if s != "" {
				return fail(b, fmt.Errorf("unknown helper %q (did you mean %q?)", string(fn), s))
			}
			return fail(b, fmt.Errorf("unknown helper %q", string(fn)))
		}
	case starlark.Int:
		n, _ := fn.Int64()
		if h, ok = helper.ByID(int32(n)); !ok || int64(int32(n)) != n {
			return fail(b, fmt.Errorf("unknown helper number %v", fn))
		}
	default:
		return fail(b, fmt.Errorf("for parameter helper: got %s, want helper name (string) or number (int)", fn.Type()))
	}
	return none(isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Imm: int64(h.ID)})
}

func exit(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	if err := unpackArgs(b.Name(), args, kwargs); err != nil {
		return isa.Instruction{}, "", err
	}
	return none(exitInsn)
}

var exitInsn = isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpExit), isa.SrcK)}

func raw(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, string, error) {
	var code, dst, src, off, imm intArg
	if err := unpackArgs(b.Name(), args, kwargs, "code", &code, "dst", &dst, "src", &src, "off", &off, "imm", &imm); err != nil {
		return isa.Instruction{}, "", err
	}
	for _, f := range []struct {
		name   string
		v      intArg
		lo     int64
		hi     uint64
		fields string
	}{
		{"code", code, 0, math.MaxUint8, "0-255"},
		{"dst", dst, 0, 15, "0-15"},
		{"src", src, 0, 15, "0-15"},
		{"off", off, math.MinInt16, math.MaxUint16, "-32768..65535"},
		{"imm", imm, math.MinInt32, math.MaxUint32, "-2147483648..4294967295"},
	} {
		if !f.v.in(f.lo, f.hi) {
			return fail(b, fmt.Errorf("%s %s out of range (%s)", f.name, f.v.String(), f.fields))
		}
	}
	return none(isa.Instruction{
		Op: isa.Opcode(code.v), Dst: isa.Register(dst.v), Src: isa.Register(src.v),
		Off: int16(uint16(off.v)), Imm: int64(int32(uint32(imm.v))), Raw: true,
	})
}

// module is a starlarkstruct.Module whose errors name it: "insn has no
// .mov64_imn field or method (did you mean .mov64_imm?)". Its members are
// looked up in a nameTable: insn.NAME is evaluated once per instruction.
type module struct {
	*starlarkstruct.Module
	members *nameTable[starlark.Value]
}

func newModule(m *starlarkstruct.Module) *module {
	return &module{m, newNameTable(m.Members)}
}

func (m *module) Attr(name string) (starlark.Value, error) {
	if v, ok := m.members.lookup(name); ok {
		return v, nil
	}
	return nil, starlark.NoSuchAttrError(fmt.Sprintf("%s has no .%s field or method", m.Name, name))
}
