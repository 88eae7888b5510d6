package compile

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bpfstar/bpfstar/asm"
)

// Every build error names FILE:LINE:COL of the fault.
func TestErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"syntax", "section(\"xdp\", \"p\", [exit()]\n", "p.star:2:1: got end of file, want ')'"},
		{"undefined name", "section(\"xdp\", \"p\", [exitt()])", "p.star:1:22: undefined: exitt (did you mean exit?)"},
		{"while", "def f():\n    while True:\n        pass\n", "p.star:2:5: this Starlark dialect does not support while loops"},
		{"recursion", "def f(n):\n    return f(n)\nf(1)\n", "p.star:2:13: function f called recursively"},
		{"register range", "x = insn.mov64_imm(12, 0)", "p.star:1:19: insn.mov64_imm: for parameter dst: register 12 out of range (r0-r10)"},
		{"r10 write", "\n\nx = [insn.mov64_reg(fp, r1)]", "p.star:3:20: insn.mov64_reg: r10 is the read-only frame pointer and cannot be written"},
		{"in macro", "def m():\n    return insn.mov64_imm(r1, 1 << 40)\nx = m()\n",
			"p.star:2:26: insn.mov64_imm: immediate 1099511627776 does not fit in a signed 32-bit field (use insn.ld_imm64 for 64-bit constants)\n\tcalled from p.star:3:6 in <toplevel>"},
		{"undefined label", "section(\"xdp\", \"p\", [\n    insn.ja(\"nowhere\"),\n    exit(),\n])", `p.star:2:12: undefined label "nowhere"`},
		{"duplicate label", "section(\"xdp\", \"p\", [\n    label(\"a\"),\n    label(\"a\"),\n    exit(),\n])", `p.star:3:10: label "a" defined twice (first at p.star:2:10)`},
		{"jump outside", "section(\"xdp\", \"p\", [\n    insn.ja(5),\n    exit(),\n])", "p.star:2:12: jump target +5 lands outside the program (at slot 6; its slots are 0 to 1)"},
		{"jump backwards outside", "section(\"xdp\", \"p\", [insn.ja(-2), exit()])", "p.star:1:29: jump target -2 lands outside the program (at slot -1; its slots are 0 to 1)"},
		{"jump into ld_imm64", "section(\"xdp\", \"p\", [insn.ja(1), insn.ld_imm64(r0, 1), exit()])", "p.star:1:29: jump target +1 lands in the middle of a 64-bit immediate load"},
		{"jump overflow", "section(\"xdp\", \"p\", [insn.ja(\"end\")] + [insn.mov64_imm(r0, 0)] * 40000 + [label(\"end\"), exit()])",
			`p.star:1:29: jump to label "end" is 40000 instructions away, too far for a 16-bit offset: use insn.gotol`},
		{"empty", "section(\"xdp\", \"p\", [])", `p.star:1:8: program "p" is empty: it needs at least an exit instruction`},
		{"only labels", "section(\"xdp\", \"p\", [label(\"x\")])", `p.star:1:8: program "p" is empty`},
		{"falls off", "section(\"xdp\", \"p\", [\n    insn.mov64_imm(r0, 0),\n])", `p.star:2:19: program "p" falls off its end: the last instruction must be exit or an unconditional jump (ja/gotol)`},
		{"duplicate symbol", "section(\"xdp\", \"p\", [exit()])\nsection(\"socket\", \"p\", [exit()])", `p.star:2:8: section: duplicate symbol "p" (first defined at p.star:1:8)`},
		{"unknown helper", "x = insn.call(\"map_lookup\")", `p.star:1:14: insn.call: unknown helper "map_lookup" (did you mean "bpf_map_lookup_elem"?)`},
		{"bad element", "section(\"xdp\", \"p\", [exit(), [1]])", "p.star:1:8: section: insns[1][0]: got int, want insn, label or list of them"},
		{"self-containing list", "l = [exit()]\nl.append(l)\nsection(\"xdp\", \"p\", l)", "p.star:3:8: section: insns[1] is the list insns itself: a list that contains itself has no end"},
		{"no programs", "license(\"GPL\")", "p.star:1:1: no programs: call section(name, symbol, insns) at least once"},
		{"two licenses", "license(\"GPL\")\nlicense(\"MIT\")", "p.star:2:8: license: license already set at p.star:1:8"},
		{"fail", "fail(\"unsupported target\")", "p.star:1:5: unsupported target"},
		{"load", "load(\"x.star\", \"y\")", "p.star:1:1: cannot load x.star: load() is not available in a single-file build"},
		{"reserved section", "section(\".text\", \"p\", [exit()])", `p.star:1:8: section: section name ".text" is reserved`},
		// maps, globals and functions
		{"map used before definition", "section(\"xdp\", \"p\", [insn.ld_map_fd(r1, m), exit()])\nm = bpf_map(\"m\", \"array\", 4, 8, 1)",
			"p.star:1:41: m is used before its definition at p.star:2:1: define it above its first use"},
		{"global where a map is expected", "g = data(\"g\", 1, size = 4)\nx = insn.ld_map_fd(r1, g)", "p.star:2:19: insn.ld_map_fd: for parameter map: got global, want bpf_map"},
		{"number where a map is expected", "x = insn.ld_map_fd(r1, 3)", "p.star:1:19: insn.ld_map_fd: for parameter map: got int, want bpf_map"},
		{"map where a global is expected", "m = bpf_map(\"m\", \"array\", 4, 8, 1)\nx = insn.ld_map_value(r1, m)", `p.star:2:22: insn.ld_map_value: for parameter global: got bpf_map "m", want global`},
		{"int global overflows its size", "g = rodata(\"g\", 300, size = 1)", `p.star:1:11: rodata: rodata "g": value 300 does not fit in 1 bytes`},
		{"bytes global overflows its size", "g = data(\"b\", b\"abcdef\", size = 4)", `p.star:1:9: data: data "b": value of 6 bytes does not fit in size 4`},
		{"offset past a global", "g = bss(\"g\", 4)\nx = insn.ld_map_value(r1, g, off = 4)", `p.star:2:22: insn.ld_map_value: offset 4 lies outside "g" (4 bytes)`},
		{"unknown function", "section(\"xdp\", \"p\", [insn.call_func(\"nope\"), exit()])", `p.star:1:36: insn.call_func: call to unknown function "nope" (declare it with function(name, insns))`},
		{"misspelt function", "function(\"helperx\", [exit()])\nsection(\"xdp\", \"p\", [insn.call_func(\"helper\"), exit()])", `p.star:2:36: insn.call_func: call to unknown function "helper" (functions: [helperx])`},
		{"recursion through functions", "function(\"f\", [insn.call_func(\"g\"), exit()])\nfunction(\"g\", [insn.mov64_imm(r0, 0), insn.call_func(\"f\"), exit()])\nsection(\"xdp\", \"p\", [insn.call_func(\"f\"), exit()])",
			"p.star:2:53: insn.call_func: recursive call (f -> g -> f): the verifier rejects recursion"},
		{"map and global clash", "m = bpf_map(\"x\", \"array\", 4, 8, 1)\ng = data(\"x\", 1, size = 4)", `p.star:2:9: data: duplicate symbol "x" (first defined at p.star:1:12)`},
		{"program and function clash", "section(\"xdp\", \"x\", [exit()])\nfunction(\"x\", [exit()])", `p.star:2:9: function: duplicate symbol "x" (first defined at p.star:1:8)`},
		{"ringbuf rules", "m = bpf_map(\"r\", \"ringbuf\", 0, 0, 1000)", `p.star:1:12: bpf_map: map "r": ringbuf maps need max_entries to be a power of 2 and a multiple of the page size (4096), not 1000`},
		{"unknown map type", "m = bpf_map(\"h\", \"hashy\", 4, 8, 1)", `p.star:1:12: bpf_map: unknown map type "hashy" (want one of arena array`},
		{"raw first half last", "section(\"xdp\", \"p\", [insn.ja(0), insn.raw(0x18, 0, 0, 0, 0)])", "p.star:1:42: insn.raw: code 0x18 starts a 64-bit load"},
		{"data section as a program", "section(\".data\", \"p\", [exit()])", `p.star:1:8: section: section name ".data" is reserved`},
		{"maps section as a program", "section(\".maps\", \"p\", [exit()])", `p.star:1:8: section: section name ".maps" is reserved`},
		{"BTF section as a program", "section(\".BTF\", \"p\", [exit()])", `p.star:1:8: section: section name ".BTF" is reserved`},
		{"step limit", "def spin():\n    for i in range(1000000000):\n        pass\nspin()\n", "p.star:2:5: the program file ran more than 100000 Starlark steps (raise the limit with --max-steps)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Source("p.star", []byte(tc.src), Options{MaxSteps: 100000})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got error\n%s\nwant it to start with\n%s", err, tc.want)
			}
			var ae *asm.Error
			if !errors.As(err, &ae) || ae.Pos.File != "p.star" {
				t.Errorf("error %#v does not carry a position in p.star", err)
			}
		})
	}
}

