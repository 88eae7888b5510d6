package btf

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	cbtf "github.com/cilium/ebpf/btf"
)

// sample builds the types an object with one map, one global and one
// program needs.
func sample() *Builder {
	b := NewBuilder()
	intT := b.Int("int", 4, true)
	idx := b.Int("__ARRAY_SIZE_TYPE__", 4, false)
	proto := b.FuncProto(intT, []Param{{Name: "ctx", Type: b.Ptr(0)}})
	b.Func("prog", proto, FuncGlobal)
	typ := b.Ptr(b.Array(intT, idx, 2))
	me := b.Ptr(b.Array(intT, idx, 16))
	st := b.Struct("", 16, []Member{{Name: "type", Type: typ}, {Name: "max_entries", Type: me, BitOffset: 64}})
	b.Datasec(".maps", 16, []VarSecinfo{{Type: b.Var("counts", st, VarGlobalAllocated), Size: 16}})
	u32 := b.Int("__u32", 4, false)
	b.Datasec(".data", 4, []VarSecinfo{{Type: b.Var("limit", u32, VarGlobalAllocated), Size: 4}})
	return b
}

// cilium/ebpf's parser reads back every type, with the names, sizes and
// links the builder was given.
func TestCiliumParses(t *testing.T) {
	data, _, err := sample().Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := cbtf.LoadSpecFromReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("cilium/ebpf rejects the BTF: %v", err)
	}
	var got []string
	for typ, err := range spec.All() {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%v", typ))
	}
	want := `[Void Int:"int"[signed size=4] Int:"__ARRAY_SIZE_TYPE__"[unsigned size=4] Pointer[target=Void] FuncProto[args=1 return=Int:"int"] Func:"prog"[global proto=FuncProto] Array[index=Int:"__ARRAY_SIZE_TYPE__" type=Int:"int" n=2] Pointer[target=Array] Array[index=Int:"__ARRAY_SIZE_TYPE__" type=Int:"int" n=16] Pointer[target=Array] Struct[fields=2 fieldNames=[type max_entries]] Var:"counts"[global] Datasec:".maps" Int:"__u32"[unsigned size=4] Var:"limit"[global] Datasec:".data"]`
	if s := fmt.Sprint(got); s != want {
		t.Errorf("types =\n%s\nwant\n%s", s, want)
	}
	var ds *cbtf.Datasec
	if err := spec.TypeByName(".maps", &ds); err != nil {
		t.Fatal(err)
	}
	if ds.Size != 16 {
		t.Errorf(".maps size = %d", ds.Size)
	}
	if v := ds.Vars[0]; v.Type.TypeName() != "counts" || v.Size != 16 || v.Offset != 0 {
		t.Errorf(".maps var = %+v", v)
	}
}

