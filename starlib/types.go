package starlib

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/link"
)

// CType is the Starlark value of a C type: types.u32,
// types.struct("k", [...]), ... The zero CType is void.
type CType struct{ t btf.Type }

var (
	_ starlark.Value      = (*CType)(nil)
	_ starlark.HasAttrs   = (*CType)(nil)
	_ starlark.Comparable = (*CType)(nil)
)

// BTF returns the type as package btf describes it (nil for void).
func (v *CType) BTF() btf.Type {
	if v == nil {
		return nil
	}
	return v.t
}

func (v *CType) String() string {
	if v.BTF() == nil {
		return "void"
	}
	return v.t.String()
}
func (v *CType) Type() string          { return "ctype" }
func (v *CType) Freeze()               {}
func (v *CType) Truth() starlark.Bool  { return true }
func (v *CType) Hash() (uint32, error) { return starlark.String(v.String()).Hash() }
func (v *CType) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	eq := v.BTF() == y.(*CType).BTF() || v.String() == y.(*CType).String()
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("ctype values can only be compared with == and !=")
}

// Attr exposes t.name, t.size and t.align.
func (v *CType) Attr(name string) (starlark.Value, error) {
	t := v.BTF()
	switch name {
	case "name":
		return starlark.String(typeName(t)), nil
	case "size":
		if t == nil {
			return starlark.MakeInt(0), nil
		}
		return starlark.MakeUint(uint(t.Size())), nil
	case "align":
		if t == nil {
			return starlark.MakeInt(1), nil
		}
		return starlark.MakeUint(uint(t.Align())), nil
	case "kind":
		return starlark.String(typeKind(t)), nil
	}
	return nil, nil
}

// AttrNames lists the attributes of a type.
func (v *CType) AttrNames() []string { return []string{"align", "kind", "name", "size"} }

// typeKind is t.kind: what kind of type t is, by the name of the types
// module's constructor that makes one ("struct", "ptr", ...; "int" for
// the fixed integers below their typedefs, "void").
func typeKind(t btf.Type) string {
	switch t.(type) {
	case nil:
		return "void"
	case *btf.Int:
		return "int"
	case *btf.Ptr:
		return "ptr"
	case *btf.Array:
		return "array"
	case *btf.Struct:
		return "struct"
	case *btf.Union:
		return "union"
	case *btf.Enum:
		return "enum"
	case *btf.Typedef:
		return "typedef"
	case *btf.Fwd:
		return "fwd"
	case *btf.FuncProto:
		return "func"
	case *btf.Const:
		return "const"
	case *btf.Volatile:
		return "volatile"
	case *btf.TypeTag:
		return "type_tag"
	}
	return "other"
}

// typeName is a type's name: the name of a struct, union, enum, typedef,
// integer or forward declaration ("" for an anonymous one), or the C
// spelling of other types ("__u32 *").
func typeName(t btf.Type) string {
	switch t := t.(type) {
	case nil:
		return "void"
	case *btf.Int:
		return t.Name
	case *btf.Struct:
		return t.Name
	case *btf.Union:
		return t.Name
	case *btf.Enum:
		return t.Name
	case *btf.Typedef:
		return t.Name
	case *btf.Fwd:
		return t.Name
	}
	return t.String()
}

// cTypes are the fixed types of the types module.
type cTypes struct {
	u8, u16, u32, u64, s8, s16, s32, s64, char, boolT btf.Type
}

func newCTypes() cTypes {
	td := func(name, c string, size uint32, enc btf.IntEncoding) btf.Type {
		return &btf.Typedef{Name: name, Target: &btf.Int{Name: c, Bytes: size, Encoding: enc}}
	}
	return cTypes{
		u8: td("__u8", "unsigned char", 1, 0), u16: td("__u16", "unsigned short", 2, 0),
		u32: td("__u32", "unsigned int", 4, 0), u64: td("__u64", "unsigned long long", 8, 0),
		s8: td("__s8", "signed char", 1, btf.IntSigned), s16: td("__s16", "short", 2, btf.IntSigned),
		s32: td("__s32", "int", 4, btf.IntSigned), s64: td("__s64", "long long", 8, btf.IntSigned),
		char:  &btf.Int{Name: "char", Bytes: 1, Encoding: btf.IntSigned},
		boolT: &btf.Int{Name: "_Bool", Bytes: 1, Encoding: btf.IntBool},
	}
}

