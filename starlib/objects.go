package starlib

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/link"
	"github.com/bpfstar/bpfstar/maptype"
)

// MapTypeNames returns the kernel's map type names that bpf_map() knows
// (enum bpf_map_type without the BPF_MAP_TYPE_ prefix, lower case), sorted:
// those of package maptype's table.
func MapTypeNames() []string { return maptype.Names() }

// Map flags the rules below refer to.
const (
	flagNoPrealloc = 1 << 0  // BPF_F_NO_PREALLOC
	flagMmapable   = 1 << 10 // BPF_F_MMAPABLE
)

// checkMap applies the kernel's rules for the map type to a definition.
func checkMap(m *link.Map) error {
	must := func(what string, got, want uint32) error {
		if got != want {
			return fmt.Errorf("%s maps need %s = %d, not %d", m.Type, what, want, got)
		}
		return nil
	}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch m.Type {
	case "arena":
		add(must("key_size", m.KeySize, 0))
		add(must("value_size", m.ValueSize, 0))
		if m.Flags&flagMmapable == 0 {
			add(fmt.Errorf("arena maps need flags to include BPF_F_MMAPABLE (1024)"))
		}
		if m.MapExtra == 0 || m.MapExtra%4096 != 0 {
			add(fmt.Errorf("arena maps need map_extra = the page-aligned user address of the arena, not %d (the loaders do not mmap arenas)", m.MapExtra))
		}
	case "struct_ops":
		return fmt.Errorf("declare struct_ops maps with struct_ops(name, type, members), not bpf_map")
	case "array_of_maps", "hash_of_maps":
		if m.Type == "array_of_maps" {
			add(must("key_size", m.KeySize, 4))
		}
		add(must("value_size", m.ValueSize, 4))
	case "ringbuf", "user_ringbuf":
		add(must("key_size", m.KeySize, 0))
		add(must("value_size", m.ValueSize, 0))
		if n := m.MaxEntries; n == 0 || n&(n-1) != 0 || n%4096 != 0 {
			add(fmt.Errorf("%s maps need max_entries to be a power of 2 and a multiple of the page size (4096), not %d", m.Type, n))
		}
	case "array", "percpu_array":
		add(must("key_size", m.KeySize, 4))
	case "prog_array", "perf_event_array", "cgroup_array", "devmap", "cpumap", "xskmap", "sockmap", "reuseport_sockarray":
		add(must("key_size", m.KeySize, 4))
		if m.Type == "prog_array" || m.Type == "cgroup_array" || m.Type == "xskmap" || m.Type == "perf_event_array" {
			add(must("value_size", m.ValueSize, 4))
		}
	case "queue", "stack", "bloom_filter":
		add(must("key_size", m.KeySize, 0))
	case "lpm_trie":
		if m.Flags&flagNoPrealloc == 0 {
			add(fmt.Errorf("lpm_trie maps need flags to include BPF_F_NO_PREALLOC (1)"))
		}
	case "sk_storage", "inode_storage", "task_storage", "cgrp_storage":
		add(must("key_size", m.KeySize, 4))
		add(must("max_entries", m.MaxEntries, 0))
		if m.Flags&flagNoPrealloc == 0 {
			add(fmt.Errorf("%s maps need flags to include BPF_F_NO_PREALLOC (1)", m.Type))
		}
	case "cgroup_storage", "percpu_cgroup_storage":
		add(must("max_entries", m.MaxEntries, 0))
	}
	switch m.Type {
	case "ringbuf", "user_ringbuf", "perf_event_array", "sk_storage", "inode_storage", "task_storage", "cgrp_storage", "cgroup_storage", "percpu_cgroup_storage":
	default:
		if m.MaxEntries == 0 {
			add(fmt.Errorf("max_entries must be greater than 0"))
		}
	}
	switch m.Type {
	case "ringbuf", "user_ringbuf", "arena", "queue", "stack", "bloom_filter", "perf_event_array", "prog_array", "cgroup_array":
	default:
		if m.ValueSize == 0 {
			add(fmt.Errorf("value_size must be greater than 0"))
		}
		if m.KeySize == 0 && m.Type != "cgroup_storage" && m.Type != "percpu_cgroup_storage" {
			add(fmt.Errorf("key_size must be greater than 0"))
		}
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// MapHandle is the Starlark value bpf_map() returns. The zero MapHandle
// stands for a map with no name.
type MapHandle struct{ m *link.Map }

// def returns the map's definition (an empty one for the zero handle).
func (h *MapHandle) def() *link.Map {
	if h == nil || h.m == nil {
		return &link.Map{}
	}
	return h.m
}

func (h *MapHandle) String() string {
	return fmt.Sprintf("bpf_map(%q, %q)", h.def().Name, h.def().Type)
}
func (h *MapHandle) Type() string          { return "bpf_map" }
func (h *MapHandle) Freeze()               {}
func (h *MapHandle) Truth() starlark.Bool  { return true }
func (h *MapHandle) Hash() (uint32, error) { return starlark.String(h.def().Name).Hash() }

// Attr exposes the definition: h.name, h.key_size, ...
func (h *MapHandle) Attr(name string) (starlark.Value, error) {
	m := h.def()
	switch name {
	case "name":
		return starlark.String(m.Name), nil
	case "type":
		return starlark.String(m.Type), nil
	case "key_size":
		return starlark.MakeUint(uint(m.KeySize)), nil
	case "value_size":
		return starlark.MakeUint(uint(m.ValueSize)), nil
	case "max_entries":
		return starlark.MakeUint(uint(m.MaxEntries)), nil
	case "flags":
		return starlark.MakeUint(uint(m.Flags)), nil
	}
	return nil, nil
}

// AttrNames lists the attributes of a map handle.
func (h *MapHandle) AttrNames() []string {
	return []string{"flags", "key_size", "max_entries", "name", "type", "value_size"}
}

// GlobalHandle is the Starlark value rodata(), data() and bss() return.
// The zero GlobalHandle stands for a global with no name.
type GlobalHandle struct{ g *link.Global }

// def returns the variable (an empty one for the zero handle).
func (h *GlobalHandle) def() *link.Global {
	if h == nil || h.g == nil {
		return &link.Global{}
	}
	return h.g
}

func (h *GlobalHandle) String() string {
	return fmt.Sprintf("%s(%q)", strings.TrimPrefix(h.def().Section, "."), h.def().Name)
}
func (h *GlobalHandle) Type() string          { return "global" }
func (h *GlobalHandle) Freeze()               {}
func (h *GlobalHandle) Truth() starlark.Bool  { return true }
func (h *GlobalHandle) Hash() (uint32, error) { return starlark.String(h.def().Name).Hash() }

// Attr exposes the variable: h.name, h.section, h.size.
func (h *GlobalHandle) Attr(name string) (starlark.Value, error) {
	g := h.def()
	switch name {
	case "name":
		return starlark.String(g.Name), nil
	case "section":
		return starlark.String(g.Section), nil
	case "size":
		return starlark.MakeUint(uint(g.Size)), nil
	}
	return nil, nil
}

// AttrNames lists the attributes of a global handle.
func (h *GlobalHandle) AttrNames() []string { return []string{"name", "section", "size"} }

// ProgHandle is the Starlark value section() returns: a program, which a
// prog_array's values may hold.
type ProgHandle struct{ section, symbol string }

func (h *ProgHandle) String() string        { return fmt.Sprintf("section(%q, %q)", h.section, h.symbol) }
func (h *ProgHandle) Type() string          { return "program" }
func (h *ProgHandle) Freeze()               {}
func (h *ProgHandle) Truth() starlark.Bool  { return true }
func (h *ProgHandle) Hash() (uint32, error) { return starlark.String(h.symbol).Hash() }

// Attr exposes the program: h.name (its symbol), h.section.
func (h *ProgHandle) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(h.symbol), nil
	case "section":
		return starlark.String(h.section), nil
	}
	return nil, nil
}

