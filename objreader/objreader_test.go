package objreader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/stdlib"
)

// goldens returns the paths of the examples' golden objects.
func goldens(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("../examples/testdata/*.o")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ../examples/testdata/*.o: %v", err)
	}
	return files
}

func readFile(t testing.TB, path string) *File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Read(data)
	if err != nil {
		t.Fatalf("Read(%s): %v", path, err)
	}
	return f
}

// checkObject runs every method on f and checks what holds for any
// well-formed object: programs fit their sections and decode, each
// function's func_info names the BTF function of the same name, line
// records point into code, relocations point at symbols.
func checkObject(t *testing.T, f *File) (*btf.Spec, *BTFExt) {
	t.Helper()
	progs, err := f.Programs()
	if err != nil {
		t.Fatalf("Programs: %v", err)
	}
	if len(progs) == 0 {
		t.Fatal("no programs")
	}
	if _, err := f.Maps(); err != nil {
		t.Errorf("Maps: %v", err)
	}
	if _, err := f.Globals(); err != nil {
		t.Errorf("Globals: %v", err)
	}
	if got := f.License(); got != "GPL" {
		t.Errorf("License() = %q, want GPL", got)
	}
	for i := range f.Sections {
		relocs, err := f.Relocations(i)
		if err != nil {
			t.Errorf("Relocations(%d): %v", i, err)
		}
		for _, r := range relocs {
			if r.Offset >= f.Sections[i].Size {
				t.Errorf("section %q: relocation at %#x beyond its end", f.Sections[i].Name, r.Offset)
			}
		}
	}
	spec, err := f.BTF()
	if err != nil {
		t.Fatalf("BTF: %v", err)
	}
	ext, err := f.BTFExt()
	if err != nil {
		t.Fatalf("BTFExt: %v", err)
	}
	for _, p := range progs {
		insns, err := p.Instructions()
		if err != nil {
			t.Errorf("%s: Instructions: %v", p.Name, err)
		}
		if len(insns) == 0 || uint64(len(p.Code)) != p.Size {
			t.Errorf("%s: %d instructions, %d bytes of code, size %d", p.Name, len(insns), len(p.Code), p.Size)
		}
		// Each function has a func_info record at its first
		// instruction, naming its BTF FUNC.
		es := ext.Section(p.Section)
		if es == nil {
			t.Errorf("%s: no .BTF.ext records for section %q", p.Name, p.Section)
			continue
		}
		found := false
		for _, fi := range es.Funcs {
			if uint64(fi.InsnOffset) != p.Offset {
				continue
			}
			found = true
			typ, err := spec.TypeByID(fi.TypeID)
			if err != nil {
				t.Errorf("%s: func_info type %d: %v", p.Name, fi.TypeID, err)
			} else if fn, ok := typ.(*btf.Func); !ok || fn.Name != p.Name {
				t.Errorf("%s: func_info type %d is %v", p.Name, fi.TypeID, typ)
			}
		}
		if !found {
			t.Errorf("%s: no func_info at offset %#x", p.Name, p.Offset)
		}
	}
	for _, es := range ext.Sections {
		s := f.Section(es.Name)
		if s == nil || !s.Executable() {
			t.Errorf(".BTF.ext names %q, which is not a code section", es.Name)
			continue
		}
		for _, li := range es.Lines {
			if uint64(li.InsnOffset) >= s.Size || li.InsnOffset%8 != 0 || li.Line == 0 {
				t.Errorf("%s: bad line_info %+v", es.Name, li)
			}
		}
	}
	return spec, ext
}

// checkLines checks that every line record's text is the line of the file
// it names, read from dir unless the name is absolute (or from the
// standard library, for @std//NAME.star).
func checkLines(t *testing.T, ext *BTFExt, dir string) {
	t.Helper()
	sources := map[string][]string{}
	for _, es := range ext.Sections {
		for _, li := range es.Lines {
			lines, ok := sources[li.File]
			if !ok {
				path := li.File
				if !filepath.IsAbs(path) {
					path = filepath.Join(dir, path)
				}
				b, err := os.ReadFile(path)
				if name, ok := strings.CutPrefix(li.File, stdlib.Prefix); ok {
					b, ok = stdlib.File(name)
					if err = nil; !ok {
						err = errors.New("no such file in the standard library")
					}
				}
				if err != nil {
					t.Fatalf("line_info names %q: %v", li.File, err)
				}
				lines = strings.Split(string(b), "\n")
				sources[li.File] = lines
			}
			if int(li.Line) > len(lines) || lines[li.Line-1] != li.Text {
				t.Errorf("%s:%d: line_info text %q is not the file's line", li.File, li.Line, li.Text)
			}
		}
	}
}

// TestGoldens reads every example's golden object.
func TestGoldens(t *testing.T) {
	for _, path := range goldens(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f := readFile(t, path)
			_, ext := checkObject(t, f)
			stem := strings.TrimSuffix(filepath.Base(path), ".o")
			for _, es := range ext.Sections {
				for _, li := range es.Lines {
					if li.File != "examples/"+stem+".star" && !strings.HasPrefix(li.File, stdlib.Prefix) {
						t.Fatalf("line_info names %q, want examples/%s.star or a file of the standard library", li.File, stem)
					}
				}
			}
			checkLines(t, ext, "..")
		})
	}
}

// TestXDPCount checks what examples/xdp_count.star declares against what
// objreader finds in its golden object.
func TestXDPCount(t *testing.T) {
	f := readFile(t, "../examples/testdata/xdp_count.o")

	progs, err := f.Programs()
	if err != nil {
		t.Fatal(err)
	}
	type prog struct {
		Name, Section  string
		Offset, Size   uint64
		Global, Entry  bool
		SymbolIsNamed  bool
		FirstBytesHead byte
	}
	var got []prog
	for _, p := range progs {
		got = append(got, prog{p.Name, p.Section, p.Offset, p.Size, p.Global, p.Entry(),
			f.Symbols[p.Symbol].Name == p.Name, p.Code[0]})
	}
	want := []prog{
		{"packet_length", ".text", 0, 4 * 8, false, false, true, 0x61},
		{"add", ".text", 4 * 8, 11 * 8, false, false, true, 0xbf},
		{"account", ".text", 15 * 8, 8 * 8, false, false, true, 0xbf},
		{"xdp_count", "xdp", 0, 18 * 8, true, true, true, 0x18},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Programs (-want +got):\n%s", diff)
	}

	maps, err := f.Maps()
	if err != nil {
		t.Fatal(err)
	}
	// bpf_map("stats", "array", key_size = 4, value_size = 8, max_entries = 2)
	wantMaps := []Map{{Name: "stats", Offset: 0, Size: 32, Type: 2, KeySize: 4, ValueSize: 8, MaxEntries: 2}}
	if diff := cmp.Diff(wantMaps, maps); diff != "" {
		t.Errorf("Maps (-want +got):\n%s", diff)
	}

	globals, err := f.Globals()
	if err != nil {
		t.Fatal(err)
	}
	for i := range globals {
		globals[i].Type = nil // checked below
	}
	// rodata("verdict", 2, size = 4), data("min_len", 14, size = 4), bss("seen", 8)
	wantGlobals := []Global{
		{Name: "verdict", Section: ".rodata", Offset: 0, Size: 4, ReadOnly: true, Data: []byte{2, 0, 0, 0}},
		{Name: "min_len", Section: ".data", Offset: 0, Size: 4, Data: []byte{14, 0, 0, 0}},
		{Name: "seen", Section: ".bss", Offset: 0, Size: 8},
	}
	if diff := cmp.Diff(wantGlobals, globals); diff != "" {
		t.Errorf("Globals (-want +got):\n%s", diff)
	}

	// The program's relocations: seen (.bss), the call of packet_length,
	// min_len (.data), the call of account, verdict (.rodata).
	type reloc struct {
		Offset uint64
		Type   RelocType
		Symbol string
	}
	relocsOf := func(section string) []reloc {
		t.Helper()
		rs, err := f.Relocations(f.sectionIndex(section))
		if err != nil {
			t.Fatal(err)
		}
		var out []reloc
		for _, r := range rs {
			sym := f.Symbols[r.Symbol]
			name := sym.Name
			if sym.Type == elf.STT_SECTION {
				name = f.Sections[sym.Section].Name
			}
			out = append(out, reloc{r.Offset, r.Type, name})
		}
		return out
	}
	wantRelocs := []reloc{
		{0, R_BPF_64_64, ".bss"}, {4 * 8, R_BPF_64_32, ".text"}, {6 * 8, R_BPF_64_64, ".data"},
		{13 * 8, R_BPF_64_32, ".text"}, {14 * 8, R_BPF_64_64, ".rodata"},
	}
	if diff := cmp.Diff(wantRelocs, relocsOf("xdp")); diff != "" {
		t.Errorf("Relocations(xdp) (-want +got):\n%s", diff)
	}
	wantRelocs = []reloc{{6 * 8, R_BPF_64_64, "stats"}, {18 * 8, R_BPF_64_32, ".text"}, {21 * 8, R_BPF_64_32, ".text"}}
	if diff := cmp.Diff(wantRelocs, relocsOf(".text")); diff != "" {
		t.Errorf("Relocations(.text) (-want +got):\n%s", diff)
	}

	ext, err := f.BTFExt()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ext.Sections); n != 2 {
		t.Fatalf("%d .BTF.ext sections, want 2 (xdp, .text)", n)
	}
	xdp, text := ext.Section("xdp"), ext.Section(".text")
	if xdp == nil || text == nil {
		t.Fatalf(".BTF.ext sections %+v, want xdp and .text", ext.Sections)
	}
	if len(xdp.Funcs) != 1 || len(text.Funcs) != 3 || len(xdp.CORE)+len(text.CORE) != 0 {
		t.Errorf("func_info: %d in xdp, %d in .text (want 1 and 3); %d CO-RE records (want 0)",
			len(xdp.Funcs), len(text.Funcs), len(xdp.CORE)+len(text.CORE))
	}
	// One line per instruction, 64-bit loads included: 15 in xdp_count,
	// 4 + 10 + 8 in the functions.
	if len(xdp.Lines) != 15 || len(text.Lines) != 22 {
		t.Errorf("line_info: %d in xdp, %d in .text; want 15 and 22", len(xdp.Lines), len(text.Lines))
	}
	wantLine := []LineInfo{
		{InsnOffset: 0, File: "examples/xdp_count.star", Text: "    insn.ld_map_value(r2, seen),", Line: 53, Column: 22},
		{InsnOffset: 16, File: "examples/xdp_count.star", Text: "    insn.mov64_imm(r3, 1),", Line: 54, Column: 19},
	}
	if diff := cmp.Diff(wantLine, xdp.Lines[:2]); diff != "" {
		t.Errorf("first line_info of xdp (-want +got):\n%s", diff)
	}
	last := xdp.Lines[len(xdp.Lines)-1]
	if last.InsnOffset != 17*8 || last.Line != 68 || last.Text != "    exit()," {
		t.Errorf("last line_info of xdp: %+v, want exit() at line 68, offset 136", last)
	}
	if l := text.Lines[0]; l.Line != 19 || l.InsnOffset != 0 {
		t.Errorf("first line_info of .text: %+v, want line 19 (packet_length)", l)
	}

	spec, err := f.BTF()
	if err != nil {
		t.Fatal(err)
	}
	var ds *btf.Datasec
	if err := spec.TypeByName(".rodata", &ds); err != nil || ds.Size != 4 || len(ds.Vars) != 1 {
		t.Errorf("DATASEC .rodata: %v, %v", ds, err)
	}
}

// TestErrors feeds Read files that are not BPF objects.
func TestErrors(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := os.ReadFile("../examples/testdata/xdp_count.o")
	if err != nil {
		t.Fatal(err)
	}
	patch := func(off int, b ...byte) []byte {
		c := bytes.Clone(obj)
		copy(c[off:], b)
		return c
	}
	shoff := binary.LittleEndian.Uint64(obj[0x28:])
	for name, tt := range map[string]struct {
		data []byte
		want string
	}{
		"empty":           {nil, "the file is empty"},
		"text":            {[]byte("this is not an object file\n"), "no ELF magic number"},
		"x86-64 program":  {exe, "not a 64-bit BPF ELF file"},
		"truncated":       {obj[:100], ""},
		"32-bit":          {patch(4, byte(elf.ELFCLASS32)), ""},
		"big-endian":      {patch(5, byte(elf.ELFDATA2MSB)), ""},
		"executable":      {patch(16, byte(elf.ET_EXEC)), "only relocatable objects"},
		"section outside": {patch(int(shoff)+2*64+24, 0xff, 0xff, 0xff), "lies outside the file"},
	} {
		_, err := Read(tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Read error %v, want one containing %q", name, err, tt.want)
		}
	}
}

// TestMalformed damages parts that Read does not look at: the methods that
// decode them fail, and the others still work.
func TestMalformed(t *testing.T) {
	f := readFile(t, "../examples/testdata/xdp_count.o")
	clone := func() *File {
		c := *f
		c.Sections = append([]Section(nil), f.Sections...)
		c.Symbols = append([]Symbol(nil), f.Symbols...)
		return &c
	}
	data := func(c *File, name string) []byte {
		s := c.Section(name)
		s.Data = bytes.Clone(s.Data)
		return s.Data
	}

	c := clone()
	binary.LittleEndian.PutUint32(data(c, ".relxdp")[12:], 99) // symbol index of the first relocation
	if _, err := c.Relocations(c.sectionIndex("xdp")); err == nil || !strings.Contains(err.Error(), "symbol index 99") {
		t.Errorf("relocation symbol out of range: %v", err)
	}
	if _, err := c.Programs(); err != nil {
		t.Errorf("Programs fails with a bad relocation: %v", err)
	}

	c = clone()
	c.Symbols[8].Size = 1 << 20 // xdp_count
	if _, err := c.Programs(); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("oversized program: %v", err)
	}

	// A File put together by hand may be inconsistent: symbols of
	// sections that do not exist, sections with fewer bytes than their
	// size. The methods fail or skip, but do not panic.
	c = clone()
	c.Symbols[8].Section = 999 // xdp_count
	c.Symbols[11].Section = 999
	c.Section(".rodata").Data = nil
	if progs, err := c.Programs(); err != nil || len(progs) != 3 {
		t.Errorf("Programs with a symbol in no section: %d programs, %v", len(progs), err)
	}
	if _, err := c.Globals(); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("Globals with .rodata's bytes missing: %v", err)
	}
	c.Sections[c.sectionIndex(".BTF")].Name = ".notBTF"
	if gs, err := c.Globals(); err == nil || len(gs) != 0 {
		t.Errorf("Globals without BTF, with .rodata's bytes missing: %v, %v", gs, err)
	}

	c = clone()
	c.Section(".BTF").Data = c.Section(".BTF").Data[:30]
	for name, err := range map[string]error{"BTF": second(c.BTF()), "BTFExt": second(c.BTFExt()), "Maps": second(c.Maps()), "Globals": second(c.Globals())} {
		if err == nil {
			t.Errorf("%s: no error with truncated .BTF", name)
		}
	}

	c = clone()
	c.Sections[c.sectionIndex(".BTF")].Name = ".notBTF"
	if _, err := c.BTF(); !errors.Is(err, ErrNotFound) {
		t.Errorf("BTF without .BTF: %v", err)
	}
	if _, err := c.Maps(); err == nil {
		t.Error("Maps: no error without BTF")
	}
	globals, err := c.Globals() // from the symbol table
	if err != nil || len(globals) != 3 || globals[0].Name != "verdict" || globals[2].Data != nil {
		t.Errorf("Globals without BTF: %+v, %v", globals, err)
	}

	c = clone()
	c.Sections[c.sectionIndex(".maps")].Name = "maps"
	if _, err := c.Maps(); !errors.Is(err, ErrUnsupported) {
		t.Errorf("legacy maps: %v", err)
	}

	c = clone()
	b := data(c, ".BTF.ext")
	// The num_info of line_info's first block: after the header
	// (hdr_len), line_info_off, the record size and the section name.
	lineInfo := binary.LittleEndian.Uint32(b[4:]) + binary.LittleEndian.Uint32(b[16:])
	binary.LittleEndian.PutUint32(b[lineInfo+8:], 1<<30)
	if _, err := c.BTFExt(); err == nil || !strings.Contains(err.Error(), "records of") {
		t.Errorf("too many line records: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// TestBTFExtErrors feeds parseBTFExt damaged sections.
func TestBTFExtErrors(t *testing.T) {
	strs := stringTable("\x00xdp\x00a.star\x00line\x00")
	le := binary.LittleEndian
	// header (32 bytes): no func_info, line_info at 0, no CO-RE.
	header := func(lineLen uint32) []byte {
		h := []byte{0x9f, 0xeb, 1, 0}
		h = le.AppendUint32(h, 32)
		for _, v := range []uint32{0, 0, 0, lineLen, 0, 0} {
			h = le.AppendUint32(h, v)
		}
		return h
	}
	record := func(recSize, name, n uint32, rec ...uint32) []byte {
		b := le.AppendUint32(nil, recSize)
		b = le.AppendUint32(b, name)
		b = le.AppendUint32(b, n)
		for _, v := range rec {
			b = le.AppendUint32(b, v)
		}
		return b
	}
	good := record(16, 1, 1, 8, 5, 12, 7<<10|3)
	ext, err := parseBTFExt(append(header(uint32(len(good))), good...), strs)
	if err != nil {
		t.Fatal(err)
	}
	want := []ExtSection{{Name: "xdp", Lines: []LineInfo{{InsnOffset: 8, File: "a.star", Text: "line", Line: 7, Column: 3}}}}
	if diff := cmp.Diff(want, ext.Sections); diff != "" {
		t.Errorf("parseBTFExt (-want +got):\n%s", diff)
	}

	for name, tt := range map[string]struct {
		b    []byte
		want string
	}{
		"empty":         {nil, "header too short"},
		"magic":         {[]byte{0xeb, 0x9f, 1, 0, 24, 0, 0, 0}, "bad magic"},
		"version":       {[]byte{0x9f, 0xeb, 2, 0, 24, 0, 0, 0}, "version 2"},
		"header length": {append(header(0)[:4], 0xff, 0, 0, 0), "header length"},
		"outside":       {header(100), "lies outside"},
		"record size":   {append(header(20), record(8, 1, 1, 8, 5)...), "record size 8"},
		"count":         {append(header(28), record(16, 1, 2, 8, 5, 12, 1)...), "2 records of 16 bytes"},
		"name":          {append(header(28), record(16, 100, 1, 8, 5, 12, 1)...), "string offset 100"},
		"file":          {append(header(28), record(16, 1, 1, 8, 99, 12, 1)...), "file name"},
		"line text":     {append(header(28), record(16, 1, 1, 8, 5, 99, 1)...), "line text"},
		"block header":  {append(header(8), le.AppendUint32(le.AppendUint32(nil, 16), 1)...), "truncated block header"},
	} {
		_, err := parseBTFExt(tt.b, strs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tt.want)
		}
	}
	if _, err := stringTable("ab").lookup(0); err == nil {
		t.Error("a string without NUL: no error")
	}
}

// TestZero checks that the zero values work: an empty File, a nil *File, a
// nil *BTFExt, zero kinds.
func TestZero(t *testing.T) {
	for _, f := range []*File{{}, nil} {
		if ps, err := f.Programs(); ps != nil || err != nil {
			t.Errorf("Programs() = %v, %v", ps, err)
		}
		if ms, err := f.Maps(); ms != nil || err != nil {
			t.Errorf("Maps() = %v, %v", ms, err)
		}
		if gs, err := f.Globals(); gs != nil || err != nil {
			t.Errorf("Globals() = %v, %v", gs, err)
		}
		if rs, err := f.Relocations(0); rs != nil || err != nil {
			t.Errorf("Relocations(0) = %v, %v", rs, err)
		}
		if _, err := f.BTF(); !errors.Is(err, ErrNotFound) {
			t.Errorf("BTF() error %v", err)
		}
		if _, err := f.BTFExt(); !errors.Is(err, ErrNotFound) {
			t.Errorf("BTFExt() error %v", err)
		}
		if f.License() != "" || f.Section(".text") != nil {
			t.Error("License or Section of an empty file")
		}
	}
	var ext *BTFExt
	if ext.Section("xdp") != nil {
		t.Error("nil BTFExt has a section")
	}
	var p Program
	if insns, err := p.Instructions(); len(insns) != 0 || err != nil || !p.Entry() {
		t.Errorf("zero Program: %v, %v", insns, err)
	}
	var s Section
	var sym Symbol
	if s.Executable() || sym.InSection(0) {
		t.Error("zero Section is executable, or zero Symbol is in section 0")
	}
	for k, want := range map[COREKind]string{0: "byte_off", COREFieldExists: "field_exists", CORETypeMatches: "type_matches", 99: "kind(99)"} {
		if got := k.String(); got != want {
			t.Errorf("COREKind(%d) = %q, want %q", uint32(k), got, want)
		}
	}
	for r, want := range map[RelocType]string{0: "R_BPF_NONE", R_BPF_64_32: "R_BPF_64_32", 7: "R_BPF_7"} {
		if got := r.String(); got != want {
			t.Errorf("RelocType(%d) = %q, want %q", uint32(r), got, want)
		}
	}
}
