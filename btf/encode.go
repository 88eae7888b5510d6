package btf

import (
	"fmt"
	"strconv"
	"strings"
)

// Encoder adds type graphs to a Builder, each type once: a type met again
// (the same Go value, or an equal one: same kind, name and parts) gets
// the TypeID it got the first time. Types are added in the order a
// depth-first walk finishes them (a struct after its members' types), so
// the bytes depend on the graphs and the order of Add calls alone.
type Encoder struct {
	b      *Builder
	byType map[Type]TypeID
	byKey  map[string]TypeID
}

// NewEncoder returns an Encoder that adds types to b.
func NewEncoder(b *Builder) *Encoder {
	return &Encoder{b: b, byType: map[Type]TypeID{}, byKey: map[string]TypeID{}}
}

// Known tells e that t is already in the Builder as id: Add returns id for
// t and for types equal to it.
func (e *Encoder) Known(t Type, id TypeID) {
	e.init()
	e.byType[t] = id
	if k, ok := e.key(t, nil); ok {
		e.byKey[k] = id
	}
}

func (e *Encoder) init() {
	if e.byType == nil {
		e.byType, e.byKey = map[Type]TypeID{}, map[string]TypeID{}
	}
	if e.b == nil {
		e.b = new(Builder)
	}
}

// arrayIndex is the index type of arrays, as clang names it.
var arrayIndex = &Int{Name: "__ARRAY_SIZE_TYPE__", Bytes: 4}

// Add adds t and the types it refers to, and returns t's TypeID (0 for
// void). It refuses a graph that Check refuses, and cycles.
func (e *Encoder) Add(t Type) (TypeID, error) {
	e.init()
	if err := Check(t); err != nil {
		return 0, err
	}
	return e.add(t), nil
}

func (e *Encoder) add(t Type) TypeID {
	if t == nil {
		return 0
	}
	if id, ok := e.byType[t]; ok {
		return id
	}
	refs := []TypeID{} // not nil: key tells Known's calls by a nil refs
	for _, c := range children(t) {
		refs = append(refs, e.add(c))
	}
	if _, ok := t.(*Array); ok {
		refs = append(refs, e.add(arrayIndex))
	}
	k, _ := e.key(t, refs)
	if id, ok := e.byKey[k]; ok {
		e.byType[t] = id
		return id
	}
	b := e.b
	var id TypeID
	switch t := t.(type) {
	case *Int:
		id = b.IntEnc(t.Name, t.Bytes, t.Encoding)
	case *Ptr:
		id = b.Ptr(refs[0])
	case *Array:
		id = b.Array(refs[0], refs[1], t.N)
	case *Struct:
		id = b.Struct(t.Name, t.Size(), btfMembers(t.Members, t.Offsets(), refs))
	case *Union:
		id = b.Union(t.Name, t.Size(), btfMembers(t.Members, t.Offsets(), refs))
	case *Enum:
		if fits32(t) {
			vals := make([]EnumValue, len(t.Values))
			for i, v := range t.Values {
				vals[i] = EnumValue{Name: v.Name, Value: int64(v.Value)}
				if !t.Signed {
					vals[i].Value = int64(uint32(v.Value))
				} else {
					vals[i].Value = int64(int32(v.Value))
				}
			}
			id = b.Enum(t.Name, t.Bytes, t.Signed, vals)
		} else {
			id = b.Enum64(t.Name, t.Bytes, t.Signed, t.Values)
		}
	case *Typedef:
		id = b.Typedef(t.Name, refs[0])
	case *Const:
		id = b.Const(refs[0])
	case *Volatile:
		id = b.Volatile(refs[0])
	case *TypeTag:
		id = b.TypeTag(t.Value, refs[0])
	case *FuncProto:
		params := make([]Param, len(t.Params))
		for i := range t.Params {
			params[i] = Param{Type: refs[1+i]}
		}
		id = b.FuncProto(refs[0], params)
	case *Fwd:
		kind := FwdStruct
		if t.Union {
			kind = FwdUnion
		}
		id = b.Fwd(t.Name, kind)
	default:
		b.fail(fmt.Errorf("unknown type %T", t))
		return 0
	}
	e.byType[t] = id
	e.byKey[k] = id
	return id
}

