// Package btffile reads a raw BTF file, such as a kernel's
// /sys/kernel/btf/vmlinux or the smaller one `bpftool gen min_core_btf`
// makes, and gives its types as package btf's type graphs: what a program
// names to read kernel structures with CO-RE, to call kfuncs, or to type
// its maps.
//
// A kernel's types form one large graph full of cycles (a task_struct
// points at its parent task_struct), which btf.Type values cannot hold and
// an object should not carry. So a type is converted on its own: structs
// and unions with the members and the offsets and size the file gives them
// (a btf.Layout), arrays, typedefs and qualifiers through to their leaves,
// but a pointer to a struct or union points at a btf.Fwd of its name.
// File.Deref gives the definition behind such a pointer when a program
// follows it. A conversion depends on the types it reaches and on nothing
// else in the file: two files that agree on them give equal graphs.
//
// Parsing uses cilium/ebpf's btf package, which decodes types lazily; a
// File converts each type once.
package btffile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/btf"
)

// File is a parsed BTF file. Its methods are not safe for concurrent use.
type File struct {
	spec *cbtf.Spec
	deep map[cbtf.Type]btf.Type // conversions of types, members and all
	ptr  map[cbtf.Type]btf.Type // conversions of pointer targets
	// defs maps the Fwds this file's conversions made to the types they
	// stand for.
	defs map[*btf.Fwd]cbtf.Type
}

// ErrNotBTF is the error Parse returns for data that is not BTF.
var ErrNotBTF = errors.New("not a BTF file")

// Parse parses raw BTF (no ELF wrapper: what /sys/kernel/btf/vmlinux
// holds).
func Parse(data []byte) (*File, error) {
	if len(data) < 4 || data[0] != 0x9f || data[1] != 0xeb {
		return nil, fmt.Errorf("%w: no BTF magic 0xeb9f at the start", ErrNotBTF)
	}
	spec, err := cbtf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotBTF, err)
	}
	return &File{spec: spec, deep: map[cbtf.Type]btf.Type{}, ptr: map[cbtf.Type]btf.Type{}, defs: map[*btf.Fwd]cbtf.Type{}}, nil
}

// Type returns the type of that name: "task_struct", or with a keyword,
// "struct task_struct", "union bpf_attr", "enum pid_type", which picks
// among types that share a name. A plain name means a typedef or integer
// of that name if there is one, else the struct, union or enum. Of
// several types of one kind and name (the kernel has a few), the first in
// the file is taken.
func (f *File) Type(name string) (btf.Type, error) {
	ct, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	return f.convert(ct, 0)
}

// Func returns the prototype of the function (a kfunc) of that name.
func (f *File) Func(name string) (*btf.FuncProto, error) {
	var fn *cbtf.Func
	if err := f.spec.TypeByName(name, &fn); err != nil {
		if errors.Is(err, cbtf.ErrNotFound) {
			return nil, fmt.Errorf("no function %q in the BTF file", name)
		}
		return nil, err
	}
	proto, ok := fn.Type.(*cbtf.FuncProto)
	if !ok {
		return nil, fmt.Errorf("function %q has no prototype", name)
	}
	t, err := f.convertPtrTarget(proto, 0)
	if err != nil {
		return nil, err
	}
	return t.(*btf.FuncProto), nil
}

// Var reports whether the file has a variable (a ksym) of that name, and
// returns its type.
func (f *File) Var(name string) (btf.Type, error) {
	var v *cbtf.Var
	if err := f.spec.TypeByName(name, &v); err != nil {
		if errors.Is(err, cbtf.ErrNotFound) {
			return nil, fmt.Errorf("no variable %q in the BTF file", name)
		}
		return nil, err
	}
	return f.convert(v.Type, 0)
}

// Deref returns the definition a Fwd made by this file's conversions
// stands for (the target of a pointer member), and whether fwd is one.
func (f *File) Deref(fwd *btf.Fwd) (btf.Type, bool, error) {
	ct, ok := f.defs[fwd]
	if !ok {
		return nil, false, nil
	}
	t, err := f.convert(ct, 0)
	return t, true, err
}

// lookup finds the type a name names (see Type).
func (f *File) lookup(name string) (cbtf.Type, error) {
	kw, bare, hasKW := strings.Cut(name, " ")
	if !hasKW {
		bare = name
	}
	types, err := f.spec.AnyTypesByName(bare)
	if err != nil && !errors.Is(err, cbtf.ErrNotFound) {
		return nil, err
	}
	want := func(t cbtf.Type) bool {
		switch t.(type) {
		case *cbtf.Struct:
			return kw == "struct"
		case *cbtf.Union:
			return kw == "union"
		case *cbtf.Enum:
			return kw == "enum"
		}
		return false
	}
	if !hasKW {
		want = func(t cbtf.Type) bool {
			switch t.(type) {
			case *cbtf.Typedef, *cbtf.Int, *cbtf.Float:
				return true
			}
			return false
		}
	} else if kw != "struct" && kw != "union" && kw != "enum" {
		return nil, fmt.Errorf("type %q: want NAME, struct NAME, union NAME or enum NAME", name)
	}
	for _, t := range types {
		if want(t) {
			return t, nil
		}
	}
	if !hasKW {
		for _, t := range types {
			switch t.(type) {
			case *cbtf.Struct, *cbtf.Union, *cbtf.Enum:
				return t, nil
			}
		}
	}
	return nil, fmt.Errorf("no type %q in the BTF file", name)
}

// maxDepth bounds the conversion's recursion (btf.Type graphs are checked
// to the same depth).
const maxDepth = 256