// AttrNames lists the attributes of a program handle.
func (h *ProgHandle) AttrNames() []string { return []string{"name", "section"} }

// FuncHandle is the Starlark value function() returns.
type FuncHandle struct{ name string }

func (h *FuncHandle) String() string        { return fmt.Sprintf("function(%q)", h.name) }
func (h *FuncHandle) Type() string          { return "function" }
func (h *FuncHandle) Freeze()               {}
func (h *FuncHandle) Truth() starlark.Bool  { return true }
func (h *FuncHandle) Hash() (uint32, error) { return starlark.String(h.name).Hash() }

// claim reserves an ELF symbol name for a program, function, map or global.
func (u *unit) claim(b *starlark.Builtin, name, what string, pos asm.Pos) error {
	if !identRE.MatchString(name) || strings.Contains(name, ".") {
		return errorf(b, "%s name %q is not an identifier ([A-Za-z_][A-Za-z0-9_]*)", what, name)
	}
	if prev, dup := u.symbols[name]; dup {
		return errorf(b, "duplicate symbol %q (first defined at %v)", name, prev)
	}
	u.symbols[name] = pos
	return nil
}

func (u *unit) bpfMap(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, typ string
	var flags, extra intArg
	var key, value, max optSize // key_size and value_size may be left out where they are 0
	var keyT, valueT *CType
	var values starlark.Value = starlark.None
	var inner *MapHandle
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "type", &typ, "key_size?", &key, "value_size?", &value, "max_entries?", &max, "flags?", &flags, "map_extra?", &extra, "key?", &keyT, "value?", &valueT, "values?", &values, "inner?", &inner); err != nil {
		return nil, err
	}
	mapOfMaps := typ == "array_of_maps" || typ == "hash_of_maps"
	switch {
	case mapOfMaps && inner == nil:
		return nil, errorf(b, "map %q: %s maps need inner = a map whose definition is the template of their inner maps", name, typ)
	case !mapOfMaps && inner != nil:
		return nil, errorf(b, "map %q: inner is for array_of_maps and hash_of_maps maps, not %s", name, typ)
	case mapOfMaps && !value.set && valueT == nil:
		// The value of a map of maps is a map's fd or id: 4 bytes.
		value = optSize{intArg{v: 4, u: 4}, true}
	}
	// The types key and value stand for key_size and value_size, their
	// sizes.
	for _, p := range []struct {
		sized string
		typ   *CType
		size  *optSize
	}{{"key_size", keyT, &key}, {"value_size", valueT, &value}} {
		if p.typ == nil {
			continue
		}
		if p.size.set {
			return nil, errorf(b, "give %s or %s, not both", strings.TrimSuffix(p.sized, "_size"), p.sized)
		}
		size := p.typ.BTF().Size()
		if size == 0 {
			return nil, errorf(b, "%s: type %s has no size", strings.TrimSuffix(p.sized, "_size"), typeString(p.typ.BTF()))
		}
		*p.size = optSize{intArg{v: int64(size), u: uint64(size)}, true}
	}
	id, ok := maptype.Lookup(typ)
	if !ok {
		return nil, errorf(b, "unknown map type %q (want one of %s)", typ, strings.Join(MapTypeNames(), " "))
	}
	if err := checkSizes(b, name, typ, key, value, max); err != nil {
		return nil, err
	}
	m := &link.Map{Name: name, Type: typ, TypeID: id, Key: keyT.BTF(), Value: valueT.BTF(), Pos: callerPos(thread)}
	for _, f := range []struct {
		name string
		v    intArg
		dst  *uint32
	}{{"key_size", key.intArg, &m.KeySize}, {"value_size", value.intArg, &m.ValueSize}, {"max_entries", max.intArg, &m.MaxEntries}, {"flags", flags, &m.Flags}, {"map_extra", extra, &m.MapExtra}} {
		if !f.v.in(0, math.MaxUint32) {
			return nil, errorf(b, "%s %s out of range (0-4294967295)", f.name, f.v.String())
		}
		*f.dst = uint32(f.v.u)
	}
	if inner != nil {
		m.Inner = inner.def()
		if m.Inner.HasValues() {
			return nil, errorf(b, "map %q: inner map %q holds maps or programs itself: the kernel does not nest maps of maps", name, m.Inner.Name)
		}
		switch t := m.Inner.Type; t {
		case "prog_array", "cgroup_storage", "percpu_cgroup_storage":
			// The kernel refuses them as inner maps (EOPNOTSUPP; tested
			// with every map type).
			return nil, errorf(b, "map %q: inner map %q is a %s map, which the kernel does not put in maps of maps", name, m.Inner.Name, t)
		}
	}
	if err := checkMap(m); err != nil {
		return nil, errorf(b, "map %q: %v", name, err)
	}
	if values != starlark.None {
		if err := mapValues(m, values); err != nil {
			return nil, errorf(b, "map %q: values: %v", name, err)
		}
	}
	if err := u.claim(b, name, "map", m.Pos); err != nil {
		return nil, err
	}
	if err := u.claimKernelName(b, "map", name, m.Pos); err != nil {
		return nil, err
	}
	u.Maps = append(u.Maps, m)
	return &MapHandle{m}, nil
}

