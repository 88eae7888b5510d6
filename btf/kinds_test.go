package btf

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cbtf "github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// allKinds builds at least one type of every kind, with the features of
// each: bitfields, signed and unsigned enums, forward references, a
// variadic prototype, tags on a type, a member, a parameter, a variable
// and a typedef.
func allKinds() *Builder {
	var b Builder // the zero Builder is ready to use
	intT := b.Int("int", 4, true)
	uintT := b.Int("unsigned int", 4, false)
	charT := b.IntEnc("char", 1, IntChar)
	b.IntEnc("_Bool", 1, IntBool)
	nodeP := b.Ptr(b.Next() + 1) // struct node *, before struct node
	node := b.Struct("node", 16, []Member{
		{Name: "next", Type: nodeP},
		{Name: "v", Type: intT, BitOffset: 64},
		{Name: "flags", Type: uintT, BitOffset: 96, BitfieldSize: 3},
		{Name: "mode", Type: uintT, BitOffset: 99, BitfieldSize: 5},
	})
	b.Union("u", 8, []Member{{Name: "i", Type: intT}, {Name: "p", Type: nodeP}})
	b.Union("bits", 4, []Member{{Name: "a", Type: uintT, BitfieldSize: 3}})
	b.Enum("e", 4, false, []EnumValue{{"A", 0}, {"B", 1}, {"C", math.MaxUint32}})
	b.Enum("se", 4, true, []EnumValue{{"NEG", -1}, {"POS", math.MaxInt32}})
	b.Enum("small", 1, false, []EnumValue{{"X", 1}})
	b.Enum64("big", 8, false, []Enum64Value{{"HUGE", 1 << 40}, {"MAX", math.MaxUint64}})
	b.Enum64("sbig", 8, true, []Enum64Value{{"MIN", 1 << 63}})
	b.Fwd("fs", FwdStruct)
	b.Fwd("fu", FwdUnion)
	u32 := b.Typedef("u32", uintT)
	vol := b.Volatile(intT)
	b.Const(vol)
	b.Restrict(nodeP)
	b.Array(charT, uintT, 16)
	proto := b.FuncProto(intT, []Param{{Name: "ctx", Type: nodeP}, {Name: "n", Type: u32}, {}})
	fn := b.Func("f", proto, FuncGlobal)
	v := b.Var("counter", u32, VarGlobalAllocated)
	b.Datasec(".data", 4, []VarSecinfo{{Type: v, Size: 4}})
	b.Float("double", 8)
	b.DeclTag("user", node, -1)
	b.DeclTag("nonnull", fn, 0)
	b.DeclTag("field", node, 1)
	b.Ptr(b.TypeTag("rcu", node))
	b.DeclTag("var_tag", v, -1)
	b.DeclTag("td", u32, -1)
	return &b
}

