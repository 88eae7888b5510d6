package starlib

// The core module: CO-RE (compile once, run everywhere) relocations.
//
// Each builtin makes the instruction clang makes for the matching
// __builtin_preserve_*_info and records a link.CoreRelo on it: the kind
// (the kernel's enum bpf_core_relo_kind), the local type and the access
// path as indexes into it. The instruction holds the value computed
// against the local type, which both loaders check before they patch it
// with the value computed against the running kernel's type. The local
// type is a ctype: one of a btf_types file (with its offsets and size), or
// one the program makes with types.struct, whose name may end in
// ___flavor ("task_struct___mine"), which the loaders ignore when they
// look for the kernel's type.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/helper"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/link"
)

func (u *unit) newCoreModule() *module {
	field := func(name string, kind btf.CoreReloKind) *starlark.Builtin {
		return starlark.NewBuiltin("core."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return u.coreField(thread, b, args, kwargs, kind)
		})
	}
	typ := func(name string, kind btf.CoreReloKind) *starlark.Builtin {
		return starlark.NewBuiltin("core."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return u.coreType(thread, b, args, kwargs, kind)
		})
	}
	enum := func(name string, kind btf.CoreReloKind) *starlark.Builtin {
		return starlark.NewBuiltin("core."+name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return u.coreEnum(thread, b, args, kwargs, kind)
		})
	}
	return newModule(&starlarkstruct.Module{
		Name: "core",
		Members: starlark.StringDict{
			"ldx":            starlark.NewBuiltin("core.ldx", u.coreLdx),
			"read":           starlark.NewBuiltin("core.read", u.coreRead),
			"field_offset":   field("field_offset", btf.CoreFieldByteOffset),
			"field_size":     field("field_size", btf.CoreFieldByteSize),
			"field_exists":   field("field_exists", btf.CoreFieldExists),
			"field_signed":   field("field_signed", btf.CoreFieldSigned),
			"field_lshift":   field("field_lshift", btf.CoreFieldLShiftU64),
			"field_rshift":   field("field_rshift", btf.CoreFieldRShiftU64),
			"type_id_local":  typ("type_id_local", btf.CoreTypeIDLocal),
			"type_id_target": typ("type_id_target", btf.CoreTypeIDTarget),
			"type_exists":    typ("type_exists", btf.CoreTypeExists),
			"type_size":      typ("type_size", btf.CoreTypeSize),
			"type_matches":   typ("type_matches", btf.CoreTypeMatches),
			"enum_exists":    enum("enum_exists", btf.CoreEnumvalExists),
			"enum_value":     enum("enum_value", btf.CoreEnumvalValue),
		},
	})
}

// coreField is what a member path names: the access (indexes into the
// type), and the member's place as libbpf computes it for relocations:
// the byte offset and size of the load that holds it, and for a
// bitfield, the shifts that extract it from a 64-bit value.
type coreField struct {
	access         []int
	typ            btf.Type // the member's type
	bitOff         uint64
	bits           uint32 // bitfield width (0: not a bitfield)
	byteOff        uint64
	byteSize       uint32
	lshift, rshift uint32
	signed         bool
}

