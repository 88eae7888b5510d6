package objwriter

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/internal/golden"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

var (
	exit   = []byte{0x95, 0, 0, 0, 0, 0, 0, 0}
	ldimm  = []byte{0x18, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	callfn = []byte{0x85, 0x10, 0, 0, 0xff, 0xff, 0xff, 0xff}
)

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// sample is an object with two programs in one section, a subprogram, a
// map, data and bss, and relocations to a global symbol and a section.
func sample(t *testing.T) *Object {
	o := New()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := o.AddProgram("xdp", "first", cat(ldimm, exit))
	must(err)
	_, err = o.AddProgram("xdp", "second", cat(callfn, exit))
	must(err)
	must(o.AddSection(&Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Align: 8, Data: exit,
		Symbols: []Symbol{{Name: "helper_fn", Size: 8, Type: elf.STT_FUNC, Bind: elf.STB_LOCAL}}}))
	must(o.AddSection(&Section{Name: ".maps", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 8, Data: make([]byte, 40),
		Symbols: []Symbol{{Name: "counts", Size: 40, Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL}}}))
	must(o.AddSection(&Section{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 8, Size: 16,
		Symbols: []Symbol{{Name: "zeroes", Size: 16, Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL}}}))
	s := o.Section("xdp")
	s.Relocs = []Reloc{{Offset: 0, Symbol: "counts", Type: R_BPF_64_64}, {Offset: 24, Symbol: ".text", ToSection: true, Type: R_BPF_64_32}}
	must(o.SetLicense("GPL"))
	return o
}

func TestLayout(t *testing.T) {
	b, err := sample(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	type sec struct {
		Name        string
		Type        elf.SectionType
		Flags       elf.SectionFlag
		Size        uint64
		Link, Info  uint32
		Align, Ents uint64
	}
	var got []sec
	for _, s := range f.Sections {
		got = append(got, sec{s.Name, s.Type, s.Flags, s.Size, s.Link, s.Info, s.Addralign, s.Entsize})
		if s.Type != elf.SHT_NOBITS && s.Addralign > 1 && s.Offset%s.Addralign != 0 {
			t.Errorf("section %s at %#x is not aligned to %d", s.Name, s.Offset, s.Addralign)
		}
	}
	AX, WA := elf.SHF_ALLOC|elf.SHF_EXECINSTR, elf.SHF_ALLOC|elf.SHF_WRITE
	want := []sec{
		{"", elf.SHT_NULL, 0, 0, 0, 0, 0, 0},
		{".strtab", elf.SHT_STRTAB, 0, f.Sections[1].Size, 0, 0, 1, 0},
		{"xdp", elf.SHT_PROGBITS, AX, 40, 0, 0, 8, 0},
		{".relxdp", elf.SHT_REL, elf.SHF_INFO_LINK, 32, 8, 2, 8, 16},
		{".text", elf.SHT_PROGBITS, AX, 8, 0, 0, 8, 0},
		{".maps", elf.SHT_PROGBITS, WA, 40, 0, 0, 8, 0},
		{".bss", elf.SHT_NOBITS, WA, 16, 0, 0, 8, 0},
		{"license", elf.SHT_PROGBITS, WA, 4, 0, 0, 1, 0},
		{".symtab", elf.SHT_SYMTAB, 0, 7 * 24, 1, 3, 8, 24},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sections (-want +got):\n%s", diff)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range syms {
		names = append(names, s.Name+"/"+elf.ST_BIND(s.Info).String()+"/"+elf.ST_TYPE(s.Info).String())
	}
	wantSyms := "/STB_LOCAL/STT_SECTION helper_fn/STB_LOCAL/STT_FUNC first/STB_GLOBAL/STT_FUNC second/STB_GLOBAL/STT_FUNC counts/STB_GLOBAL/STT_OBJECT zeroes/STB_GLOBAL/STT_OBJECT"
	if got := strings.Join(names, " "); got != wantSyms {
		t.Errorf("symbols\n got %s\nwant %s", got, wantSyms)
	}
	rel, _ := f.Sections[3].Data()
	wantRel := cat(
		[]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0},   // offset 0, R_BPF_64_64, symbol 5 (counts)
		[]byte{24, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0}) // offset 24, R_BPF_64_32, symbol 1 (.text section)
	if !bytes.Equal(rel, wantRel) {
		t.Errorf(".relxdp = % x\nwant     % x", rel, wantRel)
	}
}

