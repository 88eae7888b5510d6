package starlib

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/link"
	"github.com/bpfstar/bpfstar/progtype"
)

// TestCase is a test() call: a run of one program with BPF_PROG_TEST_RUN
// and what it must give. Test cases never change the object.
type TestCase struct {
	Name    string
	Program string // the program's symbol
	Section string // its section, which gives the program type
	Pos     asm.Pos

	Data    []byte // packet data (nil: none given)
	HasData bool
	Ctx     []byte // the context, encoded (nil: none given)
	HasCtx  bool
	Maps    []MapEntry // map contents to set before the run

	WantRetval    uint32
	HasWantRetval bool
	WantData      []byte
	HasWantData   bool
	WantMaps      []MapEntry // map contents to check after the run
	// WantCtx is the context the run must leave (BPF_PROG_TEST_RUN's
	// ctx_out); where WantCtxMask is not nil, only its set bits are
	// compared (the fields a dict named).
	WantCtx     []byte
	WantCtxMask []byte
	HasWantCtx  bool
	// WantCtxFields are the members a want_ctx dict named, in its order,
	// for messages.
	WantCtxFields []CtxField

	Repeat int // runs (BPF_PROG_TEST_RUN's repeat), at least 1
}

// CtxField is a member of a context struct: its name and place.
type CtxField struct {
	Name      string
	Off, Size int // in bytes
}

// MapEntry is a key of a map with its value; a nil Value in a TestCase's
// WantMaps means the key must be absent.
type MapEntry struct {
	Map        string
	Key, Value []byte
}

// TakesData reports whether BPF_PROG_TEST_RUN runs programs of section
// on packet data (progtype.Def.TakesData): XDP, socket filter, tc
// classifier and action, cgroup_skb, lwt (but seg6local), flow dissector
// and netfilter programs.
func TakesData(section string) bool {
	d, ok := progtype.Lookup(section)
	return ok && d.TakesData()
}

// contextType returns the type of prog's context: the one it gave
// (section(ctx = t)), else its section's (link.ContextType), or nil.
func (u *unit) contextType(prog *asm.Program) btf.Type {
	if t := u.ContextTypes[prog.Symbol]; t != nil {
		return t
	}
	return link.ContextType(prog.Section)
}

// maxRepeat bounds test()'s repeat (BPF_PROG_TEST_RUN takes a u32).
const maxRepeat = 1_000_000_000