// resolveField finds path ("a.b[2].c") in t, through anonymous members.
func resolveField(t btf.Type, path string) (*coreField, error) {
	if path == "" {
		return nil, fmt.Errorf("empty member path")
	}
	f := &coreField{access: []int{0}, typ: t}
	rest := path
	first := true
	for rest != "" {
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%q: missing ]", path)
			}
			n, err := strconv.ParseUint(rest[1:end], 10, 31)
			if err != nil {
				return nil, fmt.Errorf("%q: bad index %q", path, rest[1:end])
			}
			arr, ok := btf.Resolve(f.typ).(*btf.Array)
			if !ok {
				return nil, fmt.Errorf("%q: %s is not an array", path, typeString(f.typ))
			}
			if n >= uint64(arr.N) && arr.N != 0 {
				return nil, fmt.Errorf("%q: index %d out of range (%s has %d elements)", path, n, typeString(f.typ), arr.N)
			}
			f.access = append(f.access, int(n))
			f.bitOff += 8 * n * uint64(arr.Elem.Size())
			f.typ = arr.Elem
			rest = rest[end+1:]
			first = false
			continue
		}
		if !first {
			if rest[0] != '.' {
				return nil, fmt.Errorf("%q: want . or [ before %q", path, rest)
			}
			rest = rest[1:]
		}
		first = false
		end := strings.IndexAny(rest, ".[")
		if end < 0 {
			end = len(rest)
		}
		name := rest[:end]
		rest = rest[end:]
		if name == "" {
			return nil, fmt.Errorf("%q: empty member name", path)
		}
		if f.bits != 0 {
			return nil, fmt.Errorf("%q: a bitfield has no members", path)
		}
		if _, _, ok := btf.Members(f.typ); !ok {
			if _, isFwd := btf.Resolve(f.typ).(*btf.Fwd); isFwd {
				return nil, fmt.Errorf("%q: %s is only declared (a forward declaration), its members are unknown", path, typeString(btf.Resolve(f.typ)))
			}
			return nil, fmt.Errorf("%q: %s is not a struct or union: it has no member %q", path, typeString(f.typ), name)
		}
		steps, ok := findMember(f.typ, name, 0)
		if !ok {
			return nil, fmt.Errorf("%q: %s has no member %q (members: %s)", path, typeString(btf.Resolve(f.typ)), name, strings.Join(memberNames(f.typ), " "))
		}
		for _, s := range steps {
			fields, offs, _ := btf.Members(f.typ)
			f.access = append(f.access, s)
			f.bitOff += offs[s]
			f.bits = fields[s].Bits
			f.typ = fields[s].Type
		}
	}
	// The load that holds the member, as libbpf's
	// bpf_core_calc_field_relo computes it.
	r := btf.Resolve(f.typ)
	switch r := r.(type) {
	case *btf.Int:
		f.signed = r.Encoding == btf.IntSigned
	case *btf.Enum:
		f.signed = r.Signed
	}
	size := uint64(r.Size())
	if f.bits == 0 {
		f.byteOff, f.byteSize = f.bitOff/8, uint32(size)
		if size <= 8 {
			f.lshift = uint32(64 - 8*size)
			f.rshift = f.lshift
		}
		return f, nil
	}
	bs := max(size, 1)
	bo := f.bitOff / 8 / bs * bs
	for f.bitOff+uint64(f.bits)-8*bo > 8*bs {
		if bs >= 8 {
			return nil, fmt.Errorf("%q: a bitfield that no 64-bit load holds", path)
		}
		bs *= 2
		bo = f.bitOff / 8 / bs * bs
	}
	f.byteOff, f.byteSize = bo, uint32(bs)
	f.lshift = uint32(64 - (f.bitOff + uint64(f.bits) - 8*bo))
	f.rshift = 64 - f.bits
	return f, nil
}

// findMember returns the indexes that lead to member name of struct or
// union t: one, or more through anonymous members.
func findMember(t btf.Type, name string, depth int) ([]int, bool) {
	fields, _, ok := btf.Members(t)
	if !ok || depth > 64 {
		return nil, false
	}
	for i, f := range fields {
		if f.Name == name {
			return []int{i}, true
		}
	}
	for i, f := range fields {
		if f.Name == "" {
			if rest, ok := findMember(f.Type, name, depth+1); ok {
				return append([]int{i}, rest...), true
			}
		}
	}
	return nil, false
}

// coreInsn returns an instruction with a CO-RE relocation.
func (u *unit) coreInsn(thread *starlark.Thread, b *starlark.Builtin, ins isa.Instruction, r *link.CoreRelo) (starlark.Value, error) {
	if err := ins.Validate(); err != nil {
		return nil, errorf(b, "%v", err)
	}
	return u.alloc.newMetaInsn(ins, nil, func(m asm.Metadata) asm.Metadata { return link.WithCoreRelo(m, r) }, thread.CallFrame(1).Pos), nil
}

