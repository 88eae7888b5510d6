package btf

import (
	"fmt"
	"math"
)

// IntEncoding is an INT's encoding (BTF_INT_*): at most one of signed,
// char and bool.
type IntEncoding uint8

const (
	IntUnsigned IntEncoding = 0
	IntSigned   IntEncoding = 1 // BTF_INT_SIGNED
	IntChar     IntEncoding = 2 // BTF_INT_CHAR
	IntBool     IntEncoding = 4 // BTF_INT_BOOL
)

// FuncLinkage is a FUNC's linkage (BTF_FUNC_*), kept in its vlen.
type FuncLinkage uint16

const (
	FuncStatic FuncLinkage = 0
	FuncGlobal FuncLinkage = 1
	FuncExtern FuncLinkage = 2
)

// VarLinkage is a VAR's linkage (BTF_VAR_*).
type VarLinkage uint32

const (
	VarStatic          VarLinkage = 0
	VarGlobalAllocated VarLinkage = 1
	VarGlobalExtern    VarLinkage = 2
)

// FwdKind says what a FWD declares; it is the FWD's kind_flag.
type FwdKind uint8

const (
	FwdStruct FwdKind = 0 // struct name;
	FwdUnion  FwdKind = 1 // union name;
)

// Member is a STRUCT or UNION member: a btf_member of name, type and
// offset.
//
// BitOffset is the member's offset in bits from the start of the struct
// (always 0 in a union). BitfieldSize is the width in bits of a bitfield
// member (1 to 255), 0 for an ordinary member. When any member of a struct
// or union has a BitfieldSize, the type gets kind_flag 1 and every
// member's offset word holds BitfieldSize<<24 | BitOffset, so BitOffset
// must then be below 2^24; that is what clang emits for a struct with a
// bitfield. Without bitfields kind_flag is 0 and the offset word is
// BitOffset.
type Member struct {
	Name         string
	Type         TypeID
	BitOffset    uint32
	BitfieldSize uint32
}

// EnumValue is an enumerator of an ENUM: its value must fit in 32 bits,
// as an int32 for a signed enum and a uint32 for an unsigned one.
type EnumValue struct {
	Name  string
	Value int64
}

// Enum64Value is an enumerator of an ENUM64. Value holds the 64 bits; for
// a signed enum a negative value v is uint64(v).
type Enum64Value struct {
	Name  string
	Value uint64
}

// Param is a FUNC_PROTO parameter. A last Param{} (no name, type 0)
// makes the prototype variadic.
type Param struct {
	Name string
	Type TypeID
}

// VarSecinfo places a VAR in a DATASEC.
type VarSecinfo struct {
	Type   TypeID
	Offset uint32
	Size   uint32
}

// Int adds an INT, an integer of size bytes (1, 2, 4, 8 or 16), signed or
// not, using all size*8 bits: [n] INT 'name' size=4 bits_offset=0
// nr_bits=32 encoding=SIGNED.
func (b *Builder) Int(name string, size uint32, signed bool) TypeID {
	enc := IntUnsigned
	if signed {
		enc = IntSigned
	}
	return b.IntEnc(name, size, enc)
}

// IntEnc adds an INT of size bytes (1, 2, 4, 8 or 16) with encoding enc:
// IntUnsigned, IntSigned, IntChar (a C char, printed as a character) or
// IntBool.
func (b *Builder) IntEnc(name string, size uint32, enc IntEncoding) TypeID {
	switch size {
	case 1, 2, 4, 8, 16:
	default:
		b.failf(kindInt, name, "size %d, want 1, 2, 4, 8 or 16", size)
	}
	switch enc {
	case IntUnsigned, IntSigned, IntChar, IntBool:
	default:
		b.failf(kindInt, name, "encoding %#x, want one of signed (1), char (2) and bool (4) or none", uint8(enc))
	}
	// The INT word: encoding in bits 24-27, bit offset (0) in bits 16-23,
	// bit count in bits 0-7.
	return b.add(name, kindInt, 0, false, size, uint32(enc)<<24|size*8&0xff)
}