// newTypesModule returns the types module: fixed types, constructors of
// types, offsetof, and the kernel's special map-value types.
func newTypesModule() *module {
	c := newCTypes()
	opaque := func(name string, elem btf.Type, n uint32) *CType {
		return &CType{&btf.Struct{Name: name, Members: []btf.Field{{Name: "__opaque", Type: &btf.Array{Elem: elem, N: n}}}}}
	}
	kptr := func(tag string) *starlark.Builtin {
		return starlark.NewBuiltin(tag, func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var t *CType
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "t", &t); err != nil {
				return nil, err
			}
			return &CType{&btf.Ptr{Target: &btf.TypeTag{Value: tag, Target: t.BTF()}}}, nil
		})
	}
	return newModule(&starlarkstruct.Module{
		Name: "types",
		Members: starlark.StringDict{
			"u8": &CType{c.u8}, "u16": &CType{c.u16}, "u32": &CType{c.u32}, "u64": &CType{c.u64},
			"s8": &CType{c.s8}, "s16": &CType{c.s16}, "s32": &CType{c.s32}, "s64": &CType{c.s64},
			"char": &CType{c.char}, "bool": &CType{c.boolT}, "void": &CType{},
			"ptr":      starlark.NewBuiltin("types.ptr", typesPtr),
			"array":    starlark.NewBuiltin("types.array", typesArray),
			"struct":   starlark.NewBuiltin("types.struct", typesComposite(false)),
			"union":    starlark.NewBuiltin("types.union", typesComposite(true)),
			"enum":     starlark.NewBuiltin("types.enum", typesEnum),
			"typedef":  starlark.NewBuiltin("types.typedef", typesTypedef),
			"fwd":      starlark.NewBuiltin("types.fwd", typesFwd),
			"func":     starlark.NewBuiltin("types.func", typesFunc),
			"const":    starlark.NewBuiltin("types.const", typesQual("const")),
			"volatile": starlark.NewBuiltin("types.volatile", typesQual("volatile")),
			"type_tag": starlark.NewBuiltin("types.type_tag", typesTag),
			"offsetof": starlark.NewBuiltin("types.offsetof", typesOffsetof),
			"member":   starlark.NewBuiltin("types.member", typesMember),
			"context":  starlark.NewBuiltin("types.context", typesContext),
			// The kernel's special fields of map values (linux/bpf.h).
			"bpf_spin_lock":  &CType{&btf.Struct{Name: "bpf_spin_lock", Members: []btf.Field{{Name: "val", Type: c.u32}}}},
			"bpf_timer":      opaque("bpf_timer", c.u64, 2),
			"bpf_wq":         opaque("bpf_wq", c.u64, 2),
			"bpf_list_head":  opaque("bpf_list_head", c.u64, 2),
			"bpf_list_node":  opaque("bpf_list_node", c.u64, 3),
			"bpf_rb_root":    opaque("bpf_rb_root", c.u64, 2),
			"bpf_rb_node":    opaque("bpf_rb_node", c.u64, 4),
			"bpf_refcount":   opaque("bpf_refcount", c.u32, 1),
			"kptr":           kptr("kptr"),
			"kptr_untrusted": kptr("kptr_untrusted"),
			"percpu_kptr":    kptr("percpu_kptr"),
		},
	})
}

// checked returns t, or the error btf.Check finds in it.
func checked(b *starlark.Builtin, t btf.Type) (starlark.Value, error) {
	if err := btf.Check(t); err != nil {
		return nil, errorf(b, "%v", err)
	}
	return &CType{t}, nil
}

func typesPtr(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *CType
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "t", &t); err != nil {
		return nil, err
	}
	return &CType{&btf.Ptr{Target: t.BTF()}}, nil
}

func typesArray(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *CType
	var n intArg
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "t", &t, "n", &n); err != nil {
		return nil, err
	}
	if !n.in(0, math.MaxUint32) {
		return nil, errorf(b, "array size %s out of range (0-4294967295)", n.String())
	}
	return checked(b, &btf.Array{Elem: t.BTF(), N: uint32(n.u)})
}

func typesComposite(union bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var fields starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "fields", &fields); err != nil {
			return nil, err
		}
		seq, ok := fields.(starlark.Indexable)
		if !ok || fields.Type() == "string" || fields.Type() == "bytes" {
			return nil, errorf(b, "for parameter fields: got %s, want list of (name, type) or (name, type, bits)", fields.Type())
		}
		var fs []btf.Field
		for i := 0; i < seq.Len(); i++ {
			f, err := field(seq.Index(i))
			if err != nil {
				return nil, errorf(b, "fields[%d]: %v", i, err)
			}
			fs = append(fs, f)
		}
		if union {
			return checked(b, &btf.Union{Name: name, Members: fs})
		}
		return checked(b, &btf.Struct{Name: name, Members: fs})
	}
}