// coreRoot checks that t can be the root of a field access.
func coreRoot(b *starlark.Builtin, t *CType) error {
	if _, _, ok := btf.Members(t.BTF()); !ok {
		return errorf(b, "%s is not a struct or union", typeString(t.BTF()))
	}
	return nil
}

// coreMember checks that t is a struct or union and resolves path in it.
func coreMember(b *starlark.Builtin, t *CType, path string) (*coreField, error) {
	if err := coreRoot(b, t); err != nil {
		return nil, err
	}
	f, err := resolveField(t.BTF(), path)
	if err != nil {
		return nil, errorf(b, "%v", err)
	}
	return f, nil
}

// coreLdx is core.ldx(dst, src, t, path): dst = the member at path of the
// t that src points at, loaded with its size, at an offset the loaders
// relocate (FIELD_BYTE_OFFSET).
func (u *unit) coreLdx(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dst, src regArg
	var t *CType
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "src", &src, "t", &t, "path", &path); err != nil {
		return nil, err
	}
	f, err := coreMember(b, t, path)
	if err != nil {
		return nil, err
	}
	size, err := loadSize(f, path)
	if err != nil {
		return nil, errorf(b, "%v", err)
	}
	if f.byteOff > math.MaxInt16 {
		return nil, errorf(b, "%q is at byte %d, past a load's offset (32767): use core.read", path, f.byteOff)
	}
	ins := isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, size), Dst: dst.r, Src: src.r, Off: int16(f.byteOff)}
	return u.coreInsn(thread, b, ins, &link.CoreRelo{Kind: btf.CoreFieldByteOffset, Type: t.BTF(), Access: f.access})
}

// loadSize returns the size of a load of member f: an integer, enum or
// pointer of 1, 2, 4 or 8 bytes.
func loadSize(f *coreField, path string) (isa.Size, error) {
	if f.bits != 0 {
		return 0, fmt.Errorf("%q is a bitfield: load its field_size bytes at field_offset and shift it by field_lshift and field_rshift", path)
	}
	switch btf.Resolve(f.typ).(type) {
	case *btf.Int, *btf.Enum, *btf.Ptr:
	default:
		return 0, fmt.Errorf("%q is %s, not an integer, enum or pointer", path, typeString(f.typ))
	}
	switch f.byteSize {
	case 1:
		return isa.SizeB, nil
	case 2:
		return isa.SizeH, nil
	case 4:
		return isa.SizeW, nil
	case 8:
		return isa.SizeDW, nil
	}
	return 0, fmt.Errorf("%q is %d bytes, not 1, 2, 4 or 8", path, f.byteSize)
}

// coreField is core.field_offset(dst, t, path) and the other field kinds:
// dst = the value of kind for the member at path, as a mov64 of an
// immediate.
func (u *unit) coreField(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, kind btf.CoreReloKind) (starlark.Value, error) {
	var dst regArg
	var t *CType
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "t", &t, "path", &path); err != nil {
		return nil, err
	}
	f, err := coreMember(b, t, path)
	if err != nil {
		return nil, err
	}
	if (kind == btf.CoreFieldLShiftU64 || kind == btf.CoreFieldRShiftU64) && f.byteSize > 8 {
		// libbpf's shift would be negative: both loaders refuse it, and
		// clang-19 refuses to make it ("too big field size").
		return nil, errorf(b, "%q is %s of %d bytes: the shifts extract a member of at most 8", path, typeString(f.typ), f.byteSize)
	}
	var v uint64
	switch kind {
	case btf.CoreFieldByteOffset:
		v = f.byteOff
	case btf.CoreFieldByteSize:
		v = uint64(f.byteSize)
	case btf.CoreFieldExists:
		v = 1
	case btf.CoreFieldSigned:
		if f.signed {
			v = 1
		}
	case btf.CoreFieldLShiftU64:
		v = uint64(f.lshift)
	case btf.CoreFieldRShiftU64:
		v = uint64(f.rshift)
	}
	if v > math.MaxInt32 {
		return nil, errorf(b, "%q: %d does not fit in an immediate", path, v)
	}
	ins := isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcK), Dst: dst.r, Imm: int64(v)}
	return u.coreInsn(thread, b, ins, &link.CoreRelo{Kind: kind, Type: t.BTF(), Access: f.access})
}

