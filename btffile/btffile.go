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
// but a pointer to a named struct or union points at a btf.Fwd of its
// name.
// File.Deref gives the definition behind such a pointer when a program
// follows it. A conversion depends on the types it reaches and on nothing
// else in the file: two files that agree on them give equal graphs.
//
// # Reading
//
// A vmlinux BTF file is 5 MB of some 130,000 types, of which a program
// uses a handful. Parse only checks the header and walks the type records
// once to find where each starts (about a millisecond); a name is looked
// up by comparing it with the name of each record, at the string offset
// the record gives (half a millisecond); a type is decoded when a
// conversion reaches it. Decoding the whole file first, as cilium/ebpf's
// btf.LoadSpecFromReader does, costs about 30 ms, which a build that
// takes a tenth of that otherwise cannot afford; the tests check this
// reader against cilium/ebpf's on the running kernel's types. scan.go
// says why the walk and the name lookup are made the way they are.
//
// Records are checked as they are read: a type ID out of range, a string
// offset past the table, a record past the end, a member or array element
// of type void, or types nested more than maxDepth deep are errors, never
// a panic.
package btffile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/bpfstar/bpfstar/btf"
)

// File is a parsed BTF file. Its methods are not safe for concurrent use.
// The zero File is an empty file: it has no types.
type File struct {
	types []byte   // the type section
	strs  []byte   // the string section
	offs  []uint32 // offs[id-1] is where type id's record starts in types
	deep  map[uint32]btf.Type
	ptr   map[uint32]btf.Type
	busy  map[uint32]bool // types being converted: one met again is a cycle
	busyP map[uint32]bool // the same for pointer targets
	// lookups counts name lookups; after scanLookups of them, index maps
	// names to type IDs.
	lookups int
	index   map[string][]uint32
	// defs maps the Fwds this file's conversions made to the IDs of the
	// structs and unions they stand for.
	defs map[*btf.Fwd]uint32
}

// ErrNotBTF is the error Parse returns for data that is not BTF.
var ErrNotBTF = errors.New("not a BTF file")

// BTF kinds (BTF_KIND_*).
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

const hdrLen = 24

var le = binary.LittleEndian

// Parse parses raw BTF (no ELF wrapper: what /sys/kernel/btf/vmlinux
// holds), little-endian.
func Parse(data []byte) (*File, error) {
	bad := func(format string, args ...any) (*File, error) {
		return nil, fmt.Errorf("%w: %s", ErrNotBTF, fmt.Sprintf(format, args...))
	}
	if len(data) < hdrLen || data[0] != 0x9f || data[1] != 0xeb {
		if len(data) >= 2 && data[0] == 0xeb && data[1] == 0x9f {
			return bad("a big-endian BTF file")
		}
		return bad("no BTF magic 0xeb9f at the start")
	}
	if data[2] != 1 {
		return bad("version %d, want 1", data[2])
	}
	hl := le.Uint32(data[4:])
	if hl < hdrLen || uint64(hl) > uint64(len(data)) {
		return bad("header length %d", hl)
	}
	typeOff, typeLen := uint64(le.Uint32(data[8:])), uint64(le.Uint32(data[12:]))
	strOff, strLen := uint64(le.Uint32(data[16:])), uint64(le.Uint32(data[20:]))
	body := data[hl:]
	if typeOff+typeLen > uint64(len(body)) || strOff+strLen > uint64(len(body)) {
		return bad("type or string section past the end of the file")
	}
	f := &File{types: body[typeOff : typeOff+typeLen], strs: body[strOff : strOff+strLen],
		deep: map[uint32]btf.Type{}, ptr: map[uint32]btf.Type{}, busy: map[uint32]bool{}, busyP: map[uint32]bool{}, defs: map[*btf.Fwd]uint32{}}
	if len(f.strs) == 0 || f.strs[0] != 0 || f.strs[len(f.strs)-1] != 0 {
		return bad("the string section does not start and end with NUL")
	}
	offs, err := walk(f.types)
	if err != nil {
		return bad("%v", err)
	}
	f.offs = offs
	return f, nil
}

// raw is a type record.
type raw struct {
	name     string
	kind     uint32
	vlen     int
	kindFlag bool
	sizeType uint32 // size or type
	extra    []byte
}