// test is the test() builtin.
func (u *unit) test(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, program string
	var data, ctx, maps, wantRetval, wantData, wantMaps, wantCtx starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
	repeat := 1
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "program", &program,
		"data?", &data, "ctx?", &ctx, "maps?", &maps, "want_retval?", &wantRetval,
		"want_data?", &wantData, "want_maps?", &wantMaps, "repeat?", &repeat, "want_ctx?", &wantCtx); err != nil {
		return nil, err
	}
	if name == "" || strings.ContainsAny(name, "\x00\n\r") {
		return nil, errorf(b, "name must be a non-empty string on one line, not %q", name)
	}
	for _, t := range u.Tests {
		if t.Name == name {
			return nil, errorf(b, "test %q already declared at %v", name, t.Pos)
		}
	}
	tc := TestCase{Name: name, Program: program, Pos: callerPos(thread), Repeat: repeat}
	var prog *asm.Program
	for i := range u.Programs {
		if u.Programs[i].Symbol == program {
			prog = &u.Programs[i]
		}
	}
	if prog == nil {
		var names []string
		for _, p := range u.Programs {
			names = append(names, p.Symbol)
		}
		msg := fmt.Sprintf("no program %q is declared (before this call)", program)
		if n := nearest(program, names); n != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", n)
		} else if len(names) > 0 {
			msg += ": the programs are " + strings.Join(names, ", ")
		}
		return nil, errorf(b, "%s", msg)
	}
	tc.Section = prog.Section
	if repeat < 1 || repeat > maxRepeat {
		return nil, errorf(b, "repeat must be from 1 to %d, not %d", maxRepeat, repeat)
	}
	if data != starlark.None || wantData != starlark.None {
		if !TakesData(prog.Section) {
			return nil, errorf(b, "program %q (section %q) takes no packet data: BPF_PROG_TEST_RUN gives data only to XDP, socket filter, tc, cgroup_skb, lwt (but lwt_seg6local), flow dissector and netfilter programs", program, prog.Section)
		}
	}
	if data != starlark.None {
		by, ok := data.(starlark.Bytes)
		if !ok {
			return nil, errorf(b, "data: got %s, want bytes", data.Type())
		}
		tc.Data, tc.HasData = []byte(by), true
	}
	if wantData != starlark.None {
		by, ok := wantData.(starlark.Bytes)
		if !ok {
			return nil, errorf(b, "want_data: got %s, want bytes", wantData.Type())
		}
		tc.WantData, tc.HasWantData = []byte(by), true
	}
	switch c := ctx.(type) {
	case starlark.NoneType:
	case starlark.Bytes:
		tc.Ctx, tc.HasCtx = []byte(c), true
	case *starlark.Dict:
		t := u.contextType(prog)
		if t == nil {
			return nil, errorf(b, "ctx: program %q (section %q) has no typed context: give its bytes (or its type, section(ctx = t))", program, prog.Section)
		}
		buf, err := encodeValue(t, c)
		if err != nil {
			return nil, errorf(b, "ctx: %v", err)
		}
		tc.Ctx, tc.HasCtx = buf, true
	default:
		return nil, errorf(b, "ctx: got %s, want bytes or a dict of context fields", ctx.Type())
	}
	switch c := wantCtx.(type) {
	case starlark.NoneType:
	case starlark.Bytes:
		if len(c) == 0 {
			return nil, errorf(b, "want_ctx: give at least one byte")
		}
		tc.WantCtx, tc.HasWantCtx = []byte(c), true
	case *starlark.Dict:
		t := u.contextType(prog)
		if t == nil {
			return nil, errorf(b, "want_ctx: program %q (section %q) has no typed context: give its bytes (or its type, section(ctx = t))", program, prog.Section)
		}
		want, mask, err := encodeMasked(t, c)
		if err != nil {
			return nil, errorf(b, "want_ctx: %v", err)
		}
		tc.WantCtx, tc.WantCtxMask, tc.HasWantCtx = want, mask, true
		for _, k := range c.Keys() {
			name, _ := k.(starlark.String) // encodeMasked refused other keys
			loc, err := btf.Offsetof(t, string(name))
			if err != nil {
				return nil, errorf(b, "want_ctx: %v", err)
			}
			tc.WantCtxFields = append(tc.WantCtxFields, CtxField{Name: string(name), Off: int(loc.BitOffset / 8), Size: int(loc.Type.Size())})
		}
	default:
		return nil, errorf(b, "want_ctx: got %s, want bytes or a dict of context fields", wantCtx.Type())
	}
	switch r := wantRetval.(type) {
	case starlark.NoneType:
	case starlark.Int:
		v, ok := r.Int64()
		if !ok || v < -(1<<31) || v > 1<<32-1 {
			return nil, errorf(b, "want_retval %v does not fit in 32 bits", r)
		}
		tc.WantRetval, tc.HasWantRetval = uint32(v), true
	case starlark.String:
		v, ok := RetvalByName(prog.Section, string(r))
		if !ok {
			return nil, errorf(b, "want_retval %q is not a return value of program %q (section %q)%s", string(r), program, prog.Section, retvalNamesHint(prog.Section))
		}
		tc.WantRetval, tc.HasWantRetval = v, true
	default:
		return nil, errorf(b, "want_retval: got %s, want int or a name such as \"XDP_PASS\"", wantRetval.Type())
	}
	var err error
	if tc.Maps, err = u.mapEntries(b, "maps", maps, false); err != nil {
		return nil, err
	}
	if tc.WantMaps, err = u.mapEntries(b, "want_maps", wantMaps, true); err != nil {
		return nil, err
	}
	u.Tests = append(u.Tests, tc)
	return starlark.None, nil
}

// encodeMasked encodes v, a value of type t, and returns with it a mask of
// the bits v gives (the members a dict names, the elements a list has):
// the bits that are the same whether the rest of the value is all zeros or
// all ones.
func encodeMasked(t btf.Type, v starlark.Value) (value, mask []byte, err error) {
	value, err = encodeValue(t, v)
	if err != nil {
		return nil, nil, err
	}
	ones := bytes.Repeat([]byte{0xff}, len(value))
	if err := putValue(ones, 0, t, 0, v, ""); err != nil {
		return nil, nil, err
	}
	mask = make([]byte, len(value))
	for i := range value {
		mask[i] = ^(value[i] ^ ones[i])
	}
	return value, mask, nil
}