// field reads a member: (name, type) or (name, type, bits); an empty or
// None name makes an anonymous struct or union member.
func field(v starlark.Value) (btf.Field, error) {
	tup, ok := v.(starlark.Tuple)
	if l, isList := v.(*starlark.List); isList {
		tup = starlark.Tuple(listElems(l))
		ok = true
	}
	if !ok || len(tup) < 2 || len(tup) > 3 {
		return btf.Field{}, fmt.Errorf("got %s, want (name, type) or (name, type, bits)", v.String())
	}
	var f btf.Field
	switch n := tup[0].(type) {
	case starlark.String:
		f.Name = string(n)
	case starlark.NoneType:
	default:
		return f, fmt.Errorf("member name: got %s, want string", n.Type())
	}
	t, ok := tup[1].(*CType)
	if !ok {
		return f, fmt.Errorf("member %q: got %s, want ctype", f.Name, tup[1].Type())
	}
	f.Type = t.BTF()
	if len(tup) == 3 {
		var bits intArg
		if err := bits.Unpack(tup[2]); err != nil {
			return f, fmt.Errorf("member %q: bits: %v", f.Name, err)
		}
		if !bits.in(1, 255) {
			return f, fmt.Errorf("member %q: bitfield of %s bits, want 1-255", f.Name, bits.String())
		}
		f.Bits = uint32(bits.u)
	}
	return f, nil
}

func listElems(l *starlark.List) []starlark.Value {
	vs := make([]starlark.Value, l.Len())
	for i := range vs {
		vs[i] = l.Index(i)
	}
	return vs
}

func typesEnum(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var members starlark.Value
	size := intArg{v: 4, u: 4}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "members", &members, "size?", &size); err != nil {
		return nil, err
	}
	if !size.in(1, 8) {
		return nil, errorf(b, "size %s, want 1, 2, 4 or 8", size.String())
	}
	e := &btf.Enum{Name: name, Bytes: uint32(size.u)}
	var pairs [][2]starlark.Value
	switch m := members.(type) {
	case *starlark.Dict:
		for _, item := range m.Items() {
			pairs = append(pairs, [2]starlark.Value{item[0], item[1]})
		}
	case starlark.Indexable:
		if _, ok := m.(starlark.String); ok {
			return nil, errorf(b, "for parameter members: got string, want list or dict")
		}
		next := starlark.MakeInt(0)
		for i := 0; i < m.Len(); i++ {
			switch x := m.Index(i).(type) {
			case starlark.String:
				pairs = append(pairs, [2]starlark.Value{x, next})
			case starlark.Tuple:
				if len(x) != 2 {
					return nil, errorf(b, "members[%d]: want name or (name, value)", i)
				}
				pairs = append(pairs, [2]starlark.Value{x[0], x[1]})
			default:
				return nil, errorf(b, "members[%d]: got %s, want name or (name, value)", i, x.Type())
			}
			if v, ok := pairs[len(pairs)-1][1].(starlark.Int); ok {
				next = v.Add(starlark.MakeInt(1))
			}
		}
	default:
		return nil, errorf(b, "for parameter members: got %s, want list or dict", members.Type())
	}
	bits := 8 * uint(e.Bytes)
	for _, p := range pairs {
		n, ok := p[0].(starlark.String)
		if !ok {
			return nil, errorf(b, "enumerator name: got %s, want string", p[0].Type())
		}
		var v intArg
		if err := v.Unpack(p[1]); err != nil {
			return nil, errorf(b, "enumerator %s: %v", n, err)
		}
		if !v.in(-1<<(bits-1), math.MaxUint64>>(64-bits)) {
			return nil, errorf(b, "enumerator %s = %s does not fit in a %d-byte enum", n, v.String(), e.Bytes)
		}
		if v.neg {
			e.Signed = true
		}
		e.Values = append(e.Values, btf.Enum64Value{Name: string(n), Value: v.u})
	}
	return checked(b, e)
}

func typesTypedef(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var t *CType
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "t", &t); err != nil {
		return nil, err
	}
	return checked(b, &btf.Typedef{Name: name, Target: t.BTF()})
}

func typesFwd(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var union bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "union?", &union); err != nil {
		return nil, err
	}
	return checked(b, &btf.Fwd{Name: name, Union: union})
}