// record reads type id's record.
func (f *File) record(id uint32) (raw, error) {
	if id == 0 || int(id) > len(f.offs) {
		return raw{}, fmt.Errorf("type [%d] does not exist", id)
	}
	off := f.offs[id-1]
	b := f.types[off:]
	info := le.Uint32(b[4:])
	n := recordLen(info) // checked by Parse
	name, err := f.str(le.Uint32(b))
	if err != nil {
		return raw{}, fmt.Errorf("type [%d]: %v", id, err)
	}
	return raw{name: name, kind: info >> 24 & 0x1f, vlen: int(info & 0xffff), kindFlag: info>>31 == 1, sizeType: le.Uint32(b[8:]), extra: b[12:n]}, nil
}

// str returns the string at off.
func (f *File) str(off uint32) (string, error) {
	if uint64(off) >= uint64(len(f.strs)) {
		return "", fmt.Errorf("string offset %d past the string section", off)
	}
	end := bytes.IndexByte(f.strs[off:], 0)
	return string(f.strs[off : int(off)+end]), nil
}

// Type returns the type of that name: "task_struct", or with a keyword,
// "struct task_struct", "union bpf_attr", "enum pid_type", which picks
// among types that share a name. A plain name ("pid_t", "unsigned int")
// means a typedef, integer or floating-point type of that name if there
// is one, else the struct, union or enum. Of several types of one kind and name (the kernel has a
// few), the first in the file is taken.
func (f *File) Type(name string) (btf.Type, error) {
	id, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	return f.convert(id, 0)
}

// Func returns the prototype of the function (a kfunc) of that name.
func (f *File) Func(name string) (*btf.FuncProto, error) {
	for _, id := range f.byName(name) {
		r, err := f.record(id)
		if err != nil {
			return nil, err
		}
		if r.kind != kindFunc {
			continue
		}
		pr, err := f.record(r.sizeType)
		if err != nil {
			return nil, fmt.Errorf("function %q: %v", name, err)
		}
		if pr.kind != kindFuncProto {
			return nil, fmt.Errorf("function %q has no prototype", name)
		}
		t, err := f.convertPtrTarget(r.sizeType, 0)
		if err != nil {
			return nil, fmt.Errorf("function %q: %v", name, err)
		}
		return t.(*btf.FuncProto), nil
	}
	return nil, fmt.Errorf("no function %q in the BTF file", name)
}

// Var returns the type of the variable (a ksym) of that name.
func (f *File) Var(name string) (btf.Type, error) {
	for _, id := range f.byName(name) {
		r, err := f.record(id)
		if err != nil {
			return nil, err
		}
		if r.kind == kindVar {
			return f.convert(r.sizeType, 0)
		}
	}
	return nil, fmt.Errorf("no variable %q in the BTF file", name)
}

// Deref returns the definition a Fwd made by this file's conversions
// stands for (the target of a pointer member), and whether fwd is one.
func (f *File) Deref(fwd *btf.Fwd) (btf.Type, bool, error) {
	id, ok := f.defs[fwd]
	if !ok {
		return nil, false, nil
	}
	t, err := f.convert(id, 0)
	return t, true, err
}

// lookup finds the type a name names (see Type).
func (f *File) lookup(name string) (uint32, error) {
	kw, bare, hasKW := strings.Cut(name, " ")
	if !hasKW || kw != "struct" && kw != "union" && kw != "enum" {
		// A plain name, which may have spaces: "unsigned int".
		kw, bare = "", name
	}
	ids := f.byName(bare)
	kinds := make([]uint32, len(ids))
	for i, id := range ids {
		r, err := f.record(id)
		if err != nil {
			return 0, err
		}
		kinds[i] = r.kind
	}
	pick := func(want ...uint32) (uint32, bool) {
		for i, k := range kinds {
			for _, w := range want {
				if k == w {
					return ids[i], true
				}
			}
		}
		return 0, false
	}
	var id uint32
	var ok bool
	switch kw {
	case "struct":
		id, ok = pick(kindStruct)
	case "union":
		id, ok = pick(kindUnion)
	case "enum":
		id, ok = pick(kindEnum, kindEnum64)
	default:
		if id, ok = pick(kindTypedef, kindInt, kindFloat); !ok {
			id, ok = pick(kindStruct, kindUnion, kindEnum, kindEnum64)
		}
	}
	if !ok {
		if hasKW && kw == "" {
			return 0, fmt.Errorf("no type %q in the BTF file: want NAME, struct NAME, union NAME or enum NAME", name)
		}
		return 0, fmt.Errorf("no type %q in the BTF file", name)
	}
	return id, nil
}