// mapValues sets the initial contents of a prog_array (programs, by
// handle or symbol name) or of a map of maps (map handles like its inner
// template): entry i at key i, None for none. The loaders read such
// contents (.values) for those types only.
func mapValues(m *link.Map, values starlark.Value) error {
	seq, ok := values.(starlark.Indexable)
	if _, isStr := values.(starlark.String); !ok || isStr {
		return fmt.Errorf("got %s, want list", values.Type())
	}
	switch m.Type {
	case "prog_array", "array_of_maps", "hash_of_maps":
	default:
		return fmt.Errorf("libbpf and cilium/ebpf fill only prog_array, array_of_maps and hash_of_maps maps from an object (their .values are programs and maps, not data): write the contents of %s maps from user space, or use a global (data(), rodata())", m.Type)
	}
	if m.Type == "hash_of_maps" && m.KeySize != 4 {
		return fmt.Errorf("the loaders put values[i] at key i, a 4-byte int: key_size must be 4, not %d", m.KeySize)
	}
	n := seq.Len()
	if uint64(n) > uint64(m.MaxEntries) {
		return fmt.Errorf("%d entries, more than max_entries (%d)", n, m.MaxEntries)
	}
	m.Values = make([]string, n)
	for i := range n {
		v := seq.Index(i)
		switch v := v.(type) {
		case starlark.NoneType:
			continue
		case *ProgHandle:
			if m.Type == "prog_array" {
				m.Values[i] = v.symbol
				continue
			}
		case starlark.String:
			if m.Type == "prog_array" {
				m.Values[i] = string(v) // a program, found when the unit is linked
				continue
			}
		case *MapHandle:
			if m.Inner != nil {
				in, t := v.def(), m.Inner
				if in.Values != nil || in.Inner != nil {
					return fmt.Errorf("[%d]: map %q holds maps or programs itself: the kernel does not nest maps of maps", i, in.Name)
				}
				if in.Type != t.Type || in.KeySize != t.KeySize || in.ValueSize != t.ValueSize || in.Flags != t.Flags || in.MaxEntries != t.MaxEntries {
					return fmt.Errorf("[%d]: map %q (%s, key_size %d, value_size %d, max_entries %d, flags %d) is not like the inner template %q (%s, key_size %d, value_size %d, max_entries %d, flags %d): the kernel refuses it", i, in.Name, in.Type, in.KeySize, in.ValueSize, in.MaxEntries, in.Flags, t.Name, t.Type, t.KeySize, t.ValueSize, t.MaxEntries, t.Flags)
				}
				m.Values[i] = in.Name
				continue
			}
		}
		if m.Type == "prog_array" {
			return fmt.Errorf("[%d]: got %s, want a program (the value of section(), or its symbol name) or None", i, v.Type())
		}
		return fmt.Errorf("[%d]: got %s, want a bpf_map like the inner template, or None", i, v.Type())
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// given reports whether a call passed the parameter name, the i-th.
func given(args starlark.Tuple, kwargs []starlark.Tuple, i int, name string) bool {
	if i < len(args) {
		return true
	}
	for _, kv := range kwargs {
		if k, ok := kv[0].(starlark.String); ok && string(k) == name {
			return true
		}
	}
	return false
}

// global implements rodata(), data() and bss().
func (u *unit) global(sec string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		g := &link.Global{Section: sec, Pos: callerPos(thread)}
		var size starlark.Value = starlark.None
		var value starlark.Value
		var typ *CType
		// type is keyword-only: bss takes 2 arguments by position,
		// rodata and data 3.
		if positional := 3 - btoi(sec == ".bss"); len(args) > positional {
			return nil, errorf(b, "got %d arguments, want at most %d", len(args), positional)
		}
		if sec == ".bss" {
			var n intArg
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &g.Name, "size?", &n, "type?", &typ); err != nil {
				return nil, err
			}
			switch has := given(args, kwargs, 1, "size"); {
			case has && typ != nil:
				return nil, errorf(b, "give size or type, not both")
			case typ != nil:
				g.Size = typ.BTF().Size()
			case !has:
				return nil, errorf(b, "missing argument for size")
			case !n.in(1, 1<<28):
				return nil, errorf(b, "size %s out of range (1-%d)", n.String(), 1<<28)
			default:
				g.Size = uint32(n.u)
			}
		} else {
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &g.Name, "value", &value, "size?", &size, "type?", &typ); err != nil {
				return nil, err
			}
			var err error
			if typ == nil {
				err = setValue(g, value, size)
			} else if size != starlark.None {
				err = fmt.Errorf("give size or type, not both")
			} else {
				g.Size = typ.BTF().Size()
				if g.Size > 0 && g.Size <= 1<<28 {
					g.Data, err = encodeValue(typ.BTF(), value)
				}
			}
			if err != nil {
				return nil, errorf(b, "%s %q: %v", strings.TrimPrefix(sec, "."), g.Name, err)
			}
		}
		g.Align = 8
		for _, a := range []uint32{1, 2, 4} {
			if g.Size <= a {
				g.Align = a
				break
			}
		}
		if typ != nil {
			g.Type = typ.BTF()
			g.Align = max(g.Type.Align(), 1)
			if g.Size == 0 || g.Size > 1<<28 {
				return nil, errorf(b, "%s %q: type %s of %d bytes, want 1-%d", strings.TrimPrefix(sec, "."), g.Name, typeString(g.Type), g.Size, 1<<28)
			}
			if f := specialField(g.Type, 0); f != "" {
				return nil, errorf(b, "%s %q: type %s holds a %s, which the kernel allows in map values but not in global data (the loaders memory-map it): put it in a bpf_map's value", strings.TrimPrefix(sec, "."), g.Name, typeString(g.Type), f)
			}
		}
		if err := u.claim(b, g.Name, "global", g.Pos); err != nil {
			return nil, err
		}
		if u.globalSize+int(g.Size) > MaxGlobalBytes {
			return nil, errorf(b, "the globals of this file would take %d bytes, more than %d", u.globalSize+int(g.Size), MaxGlobalBytes)
		}
		u.globalSize += int(g.Size)
		u.Globals = append(u.Globals, g)
		return &GlobalHandle{g}, nil
	}
}