// coreType is core.type_size(dst, t) and the other type kinds.
func (u *unit) coreType(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, kind btf.CoreReloKind) (starlark.Value, error) {
	var dst regArg
	var t *CType
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "t", &t); err != nil {
		return nil, err
	}
	if t.BTF() == nil {
		return nil, errorf(b, "void has no CO-RE relocations")
	}
	var v int64
	switch kind {
	case btf.CoreTypeExists, btf.CoreTypeMatches:
		v = 1
	case btf.CoreTypeSize:
		v = int64(t.BTF().Size())
		if v > math.MaxInt32 {
			return nil, errorf(b, "%s: %d bytes do not fit in an immediate", typeString(t.BTF()), v)
		}
	}
	// The type IDs are the linker's to fill in.
	ins := isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcK), Dst: dst.r, Imm: v}
	return u.coreInsn(thread, b, ins, &link.CoreRelo{Kind: kind, Type: t.BTF(), Access: []int{0}})
}

// coreEnum is core.enum_value(dst, t, name) and core.enum_exists.
func (u *unit) coreEnum(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, kind btf.CoreReloKind) (starlark.Value, error) {
	var dst regArg
	var t *CType
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "t", &t, "name", &name); err != nil {
		return nil, err
	}
	e, ok := btf.Resolve(t.BTF()).(*btf.Enum)
	if !ok {
		return nil, errorf(b, "%s is not an enum", typeString(t.BTF()))
	}
	idx := -1
	var names []string
	for i, v := range e.Values {
		if v.Name == name {
			idx = i
		}
		names = append(names, v.Name)
	}
	if idx < 0 {
		return nil, errorf(b, "%s has no enumerator %q (enumerators: %s)", typeString(e), name, strings.Join(names, " "))
	}
	r := &link.CoreRelo{Kind: kind, Type: t.BTF(), Access: []int{idx}}
	if kind == btf.CoreEnumvalExists {
		return u.coreInsn(thread, b, isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcK), Dst: dst.r, Imm: 1}, r)
	}
	v := int64(e.Values[idx].Value)
	if !e.Signed && e.Bytes < 8 {
		v = int64(e.Values[idx].Value & (1<<(8*e.Bytes) - 1))
	}
	if e.Signed && e.Bytes == 4 {
		v = int64(int32(e.Values[idx].Value))
	}
	// A 64-bit load, as clang makes it: the kernel's value may not fit
	// an ALU immediate, whose patch cilium/ebpf refuses beyond MaxInt32
	// (an enum64's 0xfffffffffffffe00, even where the mov's -0x200 would
	// give it).
	return u.coreInsn(thread, b, isa.Instruction{Op: isa.OpLoadImm64, Dst: dst.r, Imm: v}, r)
}