// mapEntries reads {map: {key: value}}, where map is a map handle or its
// name and keys and values are ints (little-endian, of the map's sizes),
// bytes of exactly those sizes, or, for typed maps, what a typed global
// takes. With absent, a value of None means the key must be missing.
func (u *unit) mapEntries(b *starlark.Builtin, what string, v starlark.Value, absent bool) ([]MapEntry, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, errorf(b, "%s: got %s, want a dict {map: {key: value}}", what, v.Type())
	}
	var out []MapEntry
	for _, item := range d.Items() {
		var m *link.Map
		switch k := item[0].(type) {
		case *MapHandle:
			m = k.def()
		case starlark.String:
			for _, mm := range u.Maps {
				if mm.Name == string(k) {
					m = mm
				}
			}
			if m == nil {
				return nil, errorf(b, "%s: no map %q is declared", what, string(k))
			}
		default:
			return nil, errorf(b, "%s: got %s as a map, want a bpf_map or its name", what, item[0].Type())
		}
		entries, ok := item[1].(*starlark.Dict)
		if !ok {
			return nil, errorf(b, "%s[%q]: got %s, want a dict {key: value}", what, m.Name, item[1].Type())
		}
		if m.KeySize == 0 {
			return nil, errorf(b, "%s[%q]: %s maps have no keys to set", what, m.Name, m.Type)
		}
		for _, kv := range entries.Items() {
			key, err := encodeSized(m.Key, m.KeySize, kv[0])
			if err != nil {
				return nil, errorf(b, "%s[%q]: key %v: %v", what, m.Name, kv[0], err)
			}
			e := MapEntry{Map: m.Name, Key: key}
			if !(absent && kv[1] == starlark.None) {
				if e.Value, err = encodeSized(m.Value, m.ValueSize, kv[1]); err != nil {
					return nil, errorf(b, "%s[%q][%v]: value: %v", what, m.Name, kv[0], err)
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// encodeSized encodes v as a key or value of size bytes: an int
// (little-endian), bytes of exactly that size, or, when t is not nil, any
// value of type t.
func encodeSized(t btf.Type, size uint32, v starlark.Value) ([]byte, error) {
	switch x := v.(type) {
	case starlark.Bytes:
		if uint32(len(x)) != size {
			return nil, fmt.Errorf("%d bytes, want %d", len(x), size)
		}
		return []byte(x), nil
	case starlark.Int:
		if size > 8 {
			return nil, fmt.Errorf("an int cannot give %d bytes: give bytes", size)
		}
		var u64 uint64
		if i, ok := x.Int64(); ok && i < 0 {
			if size < 8 && i < -(1<<(8*size-1)) {
				return nil, fmt.Errorf("%v does not fit in %d bytes", x, size)
			}
			u64 = uint64(i)
		} else if u, ok := x.Uint64(); ok {
			if size < 8 && u >= 1<<(8*size) {
				return nil, fmt.Errorf("%v does not fit in %d bytes", x, size)
			}
			u64 = u
		} else {
			return nil, fmt.Errorf("%v does not fit in %d bytes", x, size)
		}
		var buf [8]byte
		binary.LittleEndian.PutUint64(buf[:], u64)
		return buf[:size], nil
	}
	if t != nil {
		return encodeValue(t, v)
	}
	return nil, fmt.Errorf("got %s, want int or bytes of %d", v.Type(), size)
}

// retvalNames lists, by program type, the names of the type's return
// values.
var retvalNames = []struct {
	types []progtype.Type
	names map[string]int64
}{
	{[]progtype.Type{progtype.XDP}, map[string]int64{"XDP_ABORTED": 0, "XDP_DROP": 1, "XDP_PASS": 2, "XDP_TX": 3, "XDP_REDIRECT": 4}},
	{[]progtype.Type{progtype.SchedCLS, progtype.SchedACT}, map[string]int64{
		"TC_ACT_UNSPEC": -1, "TC_ACT_OK": 0, "TC_ACT_RECLASSIFY": 1, "TC_ACT_SHOT": 2, "TC_ACT_PIPE": 3,
		"TC_ACT_STOLEN": 4, "TC_ACT_QUEUED": 5, "TC_ACT_REPEAT": 6, "TC_ACT_REDIRECT": 7, "TC_ACT_TRAP": 8}},
	{[]progtype.Type{progtype.CgroupSKB, progtype.SkLookup, progtype.SkSKB, progtype.SkMsg, progtype.SkReuseport}, map[string]int64{"SK_DROP": 0, "SK_PASS": 1}},
	{[]progtype.Type{progtype.LWTIn, progtype.LWTOut, progtype.LWTXmit, progtype.LWTSeg6Local}, map[string]int64{"BPF_OK": 0, "BPF_DROP": 2, "BPF_REDIRECT": 7, "BPF_LWT_REROUTE": 128}},
}

func retvalTable(section string) map[string]int64 {
	d, ok := progtype.Lookup(section)
	if !ok {
		return nil
	}
	for _, r := range retvalNames {
		if slices.Contains(r.types, d.Type) {
			return r.names
		}
	}
	return nil
}

// RetvalByName returns the value of a return value's name (XDP_PASS) for
// programs of section.
func RetvalByName(section, name string) (uint32, bool) {
	v, ok := retvalTable(section)[name]
	return uint32(v), ok
}

// RetvalName returns the name of a return value of programs of section,
// as in "XDP_PASS (2)", or the number alone where it has no name.
func RetvalName(section string, v uint32) string {
	for n, x := range retvalTable(section) {
		if uint32(x) == v {
			return fmt.Sprintf("%s (%d)", n, int32(v))
		}
	}
	return fmt.Sprint(v)
}

func retvalNamesHint(section string) string {
	t := retvalTable(section)
	if len(t) == 0 {
		return ": give a number"
	}
	var names []string
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return ": want one of " + strings.Join(names, ", ")
}