// What bpftool prints for allKinds: the kernel tooling's reading of every
// kind, field by field.
const allKindsDump = `[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[3] INT 'char' size=1 bits_offset=0 nr_bits=8 encoding=CHAR
[4] INT '_Bool' size=1 bits_offset=0 nr_bits=8 encoding=BOOL
[5] PTR '(anon)' type_id=6
[6] STRUCT 'node' size=16 vlen=4
	'next' type_id=5 bits_offset=0
	'v' type_id=1 bits_offset=64
	'flags' type_id=2 bits_offset=96 bitfield_size=3
	'mode' type_id=2 bits_offset=99 bitfield_size=5
[7] UNION 'u' size=8 vlen=2
	'i' type_id=1 bits_offset=0
	'p' type_id=5 bits_offset=0
[8] UNION 'bits' size=4 vlen=1
	'a' type_id=2 bits_offset=0 bitfield_size=3
[9] ENUM 'e' encoding=UNSIGNED size=4 vlen=3
	'A' val=0
	'B' val=1
	'C' val=4294967295
[10] ENUM 'se' encoding=SIGNED size=4 vlen=2
	'NEG' val=-1
	'POS' val=2147483647
[11] ENUM 'small' encoding=UNSIGNED size=1 vlen=1
	'X' val=1
[12] ENUM64 'big' encoding=UNSIGNED size=8 vlen=2
	'HUGE' val=1099511627776ULL
	'MAX' val=18446744073709551615ULL
[13] ENUM64 'sbig' encoding=SIGNED size=8 vlen=1
	'MIN' val=-9223372036854775808LL
[14] FWD 'fs' fwd_kind=struct
[15] FWD 'fu' fwd_kind=union
[16] TYPEDEF 'u32' type_id=2
[17] VOLATILE '(anon)' type_id=1
[18] CONST '(anon)' type_id=17
[19] RESTRICT '(anon)' type_id=5
[20] ARRAY '(anon)' type_id=3 index_type_id=2 nr_elems=16
[21] FUNC_PROTO '(anon)' ret_type_id=1 vlen=3
	'ctx' type_id=5
	'n' type_id=16
	'(anon)' type_id=0
[22] FUNC 'f' type_id=21 linkage=global
[23] VAR 'counter' type_id=16, linkage=global
[24] DATASEC '.data' size=4 vlen=1
	type_id=23 offset=0 size=4 (VAR 'counter')
[25] FLOAT 'double' size=8
[26] DECL_TAG 'user' type_id=6 component_idx=-1
[27] DECL_TAG 'nonnull' type_id=22 component_idx=0
[28] DECL_TAG 'field' type_id=6 component_idx=1
[29] TYPE_TAG 'rcu' type_id=6
[30] PTR '(anon)' type_id=29
[31] DECL_TAG 'var_tag' type_id=23 component_idx=-1
[32] DECL_TAG 'td' type_id=16 component_idx=-1
`

// bpftool returns the path of bpftool: on PATH, or in /usr/sbin when PATH
// lacks it (as for users other than root on Debian).
func bpftool(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("bpftool"); err != nil {
		if fi, err := os.Stat("/usr/sbin/bpftool"); err == nil && fi.Mode().IsRegular() {
			return "/usr/sbin/bpftool"
		}
	}
	return testenv.Tool(t, "bpftool")
}

// bpftoolDump writes data as a raw BTF file and returns what `bpftool btf
// dump file` prints for it.
func bpftoolDump(t *testing.T, data []byte) string {
	t.Helper()
	tool := bpftool(t)
	file := filepath.Join(t.TempDir(), "types.btf")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "btf", "dump", "file", file).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool btf dump file: %v\n%s", err, out)
	}
	return string(out)
}

// bpftool, which reads BTF with libbpf, prints every kind as it was meant.
func TestKindsBpftool(t *testing.T) {
	data, _, err := allKinds().Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := bpftoolDump(t, data)
	if got == allKindsDump {
		return
	}
	gotLines, wantLines := strings.Split(got, "\n"), strings.Split(allKindsDump, "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("bpftool line %d:\n got %s\nwant %s", i+1, g, w)
		}
	}
}

// The types of the existing objects, as bpftool prints them.
func TestSampleBpftool(t *testing.T) {
	data, _, err := sample().Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] INT '__ARRAY_SIZE_TYPE__' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[3] PTR '(anon)' type_id=0
[4] FUNC_PROTO '(anon)' ret_type_id=1 vlen=1
	'ctx' type_id=3
[5] FUNC 'prog' type_id=4 linkage=global
[6] ARRAY '(anon)' type_id=1 index_type_id=2 nr_elems=2
[7] PTR '(anon)' type_id=6
[8] ARRAY '(anon)' type_id=1 index_type_id=2 nr_elems=16
[9] PTR '(anon)' type_id=8
[10] STRUCT '(anon)' size=16 vlen=2
	'type' type_id=7 bits_offset=0
	'max_entries' type_id=9 bits_offset=64
[11] VAR 'counts' type_id=10, linkage=global
[12] DATASEC '.maps' size=16 vlen=1
	type_id=11 offset=0 size=16 (VAR 'counts')
[13] INT '__u32' size=4 bits_offset=0 nr_bits=32 encoding=(none)
[14] VAR 'limit' type_id=13, linkage=global
[15] DATASEC '.data' size=4 vlen=1
	type_id=14 offset=0 size=4 (VAR 'limit')
