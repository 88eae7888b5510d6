// Package btf encodes BPF Type Format (BTF), the type information that
// travels with BPF programs: the .BTF section of an object (types and their
// names) and the .BTF.ext section (per code section: func_info, line_info
// and CO-RE relocation records).
//
// # What BTF is
//
// BTF describes C-like types compactly: integers, pointers, arrays,
// structs and unions (with bitfields), enums, typedefs and qualifiers,
// function prototypes and functions, global variables and the data
// sections holding them, plus tags attached to declarations and types.
// The kernel's verifier checks it when an object is loaded; libbpf and
// cilium/ebpf read it to find BTF-defined maps, global variables and
// functions; bpftool prints it. .BTF.ext ties instructions to it: which
// instruction starts which FUNC (func_info), which source line made each
// instruction (line_info), and which instructions need CO-RE relocation
// against the running kernel's types (core_relo).
//
// # Layout
//
// Everything is little-endian. .BTF is a 24-byte header (magic 0xeb9f,
// version 1, flags 0, hdr_len, then offset and length of the type and
// string parts, relative to the end of the header), the types, then the
// strings. Each type is a 12-byte btf_type (name offset; info = kind in
// bits 24-28, kind_flag in bit 31, vlen in bits 0-15; size or type) and
// kind-specific data after it (an INT's encoding word, an ARRAY's
// btf_array, a STRUCT's members, ...). Types are numbered from 1 in the
// order they appear; 0 is void. The string table starts with the empty
// string and names are offsets into it.
//
// .BTF.ext is a 32-byte header (magic, version, flags, hdr_len, then
// offset and length of the func_info, line_info and core_relo parts,
// relative to the end of the header). Each part is a record size (8, 16
// and 16 bytes) and then, for each code section with records, the
// section's name offset, the number of records and the records. Without
// any CO-RE record there is no core_relo part at all (core_relo_len 0).
//
// # Using the Builder
//
// A Builder collects types in the order its methods are called; each
// method returns the new type's TypeID, which later calls use to refer to
// it (a type may also refer to one added later, e.g. a struct holding a
// pointer to itself: Next tells the TypeID the next type gets):
//
//	var b btf.Builder
//	intT := b.Int("int", 4, true)
//	proto := b.FuncProto(intT, []btf.Param{{Name: "ctx", Type: b.Ptr(0)}})
//	fn := b.Func("prog", proto, btf.FuncGlobal)
//	btfData, extData, err := b.Finish([]btf.ExtSection{{
//		Name:  "xdp",
//		Funcs: []btf.FuncInfo{{InsnOff: 0, Type: fn}},
//	}})
//
// The zero Builder is ready to use. Methods never panic: what the kernel
// would refuse and can be checked cheaply (an INT of 3 bytes, a FUNC
// without a name, a reference to a type that was never added, ...) is
// recorded, and Finish returns the first such error.
//
// # Determinism
//
// Types are encoded in the order they were added and strings are
// deduplicated in first-use order; no map order, time or host detail
// reaches the output, so equal calls give equal bytes.
package btf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// TypeID identifies a type; 0 is void.
type TypeID uint32

// Kinds, as in the kernel's BTF_KIND_*.
const (
	kindInt       = 1
	kindPtr       = 2
	kindArray     = 3
	kindStruct    = 4
	kindUnion     = 5
	kindEnum      = 6
	kindFwd       = 7
	kindTypedef   = 8
	kindVolatile  = 9
	kindConst     = 10
	kindRestrict  = 11
	kindFunc      = 12
	kindFuncProto = 13
	kindVar       = 14
	kindDatasec   = 15
	kindFloat     = 16
	kindDeclTag   = 17
	kindTypeTag   = 18
	kindEnum64    = 19
)

var kindNames = [...]string{
	"UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF",
	"VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC",
	"FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64",
}

// Limits the kernel and libbpf enforce.
const (
	maxVlen       = 1<<16 - 1 // vlen has 16 bits
	maxTypes      = 0x000fffff
	maxNameOffset = 0x00ffffff // BTF_MAX_NAME_OFFSET: str_len-1 may not exceed it
	ksymNameLen   = 512        // longest name (KSYM_NAME_LEN)
)