// Ptr adds a PTR, a pointer to target (0 for void *).
func (b *Builder) Ptr(target TypeID) TypeID {
	return b.refKind(kindPtr, "", target)
}

// Array adds an ARRAY of n elements of type elem, indexed by the integer
// type index. Neither may be void.
func (b *Builder) Array(elem, index TypeID, n uint32) TypeID {
	if elem == 0 {
		b.failf(kindArray, "", "element type is void")
	}
	if index == 0 {
		b.failf(kindArray, "", "index type is void")
	}
	b.ref(elem)
	b.ref(index)
	return b.add("", kindArray, 0, false, 0, uint32(elem), uint32(index), n)
}

// Struct adds a STRUCT of size bytes ("" for an anonymous one) with
// members in offset order. Members with a BitfieldSize make it a
// kind_flag struct (see Member).
func (b *Builder) Struct(name string, size uint32, members []Member) TypeID {
	return b.composite(kindStruct, name, size, members)
}

// Union adds a UNION of size bytes ("" for an anonymous one). Every
// member is at BitOffset 0; BitfieldSize works as for Struct.
func (b *Builder) Union(name string, size uint32, members []Member) TypeID {
	return b.composite(kindUnion, name, size, members)
}

func (b *Builder) composite(kind uint32, name string, size uint32, members []Member) TypeID {
	if name != "" && !validIdent(name) {
		b.failf(kind, name, "invalid name")
	}
	bitfields := false
	for _, m := range members {
		if m.BitfieldSize != 0 {
			bitfields = true
		}
	}
	extra := make([]uint32, 0, 3*len(members))
	var last uint32
	for i, m := range members {
		switch {
		case m.Name != "" && !validIdent(m.Name):
			b.failf(kind, name, "member %d: invalid name %q", i, m.Name)
		case m.Type == 0:
			b.failf(kind, name, "member %d (%s): type is void", i, m.Name)
		case kind == kindUnion && m.BitOffset != 0:
			b.failf(kind, name, "member %d (%s): bit offset %d in a union", i, m.Name, m.BitOffset)
		case m.BitOffset < last:
			b.failf(kind, name, "member %d (%s): bit offset %d before the previous member's %d", i, m.Name, m.BitOffset, last)
		case (uint64(m.BitOffset)+7)/8 > uint64(size):
			b.failf(kind, name, "member %d (%s): bit offset %d past the end of %d bytes", i, m.Name, m.BitOffset, size)
		case m.BitfieldSize > 255:
			b.failf(kind, name, "member %d (%s): bitfield of %d bits, at most 255", i, m.Name, m.BitfieldSize)
		case bitfields && m.BitOffset >= 1<<24:
			b.failf(kind, name, "member %d (%s): bit offset %d does not fit in 24 bits next to bitfield sizes", i, m.Name, m.BitOffset)
		}
		last = m.BitOffset
		b.ref(m.Type)
		extra = append(extra, b.String(m.Name), uint32(m.Type), m.BitfieldSize<<24|m.BitOffset)
	}
	return b.add(name, kind, len(members), bitfields, size, extra...)
}

// Enum adds an ENUM of size bytes (1, 2, 4 or 8; C enums are 4), signed
// or not (kind_flag), with 32-bit values ("" for an anonymous enum; no
// values for a forward-declared one).
func (b *Builder) Enum(name string, size uint32, signed bool, values []EnumValue) TypeID {
	b.checkEnum(kindEnum, name, size)
	extra := make([]uint32, 0, 2*len(values))
	for i, v := range values {
		b.checkEnumerator(kindEnum, name, i, v.Name)
		if signed && (v.Value < math.MinInt32 || v.Value > math.MaxInt32) || !signed && (v.Value < 0 || v.Value > math.MaxUint32) {
			kind := "an unsigned"
			if signed {
				kind = "a signed"
			}
			b.failf(kindEnum, name, "value %s = %d does not fit in %s 32-bit enum (use Enum64)", v.Name, v.Value, kind)
		}
		extra = append(extra, b.String(v.Name), uint32(v.Value))
	}
	return b.add(name, kindEnum, len(values), signed, size, extra...)
}

