package starlib

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/link"
)

// metaFunc makes an instruction that refers to a kernel symbol and
// declares it (link.Extern).
type metaFunc func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, *link.Extern, error)

// metaBuiltin wraps a metaFunc as insn.NAME.
func metaBuiltin(a *insnAlloc, name string, f metaFunc) *starlark.Builtin {
	return starlark.NewBuiltin("insn."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		ins, ref, e, err := f(b, args, kwargs)
		if err != nil {
			return nil, err
		}
		if err := ins.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %v", b.Name(), err)
		}
		return a.newMetaInsn(ins, &ref, func(m asm.Metadata) asm.Metadata { return link.WithExtern(m, e) }, thread.CallFrame(1).Pos), nil
	})
}

// kfuncProto returns the prototype of kfunc name that proto gives: a
// function type (types.func) or a btf_types file that has the function.
func kfuncProto(b *starlark.Builtin, name string, proto starlark.Value) (*btf.FuncProto, error) {
	switch p := proto.(type) {
	case nil, starlark.NoneType:
		return nil, errorf(b, "kfunc %q: its prototype is unknown: give proto = btf_types(...) (a BTF file that has it) or types.func(ret, params)", name)
	case *BTFTypes:
		fp, err := p.file().Func(name)
		if err != nil {
			return nil, errorf(b, "kfunc %q: %s: %v", name, p.name, err)
		}
		return fp, nil
	case *CType:
		fp, ok := p.BTF().(*btf.FuncProto)
		if !ok {
			return nil, errorf(b, "kfunc %q: proto is %s, not a function type (types.func(ret, params))", name, typeString(p.BTF()))
		}
		return fp, nil
	}
	return nil, errorf(b, "for parameter proto: got %s, want btf_types or a function type", proto.Type())
}

// kfuncName checks a kernel symbol's name.
func kfuncName(b *starlark.Builtin, name string) error {
	if !isIdent(name) || len(name) > 511 {
		return errorf(b, "kernel symbol name %q is not an identifier", name)
	}
	return nil
}

// callKfunc is insn.call_kfunc(name, proto, weak = False): a call of a
// kernel function, as clang emits one of an extern __ksym function.
func callKfunc(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, *link.Extern, error) {
	var name string
	var proto starlark.Value
	var weak bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "proto?", &proto, "weak?", &weak); err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	if err := kfuncName(b, name); err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	fp, err := kfuncProto(b, name, proto)
	if err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	ins := isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Src: isa.CallPseudo, Imm: -1}
	return ins, asm.Ref{Kind: asm.RefKfunc, Name: name}, &link.Extern{Func: fp, Weak: weak}, nil
}

// ldKfunc is insn.ld_kfunc(dst, name, proto, weak = False): dst = the
// kfunc's address, 0 when a weak one is missing (bpf_ksym_exists).
func ldKfunc(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, *link.Extern, error) {
	var dst regArg
	var name string
	var proto starlark.Value
	var weak bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "name", &name, "proto?", &proto, "weak?", &weak); err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	if err := kfuncName(b, name); err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	fp, err := kfuncProto(b, name, proto)
	if err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	return isa.Instruction{Op: isa.OpLoadImm64, Dst: dst.r}, asm.Ref{Kind: asm.RefKfuncAddr, Name: name}, &link.Extern{Func: fp, Weak: weak}, nil
}

// ldKsym is insn.ld_ksym(dst, name, t = None, weak = False): dst = the
// address of the kernel variable name, of type t (a ctype, or a btf_types
// file that has the variable; None: untyped, const void).
func ldKsym(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, *link.Extern, error) {
	var dst regArg
	var name string
	var t starlark.Value
	var weak bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "name", &name, "t?", &t, "weak?", &weak); err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	if err := kfuncName(b, name); err != nil {
		return isa.Instruction{}, asm.Ref{}, nil, err
	}
	e := &link.Extern{Weak: weak}
	switch t := t.(type) {
	case nil, starlark.NoneType:
	case *CType:
		if t.BTF() != nil && t.BTF().Size() == 0 {
			return isa.Instruction{}, asm.Ref{}, nil, errorf(b, "ksym %q: %s has no size", name, typeString(t.BTF()))
		}
		e.Type = t.BTF()
	case *BTFTypes:
		vt, err := t.file().Var(name)
		if err != nil {
			return isa.Instruction{}, asm.Ref{}, nil, errorf(b, "ksym %q: %s: %v", name, t.name, err)
		}
		e.Type = vt
	default:
		return isa.Instruction{}, asm.Ref{}, nil, errorf(b, "for parameter t: got %s, want a type or btf_types", t.Type())
	}
	return isa.Instruction{Op: isa.OpLoadImm64, Dst: dst.r}, asm.Ref{Kind: asm.RefKsym, Name: name}, e, nil
}