// coreRead is core.read(dst, src, t, path, stack = -8): what libbpf's
// BPF_CORE_READ does. path is member paths joined by "->", each step but
// the last a pointer ("real_parent->tgid"); every step is read with
// bpf_probe_read_kernel into the 8 bytes at fp + stack, from an address
// relocated with FIELD_BYTE_OFFSET, and dst gets the last member (0 when
// a read fails: the helper zeroes what it cannot read). It clobbers r0-r5,
// as the helper call does; src may be any register but r10.
func (u *unit) coreRead(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var dst, src regArg
	var t *CType
	var path string
	stack := intArg{v: -8, u: math.MaxUint64 - 7, neg: true}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "src", &src, "t", &t, "path", &path, "stack?", &stack); err != nil {
		return nil, err
	}
	if !stack.neg || stack.v < -512 || stack.v%8 != 0 {
		return nil, errorf(b, "stack %s: want a multiple of 8 from -512 to -8 (an 8-byte slot below fp)", stack.String())
	}
	if src.r == isa.R10 {
		return nil, errorf(b, "src is the frame pointer")
	}
	if err := coreRoot(b, t); err != nil {
		return nil, err
	}
	probe, _ := helper.Lookup("bpf_probe_read_kernel")
	steps := strings.Split(path, "->")
	root := t.BTF()
	var out starlark.Tuple
	emit := func(ins isa.Instruction, r *link.CoreRelo) error {
		if err := ins.Validate(); err != nil {
			return errorf(b, "%v", err)
		}
		if r != nil {
			out = append(out, u.alloc.newMetaInsn(ins, nil, func(m asm.Metadata) asm.Metadata { return link.WithCoreRelo(m, r) }, thread.CallFrame(1).Pos))
		} else {
			out = append(out, u.alloc.newInsn(ins, "", nil, thread.CallFrame(1).Pos))
		}
		return nil
	}
	movReg := func(d, s isa.Register) isa.Instruction {
		return isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(isa.ALUMov), isa.SrcX), Dst: d, Src: s}
	}
	aluImm := func(op isa.ALUOp, d isa.Register, v int64) isa.Instruction {
		return isa.Instruction{Op: isa.Op(isa.ClassALU64, uint8(op), isa.SrcK), Dst: d, Imm: v}
	}
	from := src.r
	for i, step := range steps {
		f, err := resolveField(root, step)
		if err != nil {
			return nil, errorf(b, "step %d of %q: %v", i+1, path, err)
		}
		size, err := loadSize(f, step)
		if err != nil {
			return nil, errorf(b, "step %d of %q: %v", i+1, path, err)
		}
		if f.byteOff > math.MaxInt32 {
			return nil, errorf(b, "step %d of %q: offset %d does not fit in an immediate", i+1, path, f.byteOff)
		}
		r := &link.CoreRelo{Kind: btf.CoreFieldByteOffset, Type: root, Access: f.access}
		// r3 = from + offset; r1 = fp + stack; r2 = size; call.
		if from != isa.R3 {
			if err := emit(movReg(isa.R3, from), nil); err != nil {
				return nil, err
			}
		}
		if err := emit(aluImm(isa.ALUAdd, isa.R3, int64(f.byteOff)), r); err != nil {
			return nil, err
		}
		if err := emit(movReg(isa.R1, isa.R10), nil); err != nil {
			return nil, err
		}
		if err := emit(aluImm(isa.ALUAdd, isa.R1, stack.v), nil); err != nil {
			return nil, err
		}
		if err := emit(aluImm(isa.ALUMov, isa.R2, int64(f.byteSize)), nil); err != nil {
			return nil, err
		}
		if err := emit(isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Imm: int64(probe.ID)}, nil); err != nil {
			return nil, err
		}
		if i == len(steps)-1 {
			if err := emit(isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, size), Dst: dst.r, Src: isa.R10, Off: int16(stack.v)}, nil); err != nil {
				return nil, err
			}
			break
		}
		ptr, ok := btf.Resolve(f.typ).(*btf.Ptr)
		if !ok {
			return nil, errorf(b, "step %d of %q: %q is %s, not a pointer to follow", i+1, path, step, typeString(f.typ))
		}
		next, err := u.deref(ptr.Target)
		if err != nil {
			return nil, errorf(b, "step %d of %q: %v", i+1, path, err)
		}
		if _, _, ok := btf.Members(next); !ok {
			return nil, errorf(b, "step %d of %q: %q points at %s, not a struct or union", i+1, path, step, typeString(ptr.Target))
		}
		// The next root is the type the pointer points at, a typedef
		// kept (pgd_t *: the loaders find a typedef of an anonymous
		// struct by its name); link drops its qualifiers.
		root = next
		if err := emit(isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, isa.SizeDW), Dst: isa.R3, Src: isa.R10, Off: int16(stack.v)}, nil); err != nil {
			return nil, err
		}
		from = isa.R3
	}
	return out, nil
}
