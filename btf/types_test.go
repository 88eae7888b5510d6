package btf

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

var (
	tU8  = &Int{Name: "unsigned char", Bytes: 1}
	tS16 = &Int{Name: "short", Bytes: 2, Encoding: IntSigned}
	tU32 = &Int{Name: "unsigned int", Bytes: 4}
	tS64 = &Int{Name: "long long", Bytes: 8, Encoding: IntSigned}
	tU64 = &Int{Name: "unsigned long long", Bytes: 8}
)

func TestLayout(t *testing.T) {
	inner := &Struct{Name: "in", Members: []Field{{"x", tU8, 0}, {"y", tU64, 0}}}
	s := &Struct{Name: "s", Members: []Field{
		{"a", tU8, 0},
		{"b", tU32, 0},
		{"c", tU32, 3},
		{"d", tU32, 30}, // does not fit after c's 3 bits: next unit
		{"e", &Array{Elem: inner, N: 3}, 0},
		{"", &Union{Members: []Field{{"f", tS16, 0}, {"g", &Ptr{}, 0}}}, 0},
		{"h", tU8, 0},
	}}
	want := map[string]uint64{"a": 0, "b": 32, "c": 64, "d": 96, "e": 128, "f": 128 + 3*16*8, "e[2].y": 128 + 2*16*8 + 64}
	for path, off := range want {
		loc, err := Offsetof(s, path)
		if err != nil {
			t.Fatal(err)
		}
		if loc.BitOffset != off {
			t.Errorf("offsetof %s: %d bits, want %d", path, loc.BitOffset, off)
		}
	}
	if got := s.Size(); got != 80 {
		t.Errorf("size %d, want 80", got)
	}
	if got := s.Align(); got != 8 {
		t.Errorf("align %d, want 8", got)
	}
	for _, path := range []string{"zz", "e[3]", "a.b", "e[x]", "e.y", "e[0]y"} {
		if _, err := Offsetof(s, path); err == nil {
			t.Errorf("offsetof %s: no error", path)
		}
	}
	wantC := `struct s {
	unsigned char a;
	unsigned int b;
	unsigned int c : 3;
	unsigned int d : 30;
	struct in e[3];
	union {
		short f;
		void *g;
	};
	unsigned char h;
}`
	if got := s.String(); got != wantC {
		t.Errorf("C:\n%s\nwant\n%s", got, wantC)
	}
	for typ, want := range map[Type]string{
		&Ptr{Target: &Array{Elem: tU8, N: 4}}:                                    "unsigned char (*)[4]",
		&Array{Elem: &Ptr{Target: tU32}, N: 2}:                                   "unsigned int *[2]",
		&Ptr{Target: &TypeTag{Value: "kptr", Target: &Fwd{Name: "task_struct"}}}: `struct task_struct __attribute__((btf_type_tag("kptr"))) *`,
		&Const{Target: tU8}:                                                      "const unsigned char",
		&Ptr{Target: &FuncProto{Return: tU32, Params: []Type{&Ptr{Target: &Fwd{Name: "sock"}}, tU32}}}: "unsigned int (*)(struct sock *, unsigned int)",
		&Ptr{Target: &FuncProto{}}: "void (*)(void)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("C %q, want %q", got, want)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		want string
	}{
		{&Struct{Name: "d", Members: []Field{{"a", tU8, 0}, {"a", tU32, 0}}}, `duplicate member "a"`},
		{&Struct{Name: "d", Members: []Field{{"a", tU8, 0}, {"", &Struct{Members: []Field{{"a", tU8, 0}}}, 0}}}, `duplicate member "a"`},
		{&Struct{Name: "w", Members: []Field{{"a", tU8, 9}}}, `bitfield "a" of 9 bits is wider than its type unsigned char (8 bits)`},
		{&Struct{Name: "n", Members: []Field{{"", tU8, 0}}}, `has no name`},
		{&Array{Elem: &Array{Elem: tU64, N: 1 << 30}, N: 1 << 10}, `more than BTF's 4 GiB`},
		{&Struct{Name: "f", Members: []Field{{"a", &Fwd{Name: "x"}, 0}}}, `incomplete type struct x`},
		{&Struct{Name: "f", Members: []Field{{"a", &FuncProto{}, 0}}}, `member "a" has incomplete type void (void)`},
		{&Array{Elem: &FuncProto{}, N: 1}, `array of incomplete type`},
		{&Ptr{Target: &FuncProto{Params: []Type{nil}}}, `function parameter 0 is void`},
	} {
		err := Check(tc.t)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%s) = %v, want %q", tc.t, err, tc.want)
		}
	}
	cyc := &Struct{Name: "c"}
	cyc.Members = []Field{{"next", &Ptr{Target: cyc}, 0}}
	if err := Check(cyc); err == nil {
		t.Errorf("cycle: no error")
	}
	_ = cyc.String() // no endless recursion
}