// fits32 reports whether an enum's values fit an ENUM (32 bits).
func fits32(t *Enum) bool {
	for _, v := range t.Values {
		if t.Signed && (int64(v.Value) < -1<<31 || int64(v.Value) > 1<<31-1) || !t.Signed && v.Value > 1<<32-1 {
			return false
		}
	}
	return true
}

func btfMembers(fields []Field, offs []uint64, refs []TypeID) []Member {
	ms := make([]Member, len(fields))
	for i, f := range fields {
		ms[i] = Member{Name: f.Name, Type: refs[i], BitOffset: uint32(offs[i]), BitfieldSize: f.Bits}
	}
	return ms
}

// children returns the types t refers to, in order.
func children(t Type) []Type {
	switch t := t.(type) {
	case *Ptr:
		return []Type{t.Target}
	case *Array:
		return []Type{t.Elem}
	case *Struct:
		return fieldTypes(t.Members)
	case *Union:
		return fieldTypes(t.Members)
	case *Typedef:
		return []Type{t.Target}
	case *Const:
		return []Type{t.Target}
	case *Volatile:
		return []Type{t.Target}
	case *TypeTag:
		return []Type{t.Target}
	case *FuncProto:
		return append([]Type{t.Return}, t.Params...)
	}
	return nil
}

func fieldTypes(fs []Field) []Type {
	ts := make([]Type, len(fs))
	for i, f := range fs {
		ts[i] = f.Type
	}
	return ts
}

// key describes t given the TypeIDs of its children: equal keys are equal
// types. Without refs (Known), only leaves have keys.
func (e *Encoder) key(t Type, refs []TypeID) (string, bool) {
	var k strings.Builder
	ids := func() {
		for _, r := range refs {
			k.WriteString(" ")
			k.WriteString(strconv.FormatUint(uint64(r), 10))
		}
	}
	switch t := t.(type) {
	case *Int:
		fmt.Fprintf(&k, "int %d %d %q", t.Bytes, t.Encoding, t.Name)
		return k.String(), true
	case *Fwd:
		fmt.Fprintf(&k, "fwd %v %q", t.Union, t.Name)
		return k.String(), true
	case *Enum:
		fmt.Fprintf(&k, "enum %d %v %q", t.Bytes, t.Signed, t.Name)
		for _, v := range t.Values {
			fmt.Fprintf(&k, " %s=%d", v.Name, v.Value)
		}
		return k.String(), true
	}
	if refs == nil {
		return "", false
	}
	switch t := t.(type) {
	case *Ptr:
		k.WriteString("ptr")
	case *Array:
		fmt.Fprintf(&k, "array %d", t.N)
	case *Struct:
		fmt.Fprintf(&k, "struct %q", t.Name)
		for _, f := range t.Members {
			fmt.Fprintf(&k, " %s:%d", f.Name, f.Bits)
		}
		layoutKey(&k, t.Layout)
		k.WriteString(" |")
	case *Union:
		fmt.Fprintf(&k, "union %q", t.Name)
		for _, f := range t.Members {
			fmt.Fprintf(&k, " %s:%d", f.Name, f.Bits)
		}
		layoutKey(&k, t.Layout)
		k.WriteString(" |")
	case *Typedef:
		fmt.Fprintf(&k, "typedef %q", t.Name)
	case *Const:
		k.WriteString("const")
	case *Volatile:
		k.WriteString("volatile")
	case *TypeTag:
		fmt.Fprintf(&k, "tag %q", t.Value)
	case *FuncProto:
		fmt.Fprintf(&k, "funcproto %d", len(t.Params))
	}
	ids()
	return k.String(), true
}

// layoutKey adds an explicit layout to a type's key: types of equal
// members laid out differently are different types.
func layoutKey(k *strings.Builder, l *Layout) {
	if l == nil {
		return
	}
	fmt.Fprintf(k, " @%d", l.Bytes)
	for _, off := range l.BitOffsets {
		fmt.Fprintf(k, ",%d", off)
	}
}