// Enum64 adds an ENUM64 of size bytes (1, 2, 4 or 8) with 64-bit values,
// signed or not (kind_flag).
func (b *Builder) Enum64(name string, size uint32, signed bool, values []Enum64Value) TypeID {
	b.checkEnum(kindEnum64, name, size)
	extra := make([]uint32, 0, 3*len(values))
	for i, v := range values {
		b.checkEnumerator(kindEnum64, name, i, v.Name)
		extra = append(extra, b.String(v.Name), uint32(v.Value), uint32(v.Value>>32))
	}
	return b.add(name, kindEnum64, len(values), signed, size, extra...)
}

func (b *Builder) checkEnum(kind uint32, name string, size uint32) {
	if name != "" && !validIdent(name) {
		b.failf(kind, name, "invalid name")
	}
	switch size {
	case 1, 2, 4, 8:
	default:
		b.failf(kind, name, "size %d, want 1, 2, 4 or 8", size)
	}
}

func (b *Builder) checkEnumerator(kind uint32, name string, i int, value string) {
	if !validIdent(value) {
		b.failf(kind, name, "value %d: invalid name %q", i, value)
	}
}

// Fwd adds a FWD, a forward declaration of the struct or union name.
func (b *Builder) Fwd(name string, kind FwdKind) TypeID {
	if !validIdent(name) {
		b.failf(kindFwd, name, "invalid name")
	}
	if kind > FwdUnion {
		b.failf(kindFwd, name, "forward kind %d, want FwdStruct or FwdUnion", kind)
	}
	return b.add(name, kindFwd, 0, kind == FwdUnion, 0)
}

// Typedef adds a TYPEDEF: name is another name for t.
func (b *Builder) Typedef(name string, t TypeID) TypeID {
	if !validIdent(name) {
		b.failf(kindTypedef, name, "invalid name")
	}
	return b.refKind(kindTypedef, name, t)
}

// Volatile adds a VOLATILE: t qualified volatile.
func (b *Builder) Volatile(t TypeID) TypeID { return b.refKind(kindVolatile, "", t) }

// Const adds a CONST: t qualified const.
func (b *Builder) Const(t TypeID) TypeID { return b.refKind(kindConst, "", t) }

// Restrict adds a RESTRICT: t qualified restrict.
func (b *Builder) Restrict(t TypeID) TypeID { return b.refKind(kindRestrict, "", t) }

// TypeTag adds a TYPE_TAG: t with the tag value, as
// __attribute__((btf_type_tag(value))) makes it. The kernel wants a
// pointer's type tags before its other qualifiers: PTR -> TYPE_TAG ->
// CONST -> ..., not PTR -> CONST -> TYPE_TAG.
func (b *Builder) TypeTag(value string, t TypeID) TypeID {
	if value == "" {
		b.failf(kindTypeTag, value, "empty tag")
	}
	return b.refKind(kindTypeTag, value, t)
}

// refKind adds a type that is a name or qualifier of another type.
func (b *Builder) refKind(kind uint32, name string, t TypeID) TypeID {
	b.ref(t)
	return b.add(name, kind, 0, false, uint32(t))
}

// FuncProto adds a FUNC_PROTO, a function prototype returning ret (0 for
// void). Parameter names may be empty.
func (b *Builder) FuncProto(ret TypeID, params []Param) TypeID {
	extra := make([]uint32, 0, 2*len(params))
	b.ref(ret)
	for i, p := range params {
		switch {
		case p.Type == 0 && (i != len(params)-1 || p.Name != ""):
			b.failf(kindFuncProto, "", "parameter %d (%s): type is void; only a last, unnamed parameter may be, for ...", i, p.Name)
		case p.Name != "" && !validIdent(p.Name):
			b.failf(kindFuncProto, "", "parameter %d: invalid name %q", i, p.Name)
		}
		b.ref(p.Type)
		extra = append(extra, b.String(p.Name), uint32(p.Type))
	}
	return b.add("", kindFuncProto, len(params), false, uint32(ret), extra...)
}