func setValue(g *link.Global, value, size starlark.Value) error {
	var n int64 = -1
	if size != starlark.None {
		i, ok := size.(starlark.Int)
		if !ok {
			return fmt.Errorf("for parameter size: got %s, want int", size.Type())
		}
		n, ok = i.Int64()
		if !ok || n <= 0 || n > 1<<28 {
			return fmt.Errorf("size %v out of range (1-%d)", i, 1<<28)
		}
	}
	switch v := value.(type) {
	case starlark.Int:
		if n == -1 {
			n = 8
		}
		if n != 1 && n != 2 && n != 4 && n != 8 {
			return fmt.Errorf("an int value needs size 1, 2, 4 or 8, not %d", n)
		}
		var a intArg
		if err := a.Unpack(v); err != nil {
			return err
		}
		bits := uint(8 * n)
		if !a.in(-1<<(bits-1), math.MaxUint64>>(64-bits)) {
			return fmt.Errorf("value %s does not fit in %d bytes", a.String(), n)
		}
		g.Data = binary.LittleEndian.AppendUint64(nil, a.u)[:n]
		g.IsInt = true
	case starlark.Bytes:
		if len(v) == 0 {
			return fmt.Errorf("empty bytes value")
		}
		if n == -1 {
			n = int64(len(v))
		}
		if int64(len(v)) > n {
			return fmt.Errorf("value of %d bytes does not fit in size %d", len(v), n)
		}
		g.Data = make([]byte, n)
		copy(g.Data, v)
	default:
		return fmt.Errorf("for parameter value: got %s, want int or bytes", value.Type())
	}
	g.Size = uint32(n)
	return nil
}

