package starlib

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/link"
)

// structOps is struct_ops(name, type, members, link = True): a struct_ops
// map, the kernel struct type (tcp_congestion_ops, ...) filled with
// programs and data. members maps a member name to a program handle (a
// function pointer member; the program must be in a "struct_ops/..."
// section) or to a (type, value) pair (a data member of that type, with
// the value as a typed global takes it). The local struct has the members
// given, in order: the loaders copy them by name into the kernel's struct,
// which they find in the kernel's BTF. link = True puts it in
// .struct_ops.link (cilium/ebpf, libbpf 1.2 and later), False in
// .struct_ops (libbpf 1.1's bpftool struct_ops register).
func (u *unit) structOps(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, typ string
	var members *starlark.Dict
	useLink := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "type", &typ, "members", &members, "link?", &useLink); err != nil {
		return nil, err
	}
	if !isIdent(typ) {
		return nil, errorf(b, "type %q is not an identifier: give the name of the kernel's struct (\"tcp_congestion_ops\")", typ)
	}
	if members.Len() == 0 {
		return nil, errorf(b, "struct_ops %q: no members: give at least one program", name)
	}
	so := &link.StructOps{Name: name, Section: ".struct_ops.link", Pos: callerPos(thread)}
	if !useLink {
		so.Section = ".struct_ops"
	}
	st := &btf.Struct{Name: typ}
	type data struct {
		member string
		t      btf.Type
		value  starlark.Value
	}
	var datas []data
	for _, kv := range members.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return nil, errorf(b, "struct_ops %q: members: key %s is not a string", name, kv[0].Type())
		}
		m := string(k)
		switch v := kv[1].(type) {
		case *ProgHandle:
			if link.IsStructOpsSection(v.section) {
				st.Members = append(st.Members, btf.Field{Name: m, Type: &btf.Ptr{Target: &btf.FuncProto{}}})
				so.Progs = append(so.Progs, link.StructOpsProg{Member: m, Symbol: v.symbol})
				continue
			}
			return nil, errorf(b, "struct_ops %q: member %q: program %q is in section %q: a struct_ops member's program is in section \"struct_ops/NAME\" (or \"struct_ops.s/NAME\", sleepable)", name, m, v.symbol, v.section)
		case starlark.Tuple:
			if len(v) != 2 {
				break
			}
			if h, ok := v[1].(*ProgHandle); ok {
				t, _ := v[0].(*CType)
				if p, ok := btf.Resolve(t.BTF()).(*btf.Ptr); !ok || !isFunc(p.Target) {
					return nil, errorf(b, "struct_ops %q: member %q: a program's member is a function pointer (types.ptr(types.func(...))), not %s", name, m, v[0])
				}
				if !link.IsStructOpsSection(h.section) {
					return nil, errorf(b, "struct_ops %q: member %q: program %q is in section %q: a struct_ops member's program is in section \"struct_ops/NAME\" (or \"struct_ops.s/NAME\", sleepable)", name, m, h.symbol, h.section)
				}
				st.Members = append(st.Members, btf.Field{Name: m, Type: t.BTF()})
				so.Progs = append(so.Progs, link.StructOpsProg{Member: m, Symbol: h.symbol})
				continue
			}
			if t, ok := v[0].(*CType); ok && t.BTF() != nil {
				st.Members = append(st.Members, btf.Field{Name: m, Type: t.BTF()})
				datas = append(datas, data{m, t.BTF(), v[1]})
				continue
			}
		}
		return nil, errorf(b, "struct_ops %q: member %q: got %s, want a program (the value of section()), a (function pointer type, program) pair or a (type, value) pair", name, m, kv[1].Type())
	}
	if err := btf.Check(st); err != nil {
		return nil, errorf(b, "struct_ops %q: %v", name, err)
	}
	if size := st.Size(); size == 0 || size > MaxStructOpsSize {
		return nil, errorf(b, "struct_ops %q: struct %s of %d bytes, want 1-%d", name, typ, size, MaxStructOpsSize)
	}
	so.Type = st
	so.Data = make([]byte, st.Size())
	for _, d := range datas {
		buf, err := encodeValue(d.t, d.value)
		if err != nil {
			return nil, errorf(b, "struct_ops %q: member %q: %v", name, d.member, err)
		}
		loc, err := btf.Offsetof(st, d.member)
		if err != nil {
			return nil, errorf(b, "struct_ops %q: %v", name, err)
		}
		copy(so.Data[loc.BitOffset/8:], buf)
	}
	if err := u.claim(b, name, "struct_ops", so.Pos); err != nil {
		return nil, err
	}
	if err := u.claimKernelName(b, "map", name, so.Pos); err != nil {
		return nil, err
	}
	u.StructOps = append(u.StructOps, so)
	return starlark.None, nil
}

// MaxStructOpsSize bounds the size of a struct_ops() struct, far above
// the kernel's structs of function pointers (a few hundred bytes).
const MaxStructOpsSize = 1 << 16

// checkStructOpsPrograms checks that every program in a struct_ops
// section is a member of a struct_ops map: the loaders load such a
// program against its member of the kernel's struct, and without one
// both fail (cilium/ebpf finds nothing to attach it to, the kernel
// refuses it from libbpf).
func (u *unit) checkStructOpsPrograms() error {
	used := map[string]bool{}
	for _, so := range u.StructOps {
		for _, p := range so.Progs {
			used[p.Symbol] = true
		}
	}
	for i := range u.Programs {
		p := &u.Programs[i]
		if link.IsStructOpsSection(p.Section) && !used[p.Symbol] {
			return &asm.Error{Pos: p.Pos, Msg: fmt.Sprintf("program %q is in section %q, but no struct_ops() has it as a member: the loaders load a struct_ops program only as a member of the kernel's struct (give it to struct_ops(name, type, members = {...}))", p.Symbol, p.Section)}
		}
	}
	return nil
}

// isFunc reports whether t is a function type, through typedefs and
// qualifiers.
func isFunc(t btf.Type) bool {
	_, ok := btf.Resolve(t).(*btf.FuncProto)
	return ok
}