// Builder accumulates types and strings. The zero value is an empty
// Builder; a Builder must not be copied once used.
type Builder struct {
	types   []byte
	meta    []typeMeta // meta[id-1] describes type id
	strings []byte
	strOff  map[string]uint32
	checks  []refCheck // checks on referenced types' kinds, made by Finish
	maxRef  TypeID     // the largest TypeID referred to, and by whom
	maxFrom TypeID
	err     error
}

// typeMeta is what Finish needs to know of a type to check references to
// it and to name it in errors.
type typeMeta struct {
	name uint32
	kind uint8
	vlen uint16
	ref  TypeID // the type it refers to (a FUNC's prototype)
}

// refCheck asks Finish to check that type to, referred to by from, has a
// kind in want; for a DECL_TAG (component >= 0) also that to's component
// exists.
type refCheck struct {
	from, to  TypeID
	want      uint32 // 1<<kind for each acceptable kind
	component int32
	what      string
}

// NewBuilder returns an empty Builder. It is the same as new(Builder).
func NewBuilder() *Builder { return new(Builder) }

func (b *Builder) init() {
	if b.strOff == nil {
		b.strings = append(b.strings[:0], 0)
		b.strOff = map[string]uint32{"": 0}
	}
}

// String adds s to the string table (once) and returns its offset. Offset
// 0 is the empty string.
func (b *Builder) String(s string) uint32 {
	b.init()
	if off, ok := b.strOff[s]; ok {
		return off
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			b.fail(fmt.Errorf("string %q contains a NUL byte", s))
			break
		}
	}
	off := uint32(len(b.strings))
	b.strings = append(b.strings, s...)
	b.strings = append(b.strings, 0)
	b.strOff[s] = off
	return off
}

// Len returns the number of types added so far, which is also the TypeID
// of the last one.
func (b *Builder) Len() int { return len(b.meta) }

// Next returns the TypeID the next type added will get: a type can refer
// to one that is added after it (struct node { struct node *next; }).
func (b *Builder) Next() TypeID { return TypeID(len(b.meta) + 1) }

// fail records err unless an error is recorded already.
func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// failf records an error about the type about to be added.
func (b *Builder) failf(kind uint32, name string, format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf("type [%d] %s: %s", b.Next(), describe(kind, name), fmt.Sprintf(format, args...))
	}
}

func describe(kind uint32, name string) string {
	k := fmt.Sprintf("kind %d", kind)
	if int(kind) < len(kindNames) {
		k = kindNames[kind]
	}
	if name == "" {
		return k
	}
	return fmt.Sprintf("%s %q", k, name)
}

// ref notes that the type about to be added refers to t.
func (b *Builder) ref(t TypeID) {
	if t > b.maxRef {
		b.maxRef, b.maxFrom = t, b.Next()
	}
}

// check asks Finish to check that t, referred to by the type about to be
// added, has one of the kinds in want.
func (b *Builder) check(t TypeID, what string, component int32, kinds ...uint32) {
	var want uint32
	for _, k := range kinds {
		want |= 1 << k
	}
	b.checks = append(b.checks, refCheck{from: b.Next(), to: t, want: want, component: component, what: what})
}

// add appends a type: the btf_type header and the kind-specific words.
func (b *Builder) add(name string, kind uint32, vlen int, kindFlag bool, sizeOrType uint32, extra ...uint32) TypeID {
	if vlen > maxVlen {
		b.failf(kind, name, "%d members, more than BTF's %d", vlen, maxVlen)
	}
	info := kind<<24 | uint32(vlen)&maxVlen
	if kindFlag {
		info |= 1 << 31
	}
	nameOff := b.String(name)
	b.types = binary.LittleEndian.AppendUint32(b.types, nameOff)
	b.types = binary.LittleEndian.AppendUint32(b.types, info)
	b.types = binary.LittleEndian.AppendUint32(b.types, sizeOrType)
	for _, x := range extra {
		b.types = binary.LittleEndian.AppendUint32(b.types, x)
	}
	b.meta = append(b.meta, typeMeta{name: nameOff, kind: uint8(kind), vlen: uint16(vlen)})
	return TypeID(len(b.meta))
}

// validIdent reports whether s is a name the kernel accepts for a type,
// member, enumerator, function or variable: letters, digits, '_' and '.',
// not starting with a digit (btf_name_valid_identifier).
func validIdent(s string) bool {
	if s == "" || len(s) > ksymNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}