// maxDepth bounds the conversion's recursion (btf.Type graphs are checked
// to the same depth).
const maxDepth = 256

// convert converts type id with its members; pointers to structs and
// unions point at Fwds. Type 0 is void (nil).
func (f *File) convert(id uint32, depth int) (btf.Type, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("types nested more than %d deep", maxDepth)
	}
	if id == 0 {
		return nil, nil
	}
	if c, ok := f.deep[id]; ok {
		return c, nil
	}
	r, err := f.record(id)
	if err != nil {
		return nil, err
	}
	if f.busy[id] {
		return nil, fmt.Errorf("type [%d] %s contains itself", id, r.name)
	}
	f.busy[id] = true
	defer delete(f.busy, id)
	target := func() (btf.Type, error) { return f.convert(r.sizeType, depth+1) }
	var out btf.Type
	switch r.kind {
	case kindInt:
		out, err = convertInt(r)
	case kindFloat:
		// bpfstar's types have no floating point: the bytes of one.
		out = &btf.Array{Elem: &btf.Int{Name: "unsigned char", Bytes: 1}, N: r.sizeType}
	case kindPtr:
		var t btf.Type
		if t, err = f.convertPtrTarget(r.sizeType, depth+1); err == nil {
			out = &btf.Ptr{Target: t}
		}
	case kindArray:
		var elem btf.Type
		if elem, err = f.convert(le.Uint32(r.extra), depth+1); err == nil {
			if btf.Resolve(elem) == nil {
				return nil, fmt.Errorf("type [%d]: an array of void", id)
			}
			out = &btf.Array{Elem: elem, N: le.Uint32(r.extra[8:])}
		}
	case kindStruct, kindUnion:
		var fields []btf.Field
		var layout *btf.Layout
		fields, layout, err = f.members(r, depth)
		if err != nil {
			kw := "struct"
			if r.kind == kindUnion {
				kw = "union"
			}
			return nil, fmt.Errorf("%s %s: %v", kw, r.name, err)
		}
		if r.kind == kindStruct {
			out = &btf.Struct{Name: r.name, Members: fields, Layout: layout}
		} else {
			out = &btf.Union{Name: r.name, Members: fields, Layout: layout}
		}
	case kindEnum, kindEnum64:
		out, err = f.enum(r)
	case kindFwd:
		out = &btf.Fwd{Name: r.name, Union: r.kindFlag}
	case kindTypedef, kindConst, kindVolatile, kindRestrict, kindTypeTag:
		out, err = wrap(r, target)
	case kindFuncProto:
		return f.convertPtrTarget(id, depth)
	default:
		return nil, fmt.Errorf("type [%d] %s: a %s cannot be used as a type", id, r.name, kindName(r.kind))
	}
	if err != nil {
		return nil, err
	}
	f.deep[id] = out
	return out, nil
}

func kindName(k uint32) string {
	switch k {
	case kindFunc:
		return "function"
	case kindVar:
		return "variable"
	case kindDatasec:
		return "data section"
	case kindDeclTag:
		return "declaration tag"
	}
	return fmt.Sprintf("kind %d", k)
}

// wrap converts a typedef, const, volatile, restrict or type tag r whose
// target target converts: a restrict is dropped (btf has no Restrict), the
// others wrap the converted target.
func wrap(r raw, target func() (btf.Type, error)) (btf.Type, error) {
	t, err := target()
	if err != nil {
		return nil, err
	}
	switch r.kind {
	case kindTypedef:
		return &btf.Typedef{Name: r.name, Target: t}, nil
	case kindConst:
		return &btf.Const{Target: t}, nil
	case kindVolatile:
		return &btf.Volatile{Target: t}, nil
	case kindTypeTag:
		return &btf.TypeTag{Value: r.name, Target: t}, nil
	}
	return t, nil // kindRestrict
}

