package btffile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/internal/btftest"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

func TestType(t *testing.T) {
	for layout, off := range btftest.Offsets {
		f, err := Parse(btftest.Kernel(btftest.Options{Layout: layout}))
		if err != nil {
			t.Fatal(err)
		}
		task, err := f.Type("task_struct")
		if err != nil {
			t.Fatal(err)
		}
		if err := btf.Check(task); err != nil {
			t.Fatal(err)
		}
		if task.Size() != off["size"] {
			t.Errorf("layout %d: size %d, want %d", layout, task.Size(), off["size"])
		}
		for _, m := range []string{"pid", "tgid", "comm", "real_parent", "se"} {
			loc, err := btf.Offsetof(task, m)
			if err != nil || loc.BitOffset != 8*uint64(off[m]) {
				t.Errorf("layout %d: %s at bit %d (%v), want %d", layout, m, loc.BitOffset, err, 8*off[m])
			}
		}
		loc, _ := btf.Offsetof(task, "flags")
		if loc.BitOffset != 8*uint64(off["flags"])+3 || loc.Bits != 5 {
			t.Errorf("flags: %+v", loc)
		}
		// real_parent points at a forward declaration, which Deref
		// turns into task_struct again.
		loc, _ = btf.Offsetof(task, "real_parent")
		fwd, ok := loc.Type.(*btf.Ptr).Target.(*btf.Fwd)
		if !ok || fwd.Name != "task_struct" {
			t.Fatalf("real_parent: %v", loc.Type)
		}
		def, ok, err := f.Deref(fwd)
		if !ok || err != nil || def != task {
			t.Errorf("Deref: %v %v %v", def, ok, err)
		}
		if e, err := f.Type("enum pid_type"); err != nil || len(e.(*btf.Enum).Values) != 5 {
			t.Errorf("enum pid_type: %v %v", e, err)
		}
		if fp, err := f.Func("bpf_task_from_pid"); err != nil || len(fp.Params) != 1 || fp.Return.String() != "struct task_struct *" {
			t.Errorf("bpf_task_from_pid: %v %v", fp, err)
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := Parse([]byte("#!/bin/sh\n")); !errors.Is(err, ErrNotBTF) {
		t.Errorf("Parse(script): %v", err)
	}
	data := btftest.Kernel(btftest.Options{})
	if _, err := Parse(data[:40]); !errors.Is(err, ErrNotBTF) {
		t.Errorf("Parse(truncated): %v", err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"no_such":           `no type "no_such"`,
		"union task_struct": `no type "union task_struct"`,
		"class task_struct": "want NAME, struct NAME",
	} {
		if _, err := f.Type(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Type(%q): %v, want %q", name, err, want)
		}
	}
	// A plain name may have spaces, as an integer's has.
	if u, err := f.Type("unsigned int"); err != nil || u.String() != "unsigned int" {
		t.Errorf("Type(unsigned int) = %v, %v", u, err)
	}
	if _, err := f.Func("bpf_nope"); err == nil || !strings.Contains(err.Error(), `no function "bpf_nope"`) {
		t.Errorf("Func: %v", err)
	}
}

// TestVmlinux converts task_struct of the running kernel's BTF: every
// member, with the kernel's offsets and size, is a graph btf.Check
// accepts.
func TestVmlinux(t *testing.T) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"task_struct", "struct sk_buff", "struct bpf_attr", "enum bpf_map_type", "union bpf_attr", "struct file"} {
		typ, err := f.Type(name)
		if name == "struct bpf_attr" {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := btf.Check(typ); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestAgainstCilium converts every named struct, union and enum of the
// running kernel's BTF and checks each against cilium/ebpf's decoding of
// the same file: names, sizes, members with their offsets, bitfield
// widths and types, enumerators, through typedefs, qualifiers, arrays and
// prototypes, pointers to structs as forward declarations of their names.
func TestAgainstCilium(t *testing.T) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cbtf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	cmp := &comparer{done: map[cbtf.Type]btf.Type{}}
	seen := map[string]bool{}
	for ct := range spec.All() {
		var name string
		switch ct := ct.(type) {
		case *cbtf.Struct:
			name = "struct " + ct.Name
		case *cbtf.Union:
			name = "union " + ct.Name
		case *cbtf.Enum:
			name = "enum " + ct.Name
		default:
			continue
		}
		if strings.HasSuffix(name, " ") || seen[name] {
			continue // anonymous, or a second type of the name: Type takes the first
		}
		seen[name] = true
		got, err := f.Type(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := cmp.sameType(ct, got, 0); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checked++
	}
	if checked < 1000 {
		t.Errorf("only %d types checked", checked)
	}
	t.Logf("%d structs, unions and enums agree with cilium/ebpf", checked)
}

// comparer compares cilium/ebpf's decoding of types with this package's,
// each pair once.
type comparer struct{ done map[cbtf.Type]btf.Type }

// sameType compares cilium/ebpf's decoding of a type with this package's.
func (cmp *comparer) sameType(ct cbtf.Type, t btf.Type, depth int) error {
	if depth > 64 || t != nil && cmp.done[ct] == t {
		return nil
	}
	defer func() { cmp.done[ct] = t }()
	mismatch := func() error { return fmt.Errorf("cilium has %v, we have %v", ct, t) }
	switch c := ct.(type) {
	case *cbtf.Void:
		if t != nil {
			return mismatch()
		}
	case *cbtf.Int:
		o, ok := t.(*btf.Int)
		if !ok || o.Name != c.Name || o.Bytes != c.Size {
			return mismatch()
		}
	case *cbtf.Float:
		if o, ok := t.(*btf.Array); !ok || o.N != c.Size {
			return mismatch()
		}
	case *cbtf.Pointer:
		o, ok := t.(*btf.Ptr)
		if !ok {
			return mismatch()
		}
		return cmp.samePtrTarget(c.Target, o.Target, depth+1)
	case *cbtf.Array:
		o, ok := t.(*btf.Array)
		if !ok || o.N != c.Nelems {
			return mismatch()
		}
		return cmp.sameType(c.Type, o.Elem, depth+1)
	case *cbtf.Struct, *cbtf.Union:
		var ms []cbtf.Member
		var size uint32
		var fields []btf.Field
		var offs []uint64
		switch c := c.(type) {
		case *cbtf.Struct:
			o, ok := t.(*btf.Struct)
			if !ok || o.Name != c.Name {
				return mismatch()
			}
			ms, size, fields, offs = c.Members, c.Size, o.Members, o.Offsets()
		case *cbtf.Union:
			o, ok := t.(*btf.Union)
			if !ok || o.Name != c.Name {
				return mismatch()
			}
			ms, size, fields, offs = c.Members, c.Size, o.Members, o.Offsets()
		}
		if t.Size() != size || len(fields) != len(ms) {
			return fmt.Errorf("%v: size %d, %d members; we have %d, %d", ct, size, len(ms), t.Size(), len(fields))
		}
		for i, m := range ms {
			if fields[i].Name != m.Name || offs[i] != uint64(m.Offset) || fields[i].Bits != uint32(m.BitfieldSize) {
				return fmt.Errorf("%v: member %d %s at %d:%d; we have %s at %d:%d", ct, i, m.Name, m.Offset, m.BitfieldSize, fields[i].Name, offs[i], fields[i].Bits)
			}
			if err := cmp.sameType(m.Type, fields[i].Type, depth+1); err != nil {
				return fmt.Errorf("%v.%s: %v", ct, m.Name, err)
			}
		}
	case *cbtf.Enum:
		o, ok := t.(*btf.Enum)
		if !ok || o.Name != c.Name || o.Bytes != c.Size || o.Signed != c.Signed || len(o.Values) != len(c.Values) {
			return mismatch()
		}
		for i, v := range c.Values {
			if o.Values[i].Name != v.Name || o.Values[i].Value != v.Value {
				return fmt.Errorf("%v: %s = %d; we have %s = %d", ct, v.Name, v.Value, o.Values[i].Name, o.Values[i].Value)
			}
		}
	case *cbtf.Typedef:
		o, ok := t.(*btf.Typedef)
		if !ok || o.Name != c.Name {
			return mismatch()
		}
		return cmp.sameType(c.Type, o.Target, depth+1)
	case *cbtf.Const:
		o, ok := t.(*btf.Const)
		if !ok {
			return mismatch()
		}
		return cmp.sameType(c.Type, o.Target, depth+1)
	case *cbtf.Volatile:
		o, ok := t.(*btf.Volatile)
		if !ok {
			return mismatch()
		}
		return cmp.sameType(c.Type, o.Target, depth+1)
	case *cbtf.Restrict:
		return cmp.sameType(c.Type, t, depth+1)
	case *cbtf.TypeTag:
		o, ok := t.(*btf.TypeTag)
		if !ok || o.Value != c.Value {
			return mismatch()
		}
		return cmp.sameType(c.Type, o.Target, depth+1)
	case *cbtf.FuncProto:
		return cmp.samePtrTarget(c, t, depth)
	case *cbtf.Fwd:
		o, ok := t.(*btf.Fwd)
		if !ok || o.Name != c.Name || o.Union != (c.Kind == cbtf.FwdUnion) {
			return mismatch()
		}
	default:
		return fmt.Errorf("unexpected %T", ct)
	}
	return nil
}

// samePtrTarget compares what a pointer points at: a named struct or
// union is a Fwd of its name, an anonymous one is whole.
func (cmp *comparer) samePtrTarget(ct cbtf.Type, t btf.Type, depth int) error {
	switch c := ct.(type) {
	case *cbtf.Struct, *cbtf.Union:
		if ct.TypeName() == "" {
			return cmp.sameType(ct, t, depth) // converted whole
		}
		fwd, ok := t.(*btf.Fwd)
		_, isUnion := c.(*cbtf.Union)
		if !ok || fwd.Name != ct.TypeName() || fwd.Union != isUnion {
			return fmt.Errorf("pointer to %v: have %v", ct, t)
		}
		return nil
	case *cbtf.Typedef:
		o, ok := t.(*btf.Typedef)
		if !ok || o.Name != c.Name {
			return fmt.Errorf("cilium has %v, we have %v", ct, t)
		}
		return cmp.samePtrTarget(c.Type, o.Target, depth+1)
	case *cbtf.Const:
		o, ok := t.(*btf.Const)
		if !ok {
			return fmt.Errorf("cilium has %v, we have %v", ct, t)
		}
		return cmp.samePtrTarget(c.Type, o.Target, depth+1)
	case *cbtf.Volatile:
		o, ok := t.(*btf.Volatile)
		if !ok {
			return fmt.Errorf("cilium has %v, we have %v", ct, t)
		}
		return cmp.samePtrTarget(c.Type, o.Target, depth+1)
	case *cbtf.Restrict:
		return cmp.samePtrTarget(c.Type, t, depth+1)
	case *cbtf.TypeTag:
		o, ok := t.(*btf.TypeTag)
		if !ok || o.Value != c.Value {
			return fmt.Errorf("cilium has %v, we have %v", ct, t)
		}
		return cmp.samePtrTarget(c.Type, o.Target, depth+1)
	case *cbtf.FuncProto:
		o, ok := t.(*btf.FuncProto)
		params := c.Params
		if n := len(params); n > 0 {
			if _, void := params[n-1].Type.(*cbtf.Void); void {
				params = params[:n-1] // variadic
			}
		}
		if !ok || len(o.Params) != len(params) {
			return fmt.Errorf("cilium has %v, we have %v", ct, t)
		}
		if err := cmp.samePtrTarget(c.Return, o.Return, depth+1); err != nil {
			return err
		}
		for i, p := range params {
			if err := cmp.samePtrTarget(p.Type, o.Params[i], depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return cmp.sameType(ct, t, depth)
}

// exercise makes every lookup and conversion of f that a program can.
func exercise(f *File) {
	for _, name := range []string{"task_struct", "struct task_struct", "enum pid_type", "pid_t", "union x", "int"} {
		if t, err := f.Type(name); err == nil {
			btf.Check(t)
			if loc, err := btf.Offsetof(t, "real_parent"); err == nil {
				if p, ok := loc.Type.(*btf.Ptr); ok {
					if fwd, ok := p.Target.(*btf.Fwd); ok {
						f.Deref(fwd)
					}
				}
			}
		}
	}
	f.Func("bpf_task_from_pid")
	f.Func("bpf_task_release")
	f.Var("bpf_prog_active")
}

// FuzzParse: no file makes Parse or a conversion panic or loop.
func FuzzParse(f *testing.F) {
	f.Add(btftest.Kernel(btftest.Options{}))
	f.Add(btftest.Kernel(btftest.Options{Layout: 1, Extra: 2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if bf, err := Parse(data); err == nil {
			exercise(bf)
		}
	})
}

// TestMutations runs FuzzParse's body on systematically damaged files:
// every byte of the header and of the first types set to 0xff, 0 and
// flipped, and every truncation.
func TestMutations(t *testing.T) {
	good := btftest.Kernel(btftest.Options{})
	for i := range good {
		for _, v := range []byte{0, 0xff, good[i] ^ 0x80, good[i] + 1} {
			data := bytes.Clone(good)
			data[i] = v
			if bf, err := Parse(data); err == nil {
				exercise(bf)
			}
		}
		if bf, err := Parse(good[:i]); err == nil {
			exercise(bf)
		}
	}
}

// The zero File has no types, and says so.
func TestZeroFile(t *testing.T) {
	var f File
	if _, err := f.Type("task_struct"); err == nil {
		t.Error("Type: no error")
	}
	if _, err := f.Func("bpf_task_from_pid"); err == nil {
		t.Error("Func: no error")
	}
	if _, err := f.Var("x"); err == nil {
		t.Error("Var: no error")
	}
	if _, ok, err := f.Deref(&btf.Fwd{Name: "x"}); ok || err != nil {
		t.Errorf("Deref: %v %v", ok, err)
	}
}

// rawBTF makes a raw BTF file of type records (each a slice of words,
// the name offsets into strs) and a string section.
func rawBTF(strs string, types ...[]uint32) []byte {
	var tb []byte
	for _, rec := range types {
		for _, w := range rec {
			tb = le.AppendUint32(tb, w)
		}
	}
	hdr := []uint32{0x0001eb9f | 0, hdrLen, 0, uint32(len(tb)), uint32(len(tb)), uint32(len(strs))}
	var out []byte
	out = le.AppendUint16(out, 0xeb9f)
	out = append(out, 1, 0)
	for _, w := range hdr[1:] {
		out = le.AppendUint32(out, w)
	}
	return append(append(out, tb...), strs...)
}

// TestVoidMembers: a struct member or an array element of type void (ID
// 0, or a typedef or qualifier of it), which no C type has and the
// kernel refuses, is an error naming it, not a member of no type (which a
// core member path then went through to a nil dereference).
func TestVoidMembers(t *testing.T) {
	const strs = "\x00int\x00s\x00a\x00b\x00arr\x00v\x00t\x00varr\x00"
	intT := []uint32{1, kindInt << 24, 4, 1<<24 | 32}          // [1] int
	s := []uint32{5, kindStruct<<24 | 2, 8, 7, 1, 0, 9, 0, 32} // [2] struct s { int a; void b; }
	arr := []uint32{0, kindArray << 24, 0, 0, 1, 4}            // [3] void[4]
	td := []uint32{11, kindTypedef << 24, 3}                   // [4] typedef void arr[4]
	v := []uint32{15, kindTypedef << 24, 0}                    // [5] typedef void v
	cv := []uint32{0, kindConst << 24, 5}                      // [6] const v
	s2 := []uint32{17, kindStruct<<24 | 1, 4, 7, 6, 0}         // [7] struct t { const v a; }
	arr2 := []uint32{0, kindArray << 24, 0, 5, 1, 4}           // [8] v[4]
	td2 := []uint32{19, kindTypedef << 24, 8}                  // [9] typedef v varr[4]
	f, err := Parse(rawBTF(strs, intT, s, arr, td, v, cv, s2, arr2, td2))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"s":    "struct s: member b: void",
		"arr":  "an array of void",
		"t":    "struct t: member a: void",
		"varr": "an array of void",
	} {
		if got, err := f.Type(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Type(%q) = %v, %v; want an error %q", name, got, err, want)
		}
	}
}

// TestFuncsVarsAgainstCilium checks Func and Var, and Type of the plain
// names of typedefs and integers, on every function (kfuncs and all),
// variable, typedef and integer of the running kernel's BTF against
// cilium/ebpf's decoding of the same file.
func TestFuncsVarsAgainstCilium(t *testing.T) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cbtf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	cmp := &comparer{done: map[cbtf.Type]btf.Type{}}
	seen := map[string]bool{}
	counts := map[string]int{}
	for ct := range spec.All() {
		name := ct.TypeName()
		if name == "" {
			continue
		}
		var err error
		switch ct := ct.(type) {
		case *cbtf.Func:
			if seen["func "+name] {
				continue
			}
			seen["func "+name] = true
			var fp *btf.FuncProto
			if fp, err = f.Func(name); err == nil {
				err = cmp.samePtrTarget(ct.Type, fp, 0)
			}
			counts["functions"]++
		case *cbtf.Var:
			if seen["var "+name] {
				continue
			}
			seen["var "+name] = true
			var vt btf.Type
			if vt, err = f.Var(name); err == nil {
				err = cmp.sameType(ct.Type, vt, 0)
			}
			counts["variables"]++
		case *cbtf.Typedef, *cbtf.Int:
			if seen[name] {
				continue
			}
			seen[name] = true
			var tt btf.Type
			if tt, err = f.Type(name); err == nil {
				err = cmp.sameType(ct, tt, 0)
			}
			counts["typedefs and integers"]++
		default:
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", ct, err)
		}
	}
	if counts["functions"] < 1000 || counts["variables"] < 10 || counts["typedefs and integers"] < 1000 {
		t.Errorf("too few checked: %v", counts)
	}
	t.Logf("agree with cilium/ebpf: %v", counts)
}

// BenchmarkVmlinux is what a CO-RE build against the whole kernel BTF
// asks of this package (docs/perf.md): parse the running kernel's 5.5 MB
// vmlinux, look up task_struct and an enum, and convert them.
func BenchmarkVmlinux(b *testing.B) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(b, "kernel BTF: "+err.Error())
	}
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Type("task_struct"); err != nil {
			b.Fatal(err)
		}
		if _, err := f.Type("enum bpf_map_type"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNameWithNUL: a name with a NUL in it names no type, by the string
// table's search as by the index that replaces it after scanLookups
// lookups ("a\x00b" found the type named "a", whose string is followed by
// "b" in the table).
func TestNameWithNUL(t *testing.T) {
	f, err := Parse(rawBTF("\x00a\x00b\x00", []uint32{1, kindInt << 24, 4, 1<<24 | 32}, []uint32{3, kindInt << 24, 4, 32}))
	if err != nil {
		t.Fatal(err)
	}
	for range scanLookups + 2 {
		if typ, err := f.Type("a\x00b"); err == nil {
			t.Fatalf("Type(\"a\\x00b\") = %v", typ)
		}
		if _, err := f.Type("a"); err != nil {
			t.Fatal(err)
		}
	}
}