func (u *unit) function(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var insns starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "insns", &insns); err != nil {
		return nil, err
	}
	pos := callerPos(thread)
	if err := u.claim(b, name, "function", pos); err != nil {
		return nil, err
	}
	p := asm.Program{Section: ".text", Symbol: name, Pos: pos}
	n, err := u.checkSize(b, fmt.Sprintf("function %q", name), insns)
	if err != nil {
		return nil, err
	}
	if path, msg := u.flatten(&p, insns, n); msg != "" {
		return nil, errorf(b, "insns%s: %s", path, msg)
	}
	u.Functions = append(u.Functions, p)
	return &FuncHandle{name}, nil
}

func ldMapFD(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, error) {
	var dst regArg
	var m *MapHandle
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "map", &m); err != nil {
		return isa.Instruction{}, asm.Ref{}, err
	}
	return isa.Instruction{Op: isa.OpLoadImm64, Dst: dst.r}, asm.Ref{Kind: asm.RefMap, Name: m.m.Name}, nil
}

func ldMapValue(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, error) {
	var dst regArg
	var v starlark.Value
	var off intArg
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "global", &v, "off?", &off); err != nil {
		return isa.Instruction{}, asm.Ref{}, err
	}
	var g *link.Global
	switch v := v.(type) {
	case *GlobalHandle:
		g = v.g
	case *MapHandle:
		return isa.Instruction{}, asm.Ref{}, errorf(b, "for parameter global: got bpf_map %q, want global: a map's value is reached through insn.ld_map_fd and the map_lookup_elem helper (the loaders do not relocate direct map-value loads of .maps maps)", v.m.Name)
	default:
		return isa.Instruction{}, asm.Ref{}, errorf(b, "for parameter global: got %s, want global (from rodata, data or bss)", v.Type())
	}
	if !off.in(0, uint64(g.Size)-1) {
		return isa.Instruction{}, asm.Ref{}, errorf(b, "offset %s lies outside %q (%d bytes)", off.String(), g.Name, g.Size)
	}
	return isa.Instruction{Op: isa.OpLoadImm64, Dst: dst.r}, asm.Ref{Kind: asm.RefGlobal, Name: g.Name, Addend: off.v}, nil
}