// validSection reports whether s is a name the kernel accepts for a
// DATASEC: printable ASCII (btf_name_valid_section).
func validSection(s string) bool {
	if s == "" || len(s) > ksymNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// nameAt returns the string at offset off of the string table.
func (b *Builder) nameAt(off uint32) string {
	s := b.strings[off:]
	for i, c := range s {
		if c == 0 {
			return string(s[:i])
		}
	}
	return string(s)
}

func (b *Builder) describeID(id TypeID) string {
	m := b.meta[id-1]
	return fmt.Sprintf("[%d] %s", id, describe(uint32(m.kind), b.nameAt(m.name)))
}

// checkRefs makes the checks that need every type: that referenced types
// exist and have the kinds their referrers need.
func (b *Builder) checkRefs() error {
	n := TypeID(len(b.meta))
	if b.maxRef > n {
		return fmt.Errorf("type %s refers to type [%d], but there are only %d types", b.describeID(b.maxFrom), b.maxRef, n)
	}
	for _, c := range b.checks {
		var kind uint8 // void
		if c.to > 0 {
			kind = b.meta[c.to-1].kind
		}
		if c.want&(1<<kind) == 0 {
			target := "void"
			if c.to > 0 {
				target = b.describeID(c.to)
			}
			return fmt.Errorf("type %s: %s is %s", b.describeID(c.from), c.what, target)
		}
		if c.component < 0 {
			continue
		}
		m := b.meta[c.to-1]
		vlen := m.vlen
		switch m.kind {
		case kindFunc:
			if p := m.ref; p > 0 && p <= n {
				vlen = b.meta[p-1].vlen
			}
		case kindStruct, kindUnion:
		default:
			return fmt.Errorf("type %s: component %d of %s: only a struct, union or function has components", b.describeID(c.from), c.component, b.describeID(c.to))
		}
		if uint32(c.component) >= uint32(vlen) {
			return fmt.Errorf("type %s: component %d of %s, which has %d", b.describeID(c.from), c.component, b.describeID(c.to), vlen)
		}
	}
	return nil
}

const (
	magic      = 0xeb9f
	version    = 1
	hdrLen     = 24
	extHdrLen  = 32
	funcRecLen = 8
	lineRecLen = 16
	coreRecLen = 16
	maxLine    = 1<<22 - 1
	maxCol     = 1<<10 - 1
)

// Finish encodes .BTF and, from ext, .BTF.ext (nil when ext is nil). The
// names of ext's sections and then the access strings of their CO-RE
// records are added to the string table first, so call Finish once, last.
// It returns the first error recorded by the Builder's methods, if any.
func (b *Builder) Finish(ext []ExtSection) (btfData, extData []byte, err error) {
	b.init()
	// .BTF.ext first: it adds section names and access strings to the
	// string table.
	if ext != nil {
		extData, err = b.encodeExt(ext)
		if err != nil {
			return nil, nil, err
		}
	}
	if b.err != nil {
		return nil, nil, b.err
	}
	if len(b.meta) == 0 {
		return nil, nil, fmt.Errorf("no types: the kernel refuses empty BTF")
	}
	if len(b.meta) >= maxTypes {
		return nil, nil, fmt.Errorf("%d types, more than BTF's %d", len(b.meta), maxTypes-1)
	}
	if err := b.checkRefs(); err != nil {
		return nil, nil, err
	}
	if len(b.strings)-1 > maxNameOffset {
		return nil, nil, fmt.Errorf("BTF string table of %d bytes, more than the %d the kernel and libbpf accept", len(b.strings), maxNameOffset+1)
	}
	if uint64(len(b.types))+uint64(len(b.strings)) > math.MaxUint32-hdrLen {
		return nil, nil, fmt.Errorf("BTF too large")
	}

	btfData = make([]byte, 0, hdrLen+len(b.types)+len(b.strings))
	btfData = binary.LittleEndian.AppendUint16(btfData, magic)
	btfData = append(btfData, version, 0)
	btfData = binary.LittleEndian.AppendUint32(btfData, hdrLen)
	btfData = binary.LittleEndian.AppendUint32(btfData, 0)                      // type_off
	btfData = binary.LittleEndian.AppendUint32(btfData, uint32(len(b.types)))   // type_len
	btfData = binary.LittleEndian.AppendUint32(btfData, uint32(len(b.types)))   // str_off
	btfData = binary.LittleEndian.AppendUint32(btfData, uint32(len(b.strings))) // str_len
	btfData = append(btfData, b.types...)
	btfData = append(btfData, b.strings...)
	return btfData, extData, nil
}