func TestDeterministic(t *testing.T) {
	a, err := sample(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		b, _ := sample(t).Bytes()
		if !bytes.Equal(a, b) {
			t.Fatal("two encodings of the same object differ")
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(o *Object)
		want string
	}{
		{"dup symbol", func(o *Object) { o.AddProgram("xdp", "a", exit); o.AddProgram("socket", "a", exit) }, `duplicate symbol "a"`},
		{"undefined reloc", func(o *Object) {
			o.AddProgram("xdp", "a", ldimm)
			o.Section("xdp").Relocs = []Reloc{{Symbol: "nope"}}
		}, `refers to undefined symbol "nope"`},
		{"empty section", func(o *Object) { o.AddSection(&Section{Name: ".data", Type: elf.SHT_PROGBITS}) }, `section ".data" is empty`},
		{"no name", func(o *Object) { o.AddSection(&Section{Type: elf.SHT_PROGBITS, Data: exit}) }, "section without a name"},
		{"zero section", func(o *Object) { o.AddSection(&Section{Name: "zero"}) }, `section "zero" has type SHT_NULL, want SHT_PROGBITS or SHT_NOBITS`},
		{"size not data's", func(o *Object) {
			o.AddSection(&Section{Name: ".BTF.ext", Type: elf.SHT_PROGBITS, Data: exit, Size: 16})
		}, `section ".BTF.ext" has Size 16 but 8 bytes of Data`},
		{"nobits with data", func(o *Object) {
			o.AddSection(&Section{Name: ".bss", Type: elf.SHT_NOBITS, Data: exit, Size: 8})
		}, `section ".bss" is SHT_NOBITS but has 8 bytes of Data`},
		{"reloc outside", func(o *Object) {
			o.AddProgram("xdp", "a", exit)
			o.Section("xdp").Relocs = []Reloc{{Offset: 8, Symbol: "a"}}
		}, "lies outside section"},
	} {
		o := New()
		tc.f(o)
		if _, err := o.Bytes(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	o := New()
	if err := o.AddSection(&Section{Name: ".data", Type: elf.SHT_PROGBITS, Data: exit, Size: 8}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Bytes(); err != nil {
		t.Errorf("a section whose Size is that of its Data: %v", err)
	}
	o = New()
	o.SetLicense("GPL")
	if err := o.SetLicense("MIT"); err == nil {
		t.Error("second license accepted")
	}
	if _, err := o.AddProgram("license", "p", exit); err == nil {
		t.Error("code added to the license section")
	}
}

// llvm-readelf reads the object without a warning.
func TestReadelf(t *testing.T) {
	readelf := testenv.Tool(t, "llvm-readelf-19")
	b, err := sample(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "o.o")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(readelf, "-a", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() != 0 {
		t.Fatalf("llvm-readelf-19: %v\n%s", err, stderr.Bytes())
	}
	for _, want := range []string{
		"Relocation section '.relxdp' at offset",
		"0000000000000000  0000000500000001 R_BPF_64_64            0000000000000000 counts",
		"0000000000000018  000000010000000a R_BPF_64_32            0000000000000000 .text",
		"FUNC    GLOBAL DEFAULT     2 second",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("readelf output lacks %q:\n%s", want, out)
		}
	}
}

// WriteTo writes what Bytes returns, and counts it.
func TestWriteTo(t *testing.T) {
	want, err := sample(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	im, err := sample(t).Layout()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	n, err := im.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) || n != int64(len(want)) || im.Size() != len(want) {
		t.Errorf("WriteTo wrote %d bytes (returned %d, Size %d), Bytes %d; equal: %v", b.Len(), n, im.Size(), len(want), bytes.Equal(b.Bytes(), want))
	}
}

// Past ELF's 65,279 section headers (SHN_LORESERVE), Layout refuses: the
// 16-bit indexes would wrap around.
func TestTooManySections(t *testing.T) {
	o := New()
	for i := 0; i < 65300; i++ {
		if _, err := o.AddProgram(fmt.Sprintf("s%d", i), fmt.Sprintf("p%d", i), []byte{0x95, 0, 0, 0, 0, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.Layout(); err == nil || !strings.Contains(err.Error(), "ELF numbers at most 65279") {
		t.Errorf("Layout: %v", err)
	}
}

// The encodings of fixed objects do not change: testdata holds them as
// this package wrote them (go test -update rewrites them; review the diff).
func TestGolden(t *testing.T) {
	withExt := sample(t)
	if err := withExt.AddSection(&Section{Name: ".BTF.ext", Type: elf.SHT_PROGBITS, Align: 4, Data: []byte("0123456789abcdef")}); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]*Object{"sample.o": sample(t), "sample_btf_ext.o": withExt} {
		b, err := o.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", name), b)
	}
}

// sectionNames lists the sections of an ELF file, which must parse.
func sectionNames(t *testing.T, b []byte) []string {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	var names []string
	for _, s := range f.Sections {
		names = append(names, s.Name)
	}
	return names
}

// The zero Object is an empty object ready to use, a nil *Object reads as
// an empty one, and the zero Image and a nil *Image are the image of an
// empty object: none of them panics.
func TestZeroValue(t *testing.T) {
	var empty Object
	if empty.Section("xdp") != nil || empty.Sections() != nil {
		t.Error("the zero Object has sections")
	}
	want, err := empty.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", ".strtab", ".symtab"}, sectionNames(t, want)); diff != "" {
		t.Errorf("sections of the zero Object (-want +got):\n%s", diff)
	}
	if b, err := New().Bytes(); err != nil || !bytes.Equal(b, want) {
		t.Errorf("New().Bytes() = %v, differs from the zero Object's: %v", err, !bytes.Equal(b, want))
	}

	// One section added to the zero Object makes the same file as one
	// added to New's object.
	for _, add := range []func(o *Object) error{
		func(o *Object) error { _, err := o.AddProgram("xdp", "prog", exit); return err },
		func(o *Object) error { return o.SetLicense("GPL") },
		func(o *Object) error {
			return o.AddSection(&Section{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 8, Size: 8})
		},
	} {
		var zero Object
		if err := add(&zero); err != nil {
			t.Fatal(err)
		}
		got, err := zero.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		names := sectionNames(t, got)
		if len(names) != 4 || zero.Section(names[2]) == nil || len(zero.Sections()) != 1 {
			t.Errorf("zero Object with one section: sections %q", names)
		}
		fromNew := New()
		add(fromNew)
		if b, _ := fromNew.Bytes(); !bytes.Equal(got, b) {
			t.Errorf("zero Object with section %s differs from New's", names[2])
		}
	}
	var zero Object
	if _, err := zero.AddProgram("xdp", "prog", exit); err != nil {
		t.Fatal(err)
	}
	b, err := zero.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if syms, err := f.Symbols(); err != nil || len(syms) != 1 || syms[0].Name != "prog" || syms[0].Size != 8 {
		t.Errorf("symbols of the zero Object with a program: %v, %v", syms, err)
	}
	if err := zero.AddSection(nil); err == nil {
		t.Error("AddSection(nil) accepted")
	}

	var nilObj *Object
	if nilObj.Section("xdp") != nil || nilObj.Sections() != nil {
		t.Error("a nil *Object has sections")
	}
	if b, err := nilObj.Bytes(); err != nil || !bytes.Equal(b, want) {
		t.Errorf("nil *Object: Bytes %v, same as the zero Object's: %v", err, bytes.Equal(b, want))
	}
	if err := nilObj.AddSection(&Section{Name: "license", Type: elf.SHT_PROGBITS, Data: []byte("GPL\x00")}); err == nil {
		t.Error("nil *Object: AddSection accepted")
	}
	if _, err := nilObj.AddProgram("xdp", "prog", exit); err == nil {
		t.Error("nil *Object: AddProgram accepted")
	}
	if err := nilObj.SetLicense("GPL"); err == nil {
		t.Error("nil *Object: SetLicense accepted")
	}

	for name, im := range map[string]*Image{"zero Image": new(Image), "nil *Image": nil} {
		b, err := im.Bytes()
		if err != nil || !bytes.Equal(b, want) || im.Size() != len(want) {
			t.Errorf("%s: Bytes %v, Size %d of %d, same as an empty Object's: %v", name, err, im.Size(), len(want), bytes.Equal(b, want))
		}
		var w bytes.Buffer
		if n, err := im.WriteTo(&w); err != nil || n != int64(len(want)) || !bytes.Equal(w.Bytes(), want) {
			t.Errorf("%s: WriteTo %d, %v; same as an empty Object's: %v", name, n, err, bytes.Equal(w.Bytes(), want))
		}
	}
}

// TestExterns: undefined symbols come after the defined ones, NOTYPE,
// GLOBAL or WEAK, in the order they were added, and relocations name them.
func TestExterns(t *testing.T) {
	o := New()
	if _, err := o.AddProgram("syscall", "p", cat(callfn, ldimm, exit)); err != nil {
		t.Fatal(err)
	}
	for _, e := range []Extern{{Name: "bpf_task_from_pid"}, {Name: "bpf_maybe", Weak: true}} {
		if err := o.AddExtern(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.AddExtern(Extern{Name: "bpf_maybe"}); err == nil {
		t.Error("a second extern bpf_maybe: no error")
	}
	if err := o.AddExtern(Extern{}); err == nil {
		t.Error("an extern without a name: no error")
	}
	o.Section("syscall").Relocs = []Reloc{{Offset: 0, Symbol: "bpf_task_from_pid", Type: R_BPF_64_32}, {Offset: 8, Symbol: "bpf_maybe", Type: R_BPF_64_64}}
	b, err := o.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range syms {
		got = append(got, fmt.Sprintf("%s %v %v %d", s.Name, elf.ST_BIND(s.Info), elf.ST_TYPE(s.Info), s.Section))
	}
	want := []string{"p STB_GLOBAL STT_FUNC 2", "bpf_task_from_pid STB_GLOBAL STT_NOTYPE 0", "bpf_maybe STB_WEAK STT_NOTYPE 0"}
	if !cmp.Equal(got, want) {
		t.Errorf("symbols %q, want %q", got, want)
	}
	rel := f.Section(".relsyscall")
	data, _ := rel.Data()
	// Symbol 2 (bpf_task_from_pid) R_BPF_64_32 at 0; 3 (bpf_maybe) R_BPF_64_64 at 8.
	wantRel := cat([]byte{0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0}, []byte{8, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0})
	if !bytes.Equal(data, wantRel) {
		t.Errorf(".relsyscall % x, want % x", data, wantRel)
	}
	o2 := New()
	o2.AddProgram("syscall", "p", exit)
	o2.AddExtern(Extern{Name: "p"})
	if _, err := o2.Bytes(); err == nil || !strings.Contains(err.Error(), `extern "p" is also defined`) {
		t.Errorf("an extern of a defined name: %v", err)
	}
}