// TestEncodeDedup: equal types, made twice, are encoded once, in the
// order the walk finishes them.
func TestEncodeDedup(t *testing.T) {
	mk := func() Type {
		return &Struct{Name: "k", Members: []Field{{"a", &Int{Name: "unsigned int", Bytes: 4}, 0}, {"b", &Array{Elem: &Int{Name: "unsigned char", Bytes: 1}, N: 6}, 0}}}
	}
	var b Builder
	e := NewEncoder(&b)
	id1, err := e.Add(&Ptr{Target: mk()})
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := e.Add(&Ptr{Target: mk()})
	if id1 != id2 || b.Len() != 6 {
		t.Errorf("ids %d and %d, %d types; want one id and 6 types", id1, id2, b.Len())
	}
	data, _, err := b.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `[1] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[2] INT 'unsigned char' size=1 bits_offset=0 nr_bits=8 encoding=(none)
[3] INT '__ARRAY_SIZE_TYPE__' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[4] ARRAY '(anon)' type_id=2 index_type_id=3 nr_elems=6
[5] STRUCT 'k' size=12 vlen=2
	'a' type_id=1 bits_offset=0
	'b' type_id=4 bits_offset=32
[6] PTR '(anon)' type_id=5
`
	if got := bpftoolDump(t, data); got != want {
		t.Errorf("bpftool:\n%s\nwant\n%s", got, want)
	}
}

// randomTypes makes n random struct and union definitions (named
// top-level types) from ints of every size, enums, typedefs, arrays,
// nested and anonymous structs and unions, and bitfields.
type typeGen struct {
	r     *rand.Rand
	named []Type // defined so far, in definition order
	n     int
}

func (g *typeGen) scalar() Type {
	ints := []Type{tU8, tS16, tU32, tS64, tU64,
		&Int{Name: "char", Bytes: 1, Encoding: IntSigned},
		&Int{Name: "_Bool", Bytes: 1, Encoding: IntBool},
		&Typedef{Name: "u16_t", Target: &Int{Name: "unsigned short", Bytes: 2}},
		&Enum{Name: "e4", Bytes: 4, Values: []Enum64Value{{"E4A", 1}}},
		&Ptr{Target: tU32},
	}
	return ints[g.r.IntN(len(ints))]
}

func (g *typeGen) typ(depth int) Type {
	switch k := g.r.IntN(10); {
	case k < 5 || depth > 2:
		return g.scalar()
	case k < 7:
		return &Array{Elem: g.typ(depth + 1), N: uint32(g.r.IntN(4))}
	case k < 8 && len(g.named) > 0:
		return g.named[g.r.IntN(len(g.named))]
	default:
		return g.composite("", depth+1)
	}
}

func (g *typeGen) composite(name string, depth int) Type {
	var fields []Field
	for i, n := 0, 1+g.r.IntN(6); i < n; i++ {
		f := Field{Name: fmt.Sprintf("m%d_%d", g.n, i)}
		g.n++
		switch k := g.r.IntN(8); {
		case k < 2:
			bits := []Type{tU8, tS16, tU32, tU64, &Int{Name: "int", Bytes: 4, Encoding: IntSigned}}
			f.Type = bits[g.r.IntN(len(bits))]
			f.Bits = 1 + uint32(g.r.IntN(int(8*f.Type.Size())))
		case k < 3 && depth < 3:
			f.Name, f.Type = "", g.composite("", depth+1)
		default:
			f.Type = g.typ(depth)
		}
		fields = append(fields, f)
	}
	if g.r.IntN(3) == 0 {
		return &Union{Name: name, Members: fields}
	}
	return &Struct{Name: name, Members: fields}
}