// The header and the .BTF.ext layout, byte for byte.
func TestEncoding(t *testing.T) {
	b := NewBuilder()
	intT := b.Int("int", 4, true)
	fn := b.Func("f", b.FuncProto(intT, nil), FuncStatic)
	file, line := b.String("p.star"), b.String("exit()")
	data, ext, err := b.Finish([]ExtSection{{
		Name:  "xdp",
		Funcs: []FuncInfo{{InsnOff: 0, Type: fn}},
		Lines: []LineInfo{{InsnOff: 0, FileNameOff: file, LineOff: line, Line: 3, Col: 5000}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantBTF := "9feb0100" + "18000000" + "00000000" + "28000000" + "28000000" + "19000000" +
		"01000000" + "00000001" + "04000000" + "20000001" + // [1] INT int size 4, signed, 32 bits
		"00000000" + "0000000d" + "01000000" + // [2] FUNC_PROTO returning [1]
		"05000000" + "0000000c" + "02000000" + // [3] FUNC f, static
		hex.EncodeToString([]byte("\x00int\x00f\x00p.star\x00exit()\x00xdp\x00"))
	if got := hex.EncodeToString(data); got != wantBTF {
		t.Errorf(".BTF =\n%s\nwant\n%s", got, wantBTF)
	}
	le := binary.LittleEndian
	if le.Uint16(ext) != 0xeb9f || le.Uint32(ext[4:]) != 32 {
		t.Fatalf(".BTF.ext header = %x", ext[:8])
	}
	body := ext[32:]
	funcs := body[le.Uint32(ext[8:]):][:le.Uint32(ext[12:])]
	lines := body[le.Uint32(ext[16:]):][:le.Uint32(ext[20:])]
	xdp := uint32(strings.Index("\x00int\x00f\x00p.star\x00exit()\x00xdp\x00", "xdp"))
	if want := u32s(8, xdp, 1, 0, 3); !bytes.Equal(funcs, want) {
		t.Errorf("func_info = %x, want %x", funcs, want)
	}
	if want := u32s(16, xdp, 1, 0, file, line, 3<<10|1023); !bytes.Equal(lines, want) {
		t.Errorf("line_info = %x, want %x (columns past 1023 are clamped)", lines, want)
	}
	if le.Uint32(ext[28:]) != 0 {
		t.Error("core_relo_len != 0")
	}
	// The whole .BTF.ext, as objects without CO-RE records have always
	// had it: no core_relo part after line_info.
	wantExt := "9feb0100" + "20000000" + "00000000" + "14000000" + "14000000" + "1c000000" + "30000000" + "00000000" +
		hex.EncodeToString(funcs) + hex.EncodeToString(lines)
	if got := hex.EncodeToString(ext); got != wantExt {
		t.Errorf(".BTF.ext =\n%s\nwant\n%s", got, wantExt)
	}
}

// The zero Builder is an empty one: it makes the string table on first
// use, and encodes as NewBuilder's.
func TestZeroBuilder(t *testing.T) {
	var z Builder
	if _, _, err := z.Finish(nil); err == nil || !strings.Contains(err.Error(), "no types") {
		t.Errorf("empty zero Builder: %v", err)
	}
	var b Builder
	if off := b.String(""); off != 0 {
		t.Errorf(`String("") = %d`, off)
	}
	if id := b.Int("int", 4, true); id != 1 {
		t.Errorf("first type is [%d]", id)
	}
	var p Builder
	if id := p.Ptr(0); id != 1 || p.Len() != 1 || p.Next() != 2 {
		t.Errorf("Ptr on a zero Builder: [%d], Len %d, Next %d", id, p.Len(), p.Next())
	}
	got, _, err := b.Finish(nil)
	if err != nil {
		t.Fatal(err)
	}
	n := NewBuilder()
	n.Int("int", 4, true)
	want, _, _ := n.Finish(nil)
	if !bytes.Equal(got, want) {
		t.Errorf("zero Builder:\n%x\nNewBuilder:\n%x", got, want)
	}
}

func u32s(vs ...uint32) []byte {
	var out []byte
	for _, v := range vs {
		out = binary.LittleEndian.AppendUint32(out, v)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a, _, _ := sample().Finish(nil)
	b, _, _ := sample().Finish(nil)
	if !bytes.Equal(a, b) {
		t.Error("same types, different bytes")
	}
}

func TestErrors(t *testing.T) {
	if _, _, err := NewBuilder().Finish(nil); err == nil || !strings.Contains(err.Error(), "no types") {
		t.Errorf("empty BTF: %v", err)
	}
	b := sample()
	b.String("a\x00b")
	if _, _, err := b.Finish(nil); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("NUL in a string: %v", err)
	}
	b = sample()
	if _, _, err := b.Finish([]ExtSection{{Name: "x", Lines: []LineInfo{{Line: 1 << 22}}}}); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("line past 2^22: %v", err)
	}
}

// Line records given by EachLine encode as the same records in Lines do,
// and a count that does not match what EachLine yields is an error.
func TestEachLine(t *testing.T) {
	lines := []LineInfo{{InsnOff: 0, Line: 3, Col: 2}, {InsnOff: 8, Line: 4, Col: 1}}
	encode := func(s ExtSection) ([]byte, error) {
		b := NewBuilder()
		b.Int("int", 4, true)
		_, ext, err := b.Finish([]ExtSection{s})
		return ext, err
	}
	want, err := encode(ExtSection{Name: "xdp", Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	got, err := encode(ExtSection{Name: "xdp", LineCount: 2, EachLine: slices.Values(lines)})
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("EachLine: %x, %v; want %x", got, err, want)
	}
	for _, n := range []int{1, 3} {
		if _, err := encode(ExtSection{Name: "xdp", LineCount: n, EachLine: slices.Values(lines)}); err == nil {
			t.Errorf("LineCount %d for 2 records: no error", n)
		}
	}
}