// The origin experiment's program, byte for byte.
func TestObjectBytes(t *testing.T) {
	src := `
section("cgroup/dev", "deny_all", [
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL")
`
	obj, err := Source("p.star", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_REL || f.Machine != elf.EM_BPF {
		t.Errorf("header = %v %v %v %v", f.Class, f.Data, f.Type, f.Machine)
	}
	var names []string
	for _, s := range f.Sections {
		names = append(names, s.Name)
	}
	if got, want := strings.Join(names, ","), ",.strtab,cgroup/dev,license,.BTF,.BTF.ext,.symtab"; got != want {
		t.Errorf("sections = %s, want %s", got, want)
	}
	code, _ := f.Section("cgroup/dev").Data()
	if got, want := hex.EncodeToString(code), "b7000000000000009500000000000000"; got != want {
		t.Errorf("code = %s, want %s", got, want)
	}
	lic, _ := f.Section("license").Data()
	if string(lic) != "GPL\x00" {
		t.Errorf("license = %q", lic)
	}
	syms, err := f.Symbols()
	if err != nil || len(syms) != 1 {
		t.Fatalf("symbols = %v, %v", syms, err)
	}
	want := elf.Symbol{Name: "deny_all", Info: elf.ST_INFO(elf.STB_GLOBAL, elf.STT_FUNC), Section: 2, Value: 0, Size: 16}
	if syms[0] != want {
		t.Errorf("symbol = %+v, want %+v", syms[0], want)
	}
}

// Programs sharing a section are laid out back to back, one symbol each.
func TestSharedSection(t *testing.T) {
	src := `
section("socket", "a", [insn.mov64_imm(r0, 0), exit()])
section("xdp", "x", [insn.mov64_imm(r0, 2), exit()])
section("socket", "b", [insn.ld_imm64(r0, 1), exit()])
`
	obj, err := Source("p.star", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	syms, _ := f.Symbols()
	var got []string
	for _, s := range syms {
		got = append(got, f.Sections[s.Section].Name+":"+s.Name+"@"+hex.EncodeToString([]byte{byte(s.Value), byte(s.Size)}))
	}
	if want := "socket:a@0010 socket:b@1018 xdp:x@0010"; strings.Join(got, " ") != want {
		t.Errorf("symbols = %s, want %s", strings.Join(got, " "), want)
	}
}

// Deterministic: the same input gives the same bytes, whatever directory
// the file is in (only its base name reaches the object, in line info).
func TestDeterministic(t *testing.T) {
	src := []byte("section(\"xdp\", \"p\", [insn.mov64_imm(r0, 2), exit()])\nlicense(\"GPL\")\n")
	a, err := Source("a.star", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Source("/some/other/dir/a.star", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("same source, different bytes")
	}
}

// Evaluations that run at once (a workspace build with -j) make their
// instructions side by side: each gets the bytes it gets alone.
func TestConcurrentBuilds(t *testing.T) {
	src := func(k int) []byte {
		return []byte(fmt.Sprintf(`def block(i):
    skip = "L%%d" %% i
    return [
        insn.mov64_imm(r1, i + %d),
        insn.jmp_imm("jgt", r1, 1000, skip),
        insn.ld_imm64(r2, i * 0x100000001),
        insn.call("ktime_get_ns"),
        label(skip),
    ]

section("socket", "p", [[block(i) for i in range(3000)], exit()])
license("GPL")
`, k))
	}
	const n = 6
	want := make([][]byte, n)
	for k := range n {
		b, err := Source(fmt.Sprintf("p%d.star", k), src(k), Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[k] = b
	}
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() { got[k], errs[k] = Source(fmt.Sprintf("p%d.star", k), src(k), Options{}) })
	}
	wg.Wait()
	for k := range n {
		if errs[k] != nil || !bytes.Equal(got[k], want[k]) {
			t.Errorf("build %d at the same time as others: %v; same bytes as alone: %v", k, errs[k], bytes.Equal(got[k], want[k]))
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "p.o")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "p.o"), []byte("x")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("writing into a missing directory: %v", err)
	}
	if err := WriteFile(out, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Errorf("out = %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

// ELF has room for 65,279 sections: past 32,000 program sections (each with
// its relocations) a file is refused at the section() call.
func TestTooManySections(t *testing.T) {
	src := "for i in range(32001):\n    section(\"kprobe/f%d\" % i, \"p%d\" % i, [exit()])\n"
	_, err := Source("p.star", []byte(src), Options{})
	if want := "p.star:2:12: section: more than 32000 program sections in one file"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %s...", err, want)
	}
}