// cSource writes C definitions of the named types and a variable of each.
func cSource(named []Type) string {
	var b strings.Builder
	b.WriteString("typedef unsigned short u16_t;\nenum e4 { E4A = 1 };\n")
	for i, t := range named {
		fmt.Fprintf(&b, "%s;\n%s v%d;\n", t, typeName(t), i)
	}
	return b.String()
}

// TestLayoutAgainstClang lays out random structs and unions with
// Struct and Union and with clang-19 -target bpf, and compares every
// member's offset, bitfield size and every composite's size, as clang's
// BTF (read by cilium/ebpf) has them.
func TestLayoutAgainstClang(t *testing.T) {
	clang := testenv.Tool(t, "clang-19")
	for seed := range uint64(20) {
		g := &typeGen{r: rand.New(rand.NewPCG(seed, 11))}
		for i := range 15 {
			tt := g.composite(fmt.Sprintf("t%d_%d", seed, i), 0)
			if Check(tt) != nil {
				continue
			}
			g.named = append(g.named, tt)
		}
		src := cSource(g.named)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "t.c"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(clang, "-target", "bpf", "-g", "-c", "-o", filepath.Join(dir, "t.o"), filepath.Join(dir, "t.c"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("seed %d: clang: %v\n%s\n%s", seed, err, out, src)
		}
		spec, err := cbtf.LoadSpec(filepath.Join(dir, "t.o"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range g.named {
			name := strings.TrimPrefix(strings.TrimPrefix(typeName(tt), "struct "), "union ")
			var ct cbtf.Type
			if _, ok := tt.(*Union); ok {
				var u *cbtf.Union
				err = spec.TypeByName(name, &u)
				ct = u
			} else {
				var s *cbtf.Struct
				err = spec.TypeByName(name, &s)
				ct = s
			}
			if err != nil {
				t.Fatalf("seed %d: %s: %v", seed, name, err)
			}
			compareLayout(t, fmt.Sprintf("seed %d: %s", seed, name), tt, ct)
		}
	}
}

func compareLayout(t *testing.T, where string, ours Type, theirs cbtf.Type) {
	t.Helper()
	theirs = cbtf.UnderlyingType(theirs)
	size, err := cbtf.Sizeof(theirs)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if uint32(size) != ours.Size() {
		t.Errorf("%s: size %d, clang %d", where, ours.Size(), size)
	}
	switch o := Resolve(ours).(type) {
	case *Array:
		if a, ok := theirs.(*cbtf.Array); ok {
			compareLayout(t, where+"[]", o.Elem, a.Type)
		}
	}
	fields, offs, ok := Members(ours)
	if !ok {
		return
	}
	var members []cbtf.Member
	switch c := theirs.(type) {
	case *cbtf.Struct:
		members = c.Members
	case *cbtf.Union:
		members = c.Members
	default:
		t.Errorf("%s: clang has %T", where, theirs)
		return
	}
	if len(members) != len(fields) {
		t.Errorf("%s: %d members, clang %d", where, len(fields), len(members))
		return
	}
	for i, f := range fields {
		m := members[i]
		if m.Name != f.Name || uint64(m.Offset) != offs[i] || uint32(m.BitfieldSize) != f.Bits {
			t.Errorf("%s: member %q at bit %d (%d bits), clang %q at %d (%d bits)", where, f.Name, offs[i], f.Bits, m.Name, m.Offset, m.BitfieldSize)
		}
		compareLayout(t, where+"."+f.Name, f.Type, m.Type)
	}
}

// A graph that shares a type at every level is laid out, checked,
// printed and encoded in time proportional to its distinct types.
func TestSharedGraph(t *testing.T) {
	var prev Type = tU8
	for i := range 64 {
		prev = &Struct{Members: []Field{{fmt.Sprintf("a%d", i), prev, 0}, {fmt.Sprintf("b%d", i), prev, 0}}}
		if i == 29 {
			if got := prev.Size(); got != 1<<30 {
				t.Errorf("level 29: size %d, want 1 GiB", got)
			}
			var b Builder
			if _, err := NewEncoder(&b).Add(prev); err != nil || b.Len() != 31 {
				t.Errorf("level 29: %v, %d types; want 31", err, b.Len())
			}
		}
	}
	if err := Check(prev); err == nil || !strings.Contains(err.Error(), "more than BTF's 4 GiB") {
		t.Errorf("Check: %v", err)
	}
	if got := prev.Size(); got != 0 {
		t.Errorf("size %d, want 0 (too large)", got)
	}
	if s := prev.String(); len(s) > 2<<20 {
		t.Errorf("String: %d bytes", len(s))
	}
}

// TestExplicitLayout: a struct with a Layout has the size and offsets the
// Layout gives (a kernel type's, or some of its members where they were),
// encodes them, and Check refuses a Layout that does not fit its members.
func TestExplicitLayout(t *testing.T) {
	s := &Struct{Name: "task", Members: []Field{{"pid", tU32, 0}, {"flags", tU32, 5}, {"parent", &Ptr{}, 0}}, Layout: &Layout{Bytes: 4096, BitOffsets: []uint64{8 * 1200, 8*1204 + 3, 8 * 2040}}}
	if err := Check(s); err != nil {
		t.Fatal(err)
	}
	if s.Size() != 4096 || s.Align() != 8 {
		t.Errorf("size %d align %d, want 4096 and 8", s.Size(), s.Align())
	}
	loc, err := Offsetof(s, "parent")
	if err != nil || loc.BitOffset != 8*2040 {
		t.Errorf("offsetof parent: %v %v, want bit %d", loc, err, 8*2040)
	}
	b := NewBuilder()
	id, err := NewEncoder(b).Add(s)
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := b.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cbtf.LoadSpecFromReader(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := spec.TypeByID(cbtf.TypeID(id))
	if err != nil {
		t.Fatal(err)
	}
	cs := got.(*cbtf.Struct)
	if cs.Size != 4096 || len(cs.Members) != 3 || cs.Members[0].Offset != 8*1200 || cs.Members[1].Offset != 8*1204+3 || cs.Members[1].BitfieldSize != 5 || cs.Members[2].Offset != 8*2040 {
		t.Errorf("decoded %+v", cs.Members)
	}
	// Equal members laid out differently are two types.
	s2 := &Struct{Name: "task", Members: s.Members, Layout: &Layout{Bytes: 4096, BitOffsets: []uint64{0, 32, 64}}}
	enc := NewEncoder(NewBuilder())
	id1, _ := enc.Add(s)
	id2, _ := enc.Add(s2)
	if id1 == id2 {
		t.Errorf("two layouts encoded as one type [%d]", id1)
	}
	for _, bad := range []*Layout{
		{Bytes: 4096, BitOffsets: []uint64{0}},
		{Bytes: 4096, BitOffsets: []uint64{64, 0, 128}},
		{Bytes: 16, BitOffsets: []uint64{0, 32, 128}},
	} {
		if err := Check(&Struct{Name: "task", Members: s.Members, Layout: bad}); err == nil {
			t.Errorf("layout %+v: no error", bad)
		}
	}
}

// TestEncodeEmptyStructs: structs without members are told apart by name
// (and size): two empty structs of different names were once one type.
func TestEncodeEmptyStructs(t *testing.T) {
	enc := NewEncoder(NewBuilder())
	a, err := enc.Add(&Struct{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := enc.Add(&Struct{Name: "b"})
	c, _ := enc.Add(&Struct{Name: "b", Layout: &Layout{Bytes: 8}})
	a2, _ := enc.Add(&Struct{Name: "a"})
	if a == b || b == c || a != a2 {
		t.Errorf("ids a %d, b %d, b of 8 bytes %d, a again %d", a, b, c, a2)
	}
}