// convertPtrTarget converts what a pointer points at: a named struct or
// union (through typedefs and qualifiers) becomes a Fwd of its name (an
// anonymous one is converted whole); a function prototype's parameters
// and result are converted the same way.
func (f *File) convertPtrTarget(id uint32, depth int) (btf.Type, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("types nested more than %d deep", maxDepth)
	}
	if id == 0 {
		return nil, nil
	}
	if c, ok := f.ptr[id]; ok {
		return c, nil
	}
	r, err := f.record(id)
	if err != nil {
		return nil, err
	}
	if f.busyP[id] {
		return nil, fmt.Errorf("type [%d] %s refers to itself", id, r.name)
	}
	f.busyP[id] = true
	defer delete(f.busyP, id)
	target := func() (btf.Type, error) { return f.convertPtrTarget(r.sizeType, depth+1) }
	var out btf.Type
	switch r.kind {
	case kindStruct, kindUnion:
		if r.name == "" {
			// An anonymous struct has no name to declare: it is
			// converted whole (a typedef's, as pgd_t; C cannot make one
			// that points at itself).
			out, err = f.convert(id, depth+1)
			break
		}
		fwd := &btf.Fwd{Name: r.name, Union: r.kind == kindUnion}
		f.defs[fwd] = id
		out = fwd
	case kindTypedef, kindConst, kindVolatile, kindRestrict, kindTypeTag:
		out, err = wrap(r, target)
	case kindFuncProto:
		fp := &btf.FuncProto{}
		if fp.Return, err = f.convertPtrTarget(r.sizeType, depth+1); err != nil {
			return nil, err
		}
		for i := 0; i < r.vlen; i++ {
			pt := le.Uint32(r.extra[8*i+4:])
			if pt == 0 {
				if i == r.vlen-1 {
					break // ... (a variadic function)
				}
				return nil, fmt.Errorf("function prototype [%d]: parameter %d is void", id, i)
			}
			t, err := f.convertPtrTarget(pt, depth+1)
			if err != nil {
				return nil, err
			}
			fp.Params = append(fp.Params, t)
		}
		out = fp
	default:
		out, err = f.convert(id, depth+1)
	}
	if err != nil {
		return nil, err
	}
	f.ptr[id] = out
	return out, nil
}

// members converts the members of a struct or union.
func (f *File) members(r raw, depth int) ([]btf.Field, *btf.Layout, error) {
	fields := make([]btf.Field, r.vlen)
	layout := &btf.Layout{Bytes: r.sizeType, BitOffsets: make([]uint64, r.vlen)}
	for i := range fields {
		m := r.extra[12*i:]
		name, err := f.str(le.Uint32(m))
		if err != nil {
			return nil, nil, err
		}
		t, err := f.convert(le.Uint32(m[4:]), depth+1)
		if err != nil {
			return nil, nil, fmt.Errorf("member %s: %v", name, err)
		}
		if btf.Resolve(t) == nil {
			return nil, nil, fmt.Errorf("member %s: void", name)
		}
		off := le.Uint32(m[8:])
		fields[i] = btf.Field{Name: name, Type: t}
		if r.kindFlag {
			fields[i].Bits = off >> 24
			off &= 0xffffff
		}
		layout.BitOffsets[i] = uint64(off)
	}
	return fields, layout, nil
}

// enum converts an ENUM or ENUM64.
func (f *File) enum(r raw) (btf.Type, error) {
	e := &btf.Enum{Name: r.name, Bytes: r.sizeType, Signed: r.kindFlag}
	step := 8
	if r.kind == kindEnum64 {
		step = 12
	}
	for i := 0; i < r.vlen; i++ {
		v := r.extra[step*i:]
		name, err := f.str(le.Uint32(v))
		if err != nil {
			return nil, err
		}
		val := uint64(le.Uint32(v[4:]))
		switch {
		case r.kind == kindEnum64:
			val |= uint64(le.Uint32(v[8:])) << 32
		case r.kindFlag:
			val = uint64(int64(int32(val)))
		}
		e.Values = append(e.Values, btf.Enum64Value{Name: name, Value: val})
	}
	return e, nil
}

func convertInt(r raw) (*btf.Int, error) {
	out := &btf.Int{Name: r.name, Bytes: r.sizeType}
	switch enc := le.Uint32(r.extra) >> 24 & 0xf; enc {
	case 0:
	case 1:
		out.Encoding = btf.IntSigned
	case 2:
		out.Encoding = btf.IntChar
	case 4:
		out.Encoding = btf.IntBool
	default:
		return nil, fmt.Errorf("int %s: encoding %d", r.name, enc)
	}
	return out, nil
}