// Func adds a FUNC: the function name, of prototype proto (a FUNC_PROTO).
func (b *Builder) Func(name string, proto TypeID, linkage FuncLinkage) TypeID {
	if !validIdent(name) {
		b.failf(kindFunc, name, "invalid name")
	}
	if linkage > FuncExtern {
		b.failf(kindFunc, name, "linkage %d, want static, global or extern", linkage)
	}
	b.ref(proto)
	b.check(proto, "its prototype", -1, kindFuncProto)
	id := b.add(name, kindFunc, int(linkage), false, uint32(proto))
	b.meta[id-1].ref = proto
	return id
}

// Var adds a VAR: the variable name, of type t.
func (b *Builder) Var(name string, t TypeID, linkage VarLinkage) TypeID {
	if !validIdent(name) {
		b.failf(kindVar, name, "invalid name")
	}
	if t == 0 && linkage != VarGlobalExtern {
		// An extern may be void: an untyped kernel symbol (extern void
		// sym __ksym, the form cilium/ebpf takes).
		b.failf(kindVar, name, "type is void")
	}
	if linkage > VarGlobalExtern {
		b.failf(kindVar, name, "linkage %d, want static, global allocated or global extern", linkage)
	}
	if t != 0 {
		b.ref(t)
	}
	return b.add(name, kindVar, 0, false, uint32(t), uint32(linkage))
}

// Datasec adds a DATASEC, the ELF section name of size bytes, holding the
// VARs vars (in offset order). The .ksyms DATASEC, of the kernel's
// functions and variables a program uses, holds extern FUNCs too, as
// clang emits it (libbpf turns them into VARs before the kernel sees
// them).
func (b *Builder) Datasec(name string, size uint32, vars []VarSecinfo) TypeID {
	if !validSection(name) {
		b.failf(kindDatasec, name, "invalid section name")
	}
	extra := make([]uint32, 0, 3*len(vars))
	for i, v := range vars {
		b.ref(v.Type)
		if name == ".ksyms" {
			// libbpf's and cilium/ebpf's kernel functions: FUNCs.
			b.check(v.Type, fmt.Sprintf("entry %d", i), -1, kindVar, kindFunc)
		} else {
			b.check(v.Type, fmt.Sprintf("entry %d", i), -1, kindVar)
		}
		extra = append(extra, uint32(v.Type), v.Offset, v.Size)
	}
	return b.add(name, kindDatasec, len(vars), false, size, extra...)
}

// Float adds a FLOAT, a floating-point type of size bytes (2, 4, 8, 12
// or 16).
func (b *Builder) Float(name string, size uint32) TypeID {
	switch size {
	case 2, 4, 8, 12, 16:
	default:
		b.failf(kindFloat, name, "size %d, want 2, 4, 8, 12 or 16", size)
	}
	return b.add(name, kindFloat, 0, false, size)
}

// DeclTag adds a DECL_TAG: the tag value on the declaration t (a STRUCT,
// UNION, VAR, FUNC or TYPEDEF), as __attribute__((btf_decl_tag(value)))
// makes it. component is -1 for t itself, or the index of the struct's or
// union's member or the function's parameter the tag is on.
func (b *Builder) DeclTag(value string, t TypeID, component int) TypeID {
	if value == "" {
		b.failf(kindDeclTag, value, "empty tag")
	}
	if component < -1 || component > math.MaxInt32 {
		b.failf(kindDeclTag, value, "component %d, want -1 or a member or parameter index", component)
	}
	b.ref(t)
	b.check(t, "its target", int32(component), kindStruct, kindUnion, kindVar, kindFunc, kindTypedef)
	return b.add(value, kindDeclTag, 0, false, uint32(t), uint32(int32(component)))
}