// convert converts t with its members; pointers to structs and unions
// point at Fwds.
func (f *File) convert(t cbtf.Type, depth int) (btf.Type, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("types nested more than %d deep", maxDepth)
	}
	if t == nil {
		return nil, nil
	}
	if c, ok := f.deep[t]; ok {
		return c, nil
	}
	var out btf.Type
	switch t := t.(type) {
	case *cbtf.Void:
		return nil, nil
	case *cbtf.Int:
		out = convertInt(t)
	case *cbtf.Float:
		// bpfstar's types have no floating point: the bytes of one.
		out = &btf.Array{Elem: &btf.Int{Name: "unsigned char", Bytes: 1}, N: t.Size}
	case *cbtf.Pointer:
		target, err := f.convertPtrTarget(t.Target, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Ptr{Target: target}
	case *cbtf.Array:
		elem, err := f.convert(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Array{Elem: elem, N: t.Nelems}
	case *cbtf.Struct:
		fields, layout, err := f.members(t.Members, t.Size, depth)
		if err != nil {
			return nil, fmt.Errorf("struct %s: %v", t.Name, err)
		}
		out = &btf.Struct{Name: t.Name, Members: fields, Layout: layout}
	case *cbtf.Union:
		fields, layout, err := f.members(t.Members, t.Size, depth)
		if err != nil {
			return nil, fmt.Errorf("union %s: %v", t.Name, err)
		}
		out = &btf.Union{Name: t.Name, Members: fields, Layout: layout}
	case *cbtf.Enum:
		e := &btf.Enum{Name: t.Name, Bytes: t.Size, Signed: t.Signed}
		for _, v := range t.Values {
			e.Values = append(e.Values, btf.Enum64Value{Name: v.Name, Value: v.Value})
		}
		out = e
	case *cbtf.Fwd:
		out = &btf.Fwd{Name: t.Name, Union: t.Kind == cbtf.FwdUnion}
	case *cbtf.Typedef:
		target, err := f.convert(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Typedef{Name: t.Name, Target: target}
	case *cbtf.Const:
		target, err := f.convert(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Const{Target: target}
	case *cbtf.Volatile:
		target, err := f.convert(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Volatile{Target: target}
	case *cbtf.Restrict:
		return f.convert(t.Type, depth+1)
	case *cbtf.TypeTag:
		target, err := f.convert(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.TypeTag{Value: t.Value, Target: target}
	case *cbtf.FuncProto:
		return f.convertPtrTarget(t, depth)
	default:
		return nil, fmt.Errorf("%s: a %T cannot be used as a type", t.TypeName(), t)
	}
	f.deep[t] = out
	return out, nil
}

// convertPtrTarget converts what a pointer points at: a struct or union
// (through typedefs and qualifiers) becomes a Fwd of its name (an
// anonymous one, void); a function prototype's parameters and result are
// converted the same way.
func (f *File) convertPtrTarget(t cbtf.Type, depth int) (btf.Type, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("types nested more than %d deep", maxDepth)
	}
	if c, ok := f.ptr[t]; ok {
		return c, nil
	}
	var out btf.Type
	switch t := t.(type) {
	case *cbtf.Struct, *cbtf.Union:
		name := t.TypeName()
		if name == "" {
			return nil, nil
		}
		fwd := &btf.Fwd{Name: name}
		if _, ok := t.(*cbtf.Union); ok {
			fwd.Union = true
		}
		f.defs[fwd] = t
		out = fwd
	case *cbtf.Typedef:
		target, err := f.convertPtrTarget(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Typedef{Name: t.Name, Target: target}
	case *cbtf.Const:
		target, err := f.convertPtrTarget(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Const{Target: target}
	case *cbtf.Volatile:
		target, err := f.convertPtrTarget(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.Volatile{Target: target}
	case *cbtf.Restrict:
		return f.convertPtrTarget(t.Type, depth+1)
	case *cbtf.TypeTag:
		target, err := f.convertPtrTarget(t.Type, depth+1)
		if err != nil {
			return nil, err
		}
		out = &btf.TypeTag{Value: t.Value, Target: target}
	case *cbtf.FuncProto:
		fp := &btf.FuncProto{}
		ret, err := f.convertPtrTarget(t.Return, depth+1)
		if err != nil {
			return nil, err
		}
		fp.Return = ret
		for _, p := range t.Params {
			pt, err := f.convertPtrTarget(p.Type, depth+1)
			if err != nil {
				return nil, err
			}
			fp.Params = append(fp.Params, pt)
		}
		out = fp
	default:
		c, err := f.convert(t, depth+1)
		if err != nil {
			return nil, err
		}
		out = c
	}
	f.ptr[t] = out
	return out, nil
}

// members converts the members of a struct or union of size bytes.
func (f *File) members(ms []cbtf.Member, size uint32, depth int) ([]btf.Field, *btf.Layout, error) {
	fields := make([]btf.Field, len(ms))
	layout := &btf.Layout{Bytes: size, BitOffsets: make([]uint64, len(ms))}
	for i, m := range ms {
		t, err := f.convert(m.Type, depth+1)
		if err != nil {
			return nil, nil, fmt.Errorf("member %s: %v", m.Name, err)
		}
		fields[i] = btf.Field{Name: m.Name, Type: t, Bits: uint32(m.BitfieldSize)}
		layout.BitOffsets[i] = uint64(m.Offset)
	}
	return fields, layout, nil
}

func convertInt(t *cbtf.Int) *btf.Int {
	out := &btf.Int{Name: t.Name, Bytes: t.Size}
	switch t.Encoding {
	case cbtf.Signed:
		out.Encoding = btf.IntSigned
	case cbtf.Char:
		out.Encoding = btf.IntChar
	case cbtf.Bool:
		out.Encoding = btf.IntBool
	}
	return out
}