// ldFunc is insn.ld_func(dst, function): dst = the address of a function,
// for the helpers that take a callback (bpf_loop, bpf_for_each_map_elem,
// bpf_timer_set_callback, ...).
func ldFunc(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, error) {
	var dst regArg
	var fn starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst", &dst, "function", &fn); err != nil {
		return isa.Instruction{}, asm.Ref{}, err
	}
	var name string
	switch fn := fn.(type) {
	case starlark.String:
		name = string(fn)
	case *FuncHandle:
		name = fn.name
	default:
		return isa.Instruction{}, asm.Ref{}, errorf(b, "for parameter function: got %s, want function name (string) or function", fn.Type())
	}
	return isa.Instruction{Op: isa.OpLoadImm64, Dst: dst.r}, asm.Ref{Kind: asm.RefFuncAddr, Name: name}, nil
}

func callFunc(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (isa.Instruction, asm.Ref, error) {
	var fn starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "function", &fn); err != nil {
		return isa.Instruction{}, asm.Ref{}, err
	}
	var name string
	switch fn := fn.(type) {
	case starlark.String:
		name = string(fn)
	case *FuncHandle:
		name = fn.name
	default:
		return isa.Instruction{}, asm.Ref{}, errorf(b, "for parameter function: got %s, want function name (string) or function", fn.Type())
	}
	return isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK), Src: isa.CallPseudo, Imm: -1}, asm.Ref{Kind: asm.RefFunc, Name: name}, nil
}
