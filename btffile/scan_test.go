package btffile

import (
	"os"
	"slices"
	"testing"

	"github.com/bpfstar/bpfstar/btf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// TestScanAgreesWithIndex: on the running kernel's BTF, the scan of the
// records' name offsets finds, for every 50th name, exactly the types the
// index (a map of every record's name, read as the conversions read it)
// holds, and nothing for a name no type has.
func TestScanAgreesWithIndex(t *testing.T) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string][]uint32{}
	var names []string
	for i, off := range f.offs {
		n, err := f.str(le.Uint32(f.types[off:]))
		if err != nil {
			t.Fatal(err)
		}
		if n == "" {
			continue
		}
		if index[n] == nil {
			names = append(names, n)
		}
		index[n] = append(index[n], uint32(i+1))
	}
	checked := 0
	for i := 0; i < len(names); i += 50 {
		f.lookups = 0 // always the scan
		if got := f.byName(names[i]); !slices.Equal(got, index[names[i]]) {
			t.Fatalf("byName(%q) = %v, want %v", names[i], got, index[names[i]])
		}
		checked++
	}
	for _, absent := range []string{"task_struc", "ask_struct", "task_struct_", "no such type"} {
		f.lookups = 0
		if got := f.byName(absent); !slices.Equal(got, index[absent]) {
			t.Errorf("byName(%q) = %v, want %v", absent, got, index[absent])
		}
	}
	if checked < 1000 {
		t.Errorf("only %d names checked", checked)
	}
}

// TestNameInsideString: a name offset into the middle of a string names
// its tail, by the scan as by the index: the type at offset 3 of "\x00xyint"
// is "int" (the string search this scan replaced found only whole
// strings, so Type("int") failed while the type's name read "int").
func TestNameInsideString(t *testing.T) {
	f, err := Parse(rawBTF("\x00xyint\x00", []uint32{1, kindInt << 24, 4, 1<<24 | 32}, []uint32{3, kindInt << 24, 4, 32}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range scanLookups + 2 {
		if got := f.byName("int"); !slices.Equal(got, []uint32{2}) {
			t.Fatalf("lookup %d: byName(int) = %v, want [2]", i, got)
		}
		if got := f.byName("xyint"); !slices.Equal(got, []uint32{1}) {
			t.Fatalf("lookup %d: byName(xyint) = %v, want [1]", i, got)
		}
		if got := f.byName("yint"); got != nil {
			t.Fatalf("lookup %d: byName(yint) = %v, want none", i, got)
		}
	}
	typ, err := f.Type("int")
	if i, ok := typ.(*btf.Int); err != nil || !ok || i.Name != "int" {
		t.Fatalf("Type(int) = %v, %v", typ, err)
	}
}

// TestRecordLen: the packed tables give each kind's record length as the
// BTF format defines it (kernel include/uapi/linux/btf.h), and 0 for
// kinds that do not exist.
func TestRecordLen(t *testing.T) {
	for kind := range uint32(32) {
		for _, vlen := range []uint32{0, 1, 3, 0xffff} {
			var want uint32
			switch kind {
			case kindPtr, kindFwd, kindTypedef, kindVolatile, kindConst, kindRestrict, kindFunc, kindFloat, kindTypeTag:
				want = 12
			case kindInt, kindVar, kindDeclTag:
				want = 16
			case kindArray:
				want = 24
			case kindStruct, kindUnion, kindDatasec, kindEnum64:
				want = 12 + 12*vlen
			case kindEnum, kindFuncProto:
				want = 12 + 8*vlen
			}
			info := kind<<24 | vlen | 1<<31
			if got := recordLen(info); got != int(want) {
				t.Errorf("kind %d vlen %d: recordLen = %d, want %d", kind, vlen, got, want)
			}
		}
	}
}

// BenchmarkVmlinuxParts times BenchmarkVmlinux's parts apart: Parse (the
// walk over the records) and one name lookup by scanning them.
func BenchmarkVmlinuxParts(b *testing.B) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(b, "kernel BTF: "+err.Error())
	}
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Parse(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	f, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f.lookups = 0 // a scan, never the index
			if len(f.byName("task_struct")) == 0 {
				b.Fatal("no task_struct")
			}
		}
	})
}
