package link

import (
	"fmt"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/objwriter"
)

// Extern declares the kernel function (a kfunc) or kernel variable (a
// ksym) an instruction refers to by name (asm.RefKfunc, RefKfuncAddr,
// RefKsym), as clang declares `extern ... __ksym`: an undefined ELF
// symbol the instruction's relocation names (weak for a weak one), and in
// BTF an extern FUNC of prototype Func, or an extern VAR of type Type
// (void for an untyped ksym, Type nil; a struct or union with its name and
// size only), in the .ksyms DATASEC.
// The loaders find the name in the kernel's BTF (kallsyms for cilium/ebpf's
// ksyms), check a kfunc's prototype against the kernel's, and patch the
// instruction; a weak extern the kernel lacks becomes 0 (a call of it is
// refused by the verifier unless the program never reaches it).
//
// A struct a prototype's pointer parameter points at is declared empty,
// as cilium/ebpf accepts it (it refuses a forward declaration there).
type Extern struct {
	Func *btf.FuncProto // a kfunc's prototype; nil for a ksym
	Type btf.Type       // a typed ksym's type
	Weak bool
}

type externKey struct{}

// WithExtern returns m declaring the extern its instruction refers to.
func WithExtern(m asm.Metadata, e *Extern) asm.Metadata { return m.With(externKey{}, e) }

// ExternOf returns the extern an instruction declares, or nil.
func ExternOf(m asm.Metadata) *Extern {
	e, _ := m.Get(externKey{}).(*Extern)
	return e
}

// externDecl is an extern of the unit, where it was first declared.
type externDecl struct {
	name string
	e    *Extern
	pos  asm.Pos
}

// externs collects the externs the instructions declare, in the order of
// first use, checks that every use of a name declares it alike, and adds
// them to the object as undefined symbols.
func (l *linker) externs() error {
	byName := map[string]int{}
	for _, pc := range l.placed {
		for j := range pc.prog.Insns {
			ins := &pc.prog.Insns[j]
			e := ExternOf(ins.Metadata)
			if e == nil {
				continue
			}
			name := ins.Ref().Name
			if i, ok := byName[name]; ok {
				if err := sameExtern(name, l.externList[i], e); err != nil {
					return &Error{Pos: ins.Pos(), Kind: ErrExtern, Msg: err.Error()}
				}
				continue
			}
			if _, ok := l.globals[name]; ok || l.isSymbol(name) {
				return &Error{Pos: ins.Pos(), Kind: ErrExtern, Msg: fmt.Sprintf("kernel symbol %q has the name of a symbol of this object", name)}
			}
			byName[name] = len(l.externList)
			l.externList = append(l.externList, externDecl{name, e, ins.Pos()})
			if err := l.obj.AddExtern(objwriter.Extern{Name: name, Weak: e.Weak}); err != nil {
				return &Error{Pos: ins.Pos(), Kind: ErrExtern, Msg: err.Error()}
			}
		}
	}
	return nil
}

// isSymbol reports whether name is a program, function or map symbol.
func (l *linker) isSymbol(name string) bool {
	if _, ok := l.funcOff[name]; ok {
		return true
	}
	for i := range l.u.Programs {
		if l.u.Programs[i].Symbol == name {
			return true
		}
	}
	for _, m := range l.u.Maps {
		if m.Name == name {
			return true
		}
	}
	return false
}

// sameExtern checks that two declarations of an extern agree.
func sameExtern(name string, first externDecl, e *Extern) error {
	f := first.e
	switch {
	case (f.Func == nil) != (e.Func == nil):
		return fmt.Errorf("%q is a kernel function and a kernel variable (first declared at %s)", name, first.pos)
	case f.Weak != e.Weak:
		return fmt.Errorf("%q is declared weak and not weak (first declared at %s)", name, first.pos)
	case f.Func != nil && f.Func.String() != e.Func.String():
		return fmt.Errorf("kfunc %q declared with two prototypes: %s and %s (first declared at %s)", name, f.Func, e.Func, first.pos)
	case f.Func == nil && typeString(f.Type) != typeString(e.Type):
		return fmt.Errorf("ksym %q declared with two types: %s and %s (first declared at %s)", name, typeString(f.Type), typeString(e.Type), first.pos)
	}
	return nil
}

// externsBTF adds the externs to the BTF: extern FUNCs and VARs in a
// .ksyms DATASEC of size 0, every entry at offset 0, of size 0 for a
// function and the variable's size for a variable (1 for const void), as
// clang emits them.
func (l *linker) externsBTF(b *btf.Builder, addType func(btf.Type) (btf.TypeID, error)) error {
	if len(l.externList) == 0 {
		return nil
	}
	var vars []btf.VarSecinfo
	for _, d := range l.externList {
		if d.e.Func != nil {
			proto, err := addType(emptyStructParams(d.e.Func))
			if err != nil {
				return &Error{Pos: d.pos, Kind: ErrExtern, Msg: fmt.Sprintf("kfunc %q: prototype: %v", d.name, err)}
			}
			vars = append(vars, btf.VarSecinfo{Type: b.Func(d.name, proto, btf.FuncExtern)})
			continue
		}
		// An untyped ksym is void, as extern void sym __ksym makes it
		// (cilium/ebpf takes no other). libbpf compares a typed ksym's
		// struct or union with the kernel's by name and kind only: its
		// name and size are enough.
		var t btf.TypeID
		if d.e.Type != nil {
			var err error
			if t, err = addType(shell(d.e.Type)); err != nil {
				return &Error{Pos: d.pos, Kind: ErrExtern, Msg: fmt.Sprintf("ksym %q: %v", d.name, err)}
			}
		}
		size := uint32(1)
		if d.e.Type != nil {
			size = d.e.Type.Size()
		}
		vars = append(vars, btf.VarSecinfo{Type: b.Var(d.name, t, btf.VarGlobalExtern), Size: size})
	}
	b.Datasec(".ksyms", 0, vars)
	return nil
}

// emptyStructParams returns a prototype whose pointers to declared-only
// structs and unions point at empty definitions of them.
func emptyStructParams(fp *btf.FuncProto) *btf.FuncProto {
	out := &btf.FuncProto{Return: emptyStructs(fp.Return, 0)}
	for _, p := range fp.Params {
		out.Params = append(out.Params, emptyStructs(p, 0))
	}
	return out
}

func emptyStructs(t btf.Type, depth int) btf.Type {
	if depth > 64 {
		return t
	}
	switch r := t.(type) {
	case *btf.Fwd:
		if r.Union {
			return &btf.Union{Name: r.Name, Layout: &btf.Layout{}}
		}
		return &btf.Struct{Name: r.Name, Layout: &btf.Layout{}}
	case *btf.Ptr:
		return &btf.Ptr{Target: emptyStructs(r.Target, depth+1)}
	case *btf.Const:
		return &btf.Const{Target: emptyStructs(r.Target, depth+1)}
	case *btf.Volatile:
		return &btf.Volatile{Target: emptyStructs(r.Target, depth+1)}
	case *btf.Typedef:
		return &btf.Typedef{Name: r.Name, Target: emptyStructs(r.Target, depth+1)}
	case *btf.TypeTag:
		return &btf.TypeTag{Value: r.Value, Target: emptyStructs(r.Target, depth+1)}
	}
	return t
}