// typesFunc is types.func(ret, params = []): a function type, returning
// ret (types.void for none) and taking params; only a pointer may point at
// it (types.ptr(types.func(...)), a function pointer member of a
// struct_ops struct).
func typesFunc(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var ret *CType
	var params *starlark.List
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "ret", &ret, "params?", &params); err != nil {
		return nil, err
	}
	fp := &btf.FuncProto{Return: ret.BTF()}
	if params != nil {
		for i := range params.Len() {
			t, ok := params.Index(i).(*CType)
			if !ok {
				return nil, errorf(b, "params[%d]: got %s, want a type", i, params.Index(i).Type())
			}
			fp.Params = append(fp.Params, t.BTF())
		}
	}
	return checked(b, fp)
}

func typesQual(q string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var t *CType
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "t", &t); err != nil {
			return nil, err
		}
		if q == "const" {
			return &CType{&btf.Const{Target: t.BTF()}}, nil
		}
		return &CType{&btf.Volatile{Target: t.BTF()}}, nil
	}
}

func typesTag(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var tag string
	var t *CType
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tag", &tag, "t", &t); err != nil {
		return nil, err
	}
	return checked(b, &btf.TypeTag{Value: tag, Target: t.BTF()})
}

func typesOffsetof(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *CType
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "t", &t, "path", &path); err != nil {
		return nil, err
	}
	loc, err := btf.Offsetof(t.BTF(), path)
	if err != nil {
		return nil, errorf(b, "%v", err)
	}
	if loc.Bits != 0 {
		return nil, errorf(b, "%q is a bitfield, which has no byte offset", path)
	}
	return starlark.MakeUint64(loc.BitOffset / 8), nil
}

// typesMember is types.member(t, path): the type of the member that path
// names, as offsetof finds it.
func typesMember(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *CType
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "t", &t, "path", &path); err != nil {
		return nil, err
	}
	loc, err := btf.Offsetof(t.BTF(), path)
	if err != nil {
		return nil, errorf(b, "%v", err)
	}
	return &CType{loc.Type}, nil
}

// typesContext is types.context(section): the struct a program in section
// takes as its context (link.ContextType: xdp_md for "xdp", __sk_buff for
// "tc", ...), or None when it takes no UAPI struct.
func typesContext(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var section string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "section", &section); err != nil {
		return nil, err
	}
	t := link.ContextType(section)
	if t == nil {
		return starlark.None, nil
	}
	return &CType{t}, nil
}

// encodeValue returns the bytes of v as a value of type t: an int for an
// integer, enum or pointer, bytes for any type (zero-padded), a list of
// elements for an array, a dict of member -> value for a struct or union
// (members not named are zero).
func encodeValue(t btf.Type, v starlark.Value) ([]byte, error) {
	buf := make([]byte, t.Size())
	if err := putValue(buf, 0, t, 0, v, ""); err != nil {
		return nil, err
	}
	return buf, nil
}