`
	if got := bpftoolDump(t, data); got != want {
		t.Errorf("bpftool:\n%s\nwant\n%s", got, want)
	}
}

// cilium/ebpf's parser reads every kind back with its names, sizes,
// members, bitfields, enumerators and tags. It reads an ENUM64 as an Enum
// like any other (bpftool's test tells the two apart), and it lists no
// DECL_TAG: it moves each tag's value to the Tags of the struct, member,
// function parameter, variable or typedef it is on, which is what the
// tags= parts check.
func TestKindsCilium(t *testing.T) {
	data, _, err := allKinds().Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cbtf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("cilium/ebpf rejects the BTF: %v", err)
	}
	want := `[0] void
[1] INT int size=4 signed
[2] INT unsigned int size=4 unsigned
[3] INT char size=1 char
[4] INT _Bool size=1 bool
[5] PTR -> [6]
[6] STRUCT node size=16 tags=[user] {next:[5]@0 v:[1]@64 tags=[field] flags:[2]@96:3 mode:[2]@99:5}
[7] UNION u size=8 {i:[1]@0 p:[5]@0}
[8] UNION bits size=4 {a:[2]@0:3}
[9] ENUM e size=4 unsigned {A=0 B=1 C=4294967295}
[10] ENUM se size=4 signed {NEG=-1 POS=2147483647}
[11] ENUM small size=1 unsigned {X=1}
[12] ENUM big size=8 unsigned {HUGE=1099511627776 MAX=18446744073709551615}
[13] ENUM sbig size=8 signed {MIN=-9223372036854775808}
[14] FWD fs struct
[15] FWD fu union
[16] TYPEDEF u32 -> [2] tags=[td]
[17] VOLATILE -> [1]
[18] CONST -> [17]
[19] RESTRICT -> [5]
[20] ARRAY [3] x 16 index [2]
[21] FUNC_PROTO ret [1] (ctx:[5] n:[16] :[0])
[22] FUNC f global proto [21] paramtags=[[nonnull] [] []]
[23] VAR counter global -> [16] tags=[var_tag]
[24] DATASEC .data size=4 {[23]@0+4}
[25] FLOAT double size=8
[29] TYPE_TAG rcu -> [6]
[30] PTR -> [29]`
	got := strings.Join(describeSpec(t, spec), "\n")
	if got != want {
		t.Errorf("cilium/ebpf reads\n%s\nwant\n%s", got, want)
	}
}

// describeSpec describes each type of spec on a line, in ID order.
func describeSpec(t *testing.T, spec *cbtf.Spec) []string {
	t.Helper()
	id := func(typ cbtf.Type) string {
		i, err := spec.TypeID(typ)
		if err != nil {
			t.Fatalf("type %v: %v", typ, err)
		}
		return fmt.Sprintf("[%d]", i)
	}
	tags := func(tags []string) string {
		if len(tags) == 0 {
			return ""
		}
		return fmt.Sprintf(" tags=%v", tags)
	}
	members := func(ms []cbtf.Member) string {
		var s []string
		for _, m := range ms {
			d := fmt.Sprintf("%s:%s@%d", m.Name, id(m.Type), m.Offset)
			if m.BitfieldSize != 0 {
				d += fmt.Sprintf(":%d", m.BitfieldSize)
			}
			s = append(s, d+tags(m.Tags))
		}
		return "{" + strings.Join(s, " ") + "}"
	}
	var out []string
	for typ, err := range spec.All() {
		if err != nil {
			t.Fatal(err)
		}
		var d string
		switch typ := typ.(type) {
		case *cbtf.Void:
			d = "void"
		case *cbtf.Int:
			d = fmt.Sprintf("INT %s size=%d %v", typ.Name, typ.Size, typ.Encoding)
		case *cbtf.Pointer:
			d = "PTR -> " + id(typ.Target)
		case *cbtf.Array:
			d = fmt.Sprintf("ARRAY %s x %d index %s", id(typ.Type), typ.Nelems, id(typ.Index))
		case *cbtf.Struct:
			d = fmt.Sprintf("STRUCT %s size=%d%s %s", typ.Name, typ.Size, tags(typ.Tags), members(typ.Members))
		case *cbtf.Union:
			d = fmt.Sprintf("UNION %s size=%d%s %s", typ.Name, typ.Size, tags(typ.Tags), members(typ.Members))
		case *cbtf.Enum:
			sign := "unsigned"
			if typ.Signed {
				sign = "signed"
			}
			var vs []string
			for _, v := range typ.Values {
				if typ.Signed {
					vs = append(vs, fmt.Sprintf("%s=%d", v.Name, int64(v.Value)))
				} else {
					vs = append(vs, fmt.Sprintf("%s=%d", v.Name, v.Value))
				}
			}
			d = fmt.Sprintf("ENUM %s size=%d %s {%s}", typ.Name, typ.Size, sign, strings.Join(vs, " "))
		case *cbtf.Fwd:
			d = fmt.Sprintf("FWD %s %v", typ.Name, typ.Kind)
		case *cbtf.Typedef:
			d = fmt.Sprintf("TYPEDEF %s -> %s%s", typ.Name, id(typ.Type), tags(typ.Tags))
		case *cbtf.Volatile:
			d = "VOLATILE -> " + id(typ.Type)
		case *cbtf.Const:
			d = "CONST -> " + id(typ.Type)
		case *cbtf.Restrict:
			d = "RESTRICT -> " + id(typ.Type)
		case *cbtf.FuncProto:
			var ps []string
			for _, p := range typ.Params {
				ps = append(ps, p.Name+":"+id(p.Type))
			}
			d = fmt.Sprintf("FUNC_PROTO ret %s (%s)", id(typ.Return), strings.Join(ps, " "))
		case *cbtf.Func:
			d = fmt.Sprintf("FUNC %s %v proto %s%s", typ.Name, typ.Linkage, id(typ.Type), tags(typ.Tags))
			if typ.ParamTags != nil {
				d += fmt.Sprintf(" paramtags=%v", typ.ParamTags)
			}
		case *cbtf.Var:
			d = fmt.Sprintf("VAR %s %v -> %s%s", typ.Name, typ.Linkage, id(typ.Type), tags(typ.Tags))
		case *cbtf.Datasec:
			var vs []string
			for _, v := range typ.Vars {
				vs = append(vs, fmt.Sprintf("%s@%d+%d", id(v.Type), v.Offset, v.Size))
			}
			d = fmt.Sprintf("DATASEC %s size=%d {%s}", typ.Name, typ.Size, strings.Join(vs, " "))
		case *cbtf.Float:
			d = fmt.Sprintf("FLOAT %s size=%d", typ.Name, typ.Size)
		case *cbtf.TypeTag:
			d = fmt.Sprintf("TYPE_TAG %s -> %s", typ.Value, id(typ.Type))
		default:
			t.Fatalf("unexpected type %T", typ)
		}
		out = append(out, id(typ)+" "+d)
	}
	return out
}

// The running kernel accepts the BTF (BPF_BTF_LOAD), which checks more
// than the parsers do: names, sizes, offsets, references, tags.
func TestKindsKernel(t *testing.T) {
	testenv.Root(t)
	for name, b := range map[string]*Builder{"allKinds": allKinds(), "sample": sample()} {
		data, _, err := b.Finish(nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := cbtf.NewHandleFromRawBTF(data)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) && strings.Contains(err.Error(), "not supported") {
			testenv.Missing(t, fmt.Sprintf("the kernel does not load BTF here: %v", err))
		}
		if err != nil {
			t.Fatalf("%s: the kernel rejects the BTF: %v", name, err)
		}
		h.Close()
	}
}

// Each check records an error that Finish returns, naming the type; the
// methods never panic and the first error wins.
func TestValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(b *Builder)
		want  string
	}{
		{"int size", func(b *Builder) { b.Int("x", 3, false) }, `type [1] INT "x": size 3, want 1, 2, 4, 8 or 16`},
		{"int encoding", func(b *Builder) { b.IntEnc("x", 4, IntSigned|IntChar) }, "encoding 0x3"},
		{"struct name", func(b *Builder) { b.Struct("a-b", 0, nil) }, `STRUCT "a-b": invalid name`},
		{"member name", func(b *Builder) { b.Struct("s", 4, []Member{{Name: "1a", Type: b.Int("i", 4, true)}}) }, `member 0: invalid name "1a"`},
		{"member void", func(b *Builder) { b.Struct("s", 4, []Member{{Name: "a"}}) }, "member 0 (a): type is void"},
		{"union offset", func(b *Builder) { b.Union("u", 8, []Member{{Name: "a", Type: b.Int("i", 4, true), BitOffset: 32}}) }, "bit offset 32 in a union"},
		{"member order", func(b *Builder) {
			i := b.Int("i", 4, true)
			b.Struct("s", 8, []Member{{Name: "a", Type: i, BitOffset: 32}, {Name: "b", Type: i}})
		}, "member 1 (b): bit offset 0 before the previous member's 32"},
		{"member past end", func(b *Builder) { b.Struct("s", 4, []Member{{Name: "a", Type: b.Int("i", 4, true), BitOffset: 40}}) }, "past the end of 4 bytes"},
		{"bitfield size", func(b *Builder) {
			b.Struct("s", 64, []Member{{Name: "a", Type: b.Int("i", 4, true), BitfieldSize: 256}})
		}, "bitfield of 256 bits, at most 255"},
		{"bitfield offset", func(b *Builder) {
			b.Struct("s", 1<<22, []Member{{Name: "a", Type: b.Int("i", 4, true), BitOffset: 1 << 24, BitfieldSize: 1}})
		}, "does not fit in 24 bits"},
		{"enum size", func(b *Builder) { b.Enum("e", 3, false, nil) }, `ENUM "e": size 3, want 1, 2, 4 or 8`},
		{"enum unsigned range", func(b *Builder) { b.Enum("e", 4, false, []EnumValue{{"A", -1}}) }, "value A = -1 does not fit in an unsigned 32-bit enum"},
		{"enum signed range", func(b *Builder) { b.Enum("e", 4, true, []EnumValue{{"A", math.MaxUint32}}) }, "does not fit in a signed 32-bit enum"},
		{"enumerator name", func(b *Builder) { b.Enum("e", 4, false, []EnumValue{{"", 1}}) }, `value 0: invalid name ""`},
		{"enum64 size", func(b *Builder) { b.Enum64("e", 16, false, nil) }, `ENUM64 "e": size 16`},
		{"enum64 enumerator", func(b *Builder) { b.Enum64("e", 8, false, []Enum64Value{{"a b", 1}}) }, `invalid name "a b"`},
		{"fwd name", func(b *Builder) { b.Fwd("", FwdStruct) }, "FWD: invalid name"},
		{"fwd kind", func(b *Builder) { b.Fwd("f", 2) }, "forward kind 2"},
		{"typedef name", func(b *Builder) { b.Typedef("", b.Int("i", 4, true)) }, "TYPEDEF: invalid name"},
		{"type tag", func(b *Builder) { b.TypeTag("", b.Int("i", 4, true)) }, "TYPE_TAG: empty tag"},
		{"decl tag", func(b *Builder) { b.DeclTag("", b.Struct("s", 0, nil), -1) }, "DECL_TAG: empty tag"},
		{"decl tag component", func(b *Builder) { b.DeclTag("t", b.Struct("s", 0, nil), -2) }, "component -2"},
		{"decl tag target", func(b *Builder) { b.DeclTag("t", b.Int("i", 4, true), -1) }, `type [2] DECL_TAG "t": its target is [1] INT "i"`},
		{"decl tag var component", func(b *Builder) { b.DeclTag("t", b.Var("v", b.Int("i", 4, true), VarStatic), 0) }, "only a struct, union or function has components"},
		{"decl tag member", func(b *Builder) {
			i := b.Int("i", 4, true)
			b.DeclTag("t", b.Struct("s", 8, []Member{{Name: "a", Type: i}, {Name: "b", Type: i, BitOffset: 32}}), 2)
		}, `component 2 of [2] STRUCT "s", which has 2`},
		{"decl tag param", func(b *Builder) {
			b.DeclTag("t", b.Func("f", b.FuncProto(0, []Param{{Name: "x", Type: b.Int("i", 4, true)}}), FuncStatic), 1)
		}, `component 1 of [3] FUNC "f", which has 1`},
		{"func name", func(b *Builder) { b.Func("", b.FuncProto(0, nil), FuncStatic) }, "FUNC: invalid name"},
		{"func linkage", func(b *Builder) { b.Func("f", b.FuncProto(0, nil), 3) }, "linkage 3"},
		{"func proto", func(b *Builder) { b.Func("f", b.Int("int", 4, true), FuncGlobal) }, `type [2] FUNC "f": its prototype is [1] INT "int"`},
		{"func void proto", func(b *Builder) { b.Func("f", 0, FuncGlobal) }, `its prototype is void`},
		{"param void", func(b *Builder) { b.FuncProto(0, []Param{{}, {Name: "x", Type: b.Int("i", 4, true)}}) }, "parameter 0 (): type is void"},
		{"param name", func(b *Builder) { b.FuncProto(0, []Param{{Name: "a+", Type: b.Int("i", 4, true)}}) }, `parameter 0: invalid name "a+"`},
		{"var name", func(b *Builder) { b.Var("1x", b.Int("i", 4, true), VarStatic) }, `VAR "1x": invalid name`},
		{"var void", func(b *Builder) { b.Var("x", 0, VarStatic) }, "type is void"},
		{"var linkage", func(b *Builder) { b.Var("x", b.Int("i", 4, true), 3) }, "linkage 3"},
		{"datasec name", func(b *Builder) { b.Datasec("", 0, nil) }, "DATASEC: invalid section name"},
		{"datasec entry", func(b *Builder) { b.Datasec(".data", 4, []VarSecinfo{{Type: b.Int("i", 4, true), Size: 4}}) }, `entry 0 is [1] INT "i"`},
		{"float size", func(b *Builder) { b.Float("f", 6) }, `FLOAT "f": size 6`},
		{"array elem", func(b *Builder) { b.Array(0, b.Int("i", 4, true), 1) }, "element type is void"},
		{"array index", func(b *Builder) { b.Array(b.Int("i", 4, true), 0, 1) }, "index type is void"},
		{"missing type", func(b *Builder) { b.Int("i", 4, true); b.Ptr(99) }, "type [2] PTR refers to type [99], but there are only 2 types"},
		{"vlen", func(b *Builder) {
			params := make([]Param, 1<<16)
			for i := range params {
				params[i].Type = 1
			}
			b.Int("i", 4, true)
			b.FuncProto(0, params)
		}, "type [2] FUNC_PROTO: 65536 members, more than BTF's 65535"},
		{"first error wins", func(b *Builder) { b.Int("x", 3, false); b.Float("f", 6) }, "INT"},
		{"string table", func(b *Builder) { b.Int("i", 4, true); b.String(strings.Repeat("x", 1<<24)) }, "string table of 16777220 bytes, more than the 16777216"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Builder
			tc.build(&b)
			data, ext, err := b.Finish(nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Finish error = %v, want one containing %q", err, tc.want)
			}
			if data != nil || ext != nil {
				t.Errorf("Finish returned data with its error")
			}
		})
	}
}

func TestIdent(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "a": true, "_": true, ".L": true, "a.b_c9": true, "9a": false,
		"a b": false, "a-b": false, "é": false, strings.Repeat("a", 512): true, strings.Repeat("a", 513): false,
	} {
		if got := validIdent(s); got != want {
			t.Errorf("validIdent(%q) = %v, want %v", s, got, want)
		}
	}
	for s, want := range map[string]bool{"": false, ".maps": true, "a b/c?": true, "a\tb": false, "\x7f": false} {
		if got := validSection(s); got != want {
			t.Errorf("validSection(%q) = %v, want %v", s, got, want)
		}
	}
}