// putValue writes v, of type t, at bit offset off of buf; bits is the
// width of a bitfield (0 for an ordinary member). path names the place
// for errors.
func putValue(buf []byte, off uint64, t btf.Type, bits uint32, v starlark.Value, path string) error {
	at := ""
	if path != "" {
		at = path + ": "
	}
	size := uint64(t.Size())
	if by, ok := v.(starlark.Bytes); ok && bits == 0 {
		if uint64(len(by)) > size {
			return fmt.Errorf("%s%d bytes do not fit in %s (%d bytes)", at, len(by), t, size)
		}
		copy(buf[off/8:], by)
		return nil
	}
	switch r := btf.Resolve(t).(type) {
	case *btf.Int, *btf.Enum, *btf.Ptr:
		var a intArg
		if bv, ok := v.(starlark.Bool); ok {
			a = intArg{}
			if bv {
				a = intArg{v: 1, u: 1}
			}
		} else if err := a.Unpack(v); err != nil {
			return fmt.Errorf("%s%v (for %s)", at, err, typeString(t))
		}
		width := uint(8 * size)
		if bits != 0 {
			width = uint(bits)
		}
		if !a.in(-1<<(width-1), math.MaxUint64>>(64-width)) {
			return fmt.Errorf("%svalue %s does not fit in %s (%d bits)", at, a.String(), typeString(t), width)
		}
		if bits == 0 {
			var word [8]byte
			binary.LittleEndian.PutUint64(word[:], a.u)
			copy(buf[off/8:off/8+size], word[:])
			return nil
		}
		for i := uint64(0); i < uint64(bits); i++ {
			if a.u>>i&1 != 0 {
				p := off + i
				buf[p/8] |= 1 << (p % 8)
			}
		}
		return nil
	case *btf.Array:
		seq, ok := v.(starlark.Indexable)
		if !ok || v.Type() == "string" {
			return fmt.Errorf("%sgot %s, want list or bytes (for %s)", at, v.Type(), typeString(t))
		}
		if uint64(seq.Len()) > uint64(r.N) {
			return fmt.Errorf("%s%d elements do not fit in %s", at, seq.Len(), typeString(t))
		}
		esize := uint64(r.Elem.Size())
		for i := 0; i < seq.Len(); i++ {
			if err := putValue(buf, off+8*esize*uint64(i), r.Elem, 0, seq.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case *btf.Struct, *btf.Union:
		d, ok := v.(*starlark.Dict)
		if !ok {
			return fmt.Errorf("%sgot %s, want dict of member -> value or bytes (for %s)", at, v.Type(), typeString(t))
		}
		for _, item := range d.Items() {
			name, ok := item[0].(starlark.String)
			if !ok {
				return fmt.Errorf("%smember name: got %s, want string", at, item[0].Type())
			}
			loc, err := btf.Offsetof(t, string(name))
			if err != nil || strings.ContainsAny(string(name), ".[") {
				return fmt.Errorf("%s%s has no member %q (members: %s)", at, typeString(t), string(name), strings.Join(memberNames(t), " "))
			}
			p := string(name)
			if path != "" {
				p = path + "." + p
			}
			if err := putValue(buf, off+loc.BitOffset, loc.Type, loc.Bits, item[1], p); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("%sa value of %s cannot be given (give bytes)", at, typeString(t))
}

// typeString names t in messages: "struct k", "__u32", "__u8[4]".
func typeString(t btf.Type) string {
	switch r := t.(type) {
	case *btf.Struct:
		if r.Name != "" {
			return "struct " + r.Name
		}
		return "anonymous struct"
	case *btf.Union:
		if r.Name != "" {
			return "union " + r.Name
		}
		return "anonymous union"
	case *btf.Enum:
		if r.Name != "" {
			return "enum " + r.Name
		}
		return "anonymous enum"
	case nil:
		return "void"
	}
	return t.String()
}

// memberNames lists the names a struct's or union's members are reached
// by (through anonymous members), sorted.
func memberNames(t btf.Type) []string {
	var names []string
	var walk func(t btf.Type, depth int)
	walk = func(t btf.Type, depth int) {
		fields, _, _ := btf.Members(t)
		for _, f := range fields {
			if f.Name == "" && depth < 64 {
				walk(f.Type, depth+1)
			} else {
				names = append(names, f.Name)
			}
		}
	}
	walk(t, 0)
	sort.Strings(names)
	return names
}

// specialFields are the kernel's special map-value structs (linux/bpf.h)
// and type tags of kptrs.
var specialFields = map[string]bool{
	"bpf_spin_lock": true, "bpf_timer": true, "bpf_wq": true, "bpf_list_head": true,
	"bpf_list_node": true, "bpf_rb_root": true, "bpf_rb_node": true, "bpf_refcount": true,
	"kptr": true, "kptr_untrusted": true, "percpu_kptr": true,
}

// specialField returns the name of a special field t holds ("" if none):
// the kernel refuses to memory-map a map whose value holds one, and the
// loaders memory-map global data.
func specialField(t btf.Type, depth int) string {
	if depth > 64 {
		return ""
	}
	switch r := t.(type) {
	case *btf.Struct:
		if specialFields[r.Name] {
			return "struct " + r.Name
		}
		for _, f := range r.Members {
			if s := specialField(f.Type, depth+1); s != "" {
				return s
			}
		}
	case *btf.Union:
		for _, f := range r.Members {
			if s := specialField(f.Type, depth+1); s != "" {
				return s
			}
		}
	case *btf.Array:
		return specialField(r.Elem, depth+1)
	case *btf.Ptr:
		if tag, ok := r.Target.(*btf.TypeTag); ok && specialFields[tag.Value] {
			return tag.Value
		}
	case *btf.Typedef:
		return specialField(r.Target, depth+1)
	case *btf.Const:
		return specialField(r.Target, depth+1)
	case *btf.Volatile:
		return specialField(r.Target, depth+1)
	}
	return ""
}
