package starlib_test

import (
	"bytes"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/starlib"
)

// TestAsmClang builds the C programs of testdata/clang with clang-19 -O2
// -g -mcpu=v4, lists them with llvm-objdump-19 -dr --mcpu=v4, and turns
// each function of the listing into an asm() text: the instruction lines
// as objdump prints them (whole: index, bytes and text; jumps with their
// offsets and annotations), the
// symbols objdump prints as headings as labels, and the relocated
// instructions with the name of their symbol in place of the number (a map
// or a variable in "r1 = counts ll", a section with its offset in "r2 =
// sec_bss + 8 ll", a function in "call bump" and "r2 = step ll"). A
// program file declares the maps, variables and functions and calls asm()
// on the texts; every instruction it makes must have the bytes clang
// wrote, and each relocated one the symbol of its relocation (the
// relocated field compared as the loaders would fill it: a variable's
// offset in the immediate; a call's target, and a callback's, by name).
func TestAsmClang(t *testing.T) {
	clang, include := testenv.ClangBPF(t, "/usr/include/bpf/bpf_helpers.h", "/usr/include/linux/bpf.h")
	objdump := testenv.Tool(t, "llvm-objdump-19")
	files, err := filepath.Glob("testdata/clang/*.c")
	if err != nil || len(files) < 2 {
		t.Fatalf("C files: %v, %v", files, err)
	}
	relocs := 0
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			obj := filepath.Join(t.TempDir(), "prog.o")
			if out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-mcpu=v4", "-I", include, "-c", file, "-o", obj).CombinedOutput(); err != nil {
				t.Fatalf("clang: %v\n%s", err, out)
			}
			listing, err := exec.Command(objdump, "-dr", "--mcpu=v4", obj).Output()
			if err != nil {
				t.Fatalf("llvm-objdump-19: %v", err)
			}
			relocs += checkClangObject(t, obj, string(listing))
		})
	}
	if relocs == 0 {
		t.Error("no relocated instruction checked")
	}
}

var (
	sectionLine = regexp.MustCompile(`^Disassembly of section (.+):$`)
	headingLine = regexp.MustCompile(`^[0-9a-f]+ <(.+)>:$`)
	insnLine    = regexp.MustCompile(`^ *[0-9]+:\t([0-9a-f ]+)\t(.*)$`)
	relocLine   = regexp.MustCompile(`^\t\t[0-9a-f]+:  (R_BPF_\w+)\t(.+)$`)
)

// clangFunc is a function of the listing: its section, the lines of its
// asm() text, and the bytes of each instruction.
type clangFunc struct {
	section, name string
	lines         []string
	code          [][]byte
	refs          []string // per instruction: the relocation's symbol as named in the text, or ""
}

func checkClangObject(t *testing.T, obj, listing string) (relocs int) {
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	secName := func(s elf.Symbol) string {
		if int(s.Section) < len(f.Sections) {
			return f.Sections[s.Section].Name
		}
		return ""
	}
	var decls strings.Builder
	funcs := make(map[string]bool)          // function symbols
	textFuncs := make(map[uint64]string)    // .text functions by offset
	sectionAlias := make(map[string]string) // data section -> the global standing for it
	for _, s := range syms {
		sec := secName(s)
		switch {
		case elf.ST_TYPE(s.Info) == elf.STT_FUNC:
			funcs[s.Name] = true
			if sec == ".text" {
				textFuncs[s.Value] = s.Name
			}
		case sec == ".maps":
			fmt.Fprintf(&decls, "bpf_map(%q, \"array\", key_size = 4, value_size = 8, max_entries = 1)\n", s.Name)
		case elf.ST_TYPE(s.Info) == elf.STT_OBJECT && dataSection(sec) == "bss":
			fmt.Fprintf(&decls, "bss(%q, %d)\n", s.Name, s.Size)
		case elf.ST_TYPE(s.Info) == elf.STT_OBJECT && dataSection(sec) != "":
			fmt.Fprintf(&decls, "%s(%q, b\"\\x00\", size = %d)\n", dataSection(sec), s.Name, s.Size)
		}
	}
	for _, s := range f.Sections {
		if kind := dataSection(s.Name); kind != "" {
			alias := "sec" + strings.NewReplacer(".", "_").Replace(s.Name)
			sectionAlias[s.Name] = alias
			size := s.Size
			if kind == "bss" {
				fmt.Fprintf(&decls, "bss(%q, %d)\n", alias, size)
			} else {
				fmt.Fprintf(&decls, "%s(%q, b\"\\x00\", size = %d)\n", kind, alias, size)
			}
		}
	}

	// Cut the listing into functions.
	var fns []*clangFunc
	var cur *clangFunc
	section := ""
	lines := strings.Split(listing, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := sectionLine.FindStringSubmatch(l); m != nil {
			section = m[1]
			continue
		}
		if m := headingLine.FindStringSubmatch(l); m != nil {
			if funcs[m[1]] {
				cur = &clangFunc{section: section, name: m[1]}
				fns = append(fns, cur)
			} else if cur != nil {
				cur.lines = append(cur.lines, m[1]+":")
			}
			continue
		}
		m := insnLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if cur == nil {
			t.Fatalf("instruction outside a function: %q", l)
		}
		code, err := hex.DecodeString(strings.ReplaceAll(m[1], " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		// The whole line, as objdump prints it (asm() skips the index and
		// the bytes), or a relocated instruction's text with its symbol.
		text, ref := l, ""
		if i+1 < len(lines) {
			if r := relocLine.FindStringSubmatch(lines[i+1]); r != nil {
				i++
				text, ref = relocated(t, m[2], code, r[1], r[2], sectionAlias, textFuncs)
			}
		}
		cur.lines = append(cur.lines, "    "+text)
		cur.code = append(cur.code, code)
		cur.refs = append(cur.refs, ref)
	}

	var src strings.Builder
	src.WriteString(decls.String())
	for _, fn := range fns {
		text := strings.Join(fn.lines, "\n")
		if fn.section == ".text" {
			fmt.Fprintf(&src, "function(%q, asm(\"\"\"\n%s\n\"\"\"))\n", fn.name, text)
		} else {
			fmt.Fprintf(&src, "section(%q, %q, asm(\"\"\"\n%s\n\"\"\"))\n", fn.section, fn.name, text)
		}
	}
	src.WriteString("license(\"GPL\")\n")
	u, err := starlib.Exec("clang.star", []byte(src.String()), starlib.Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, src.String())
	}
	progs := make(map[string]asm.Program)
	for _, p := range append(append([]asm.Program(nil), u.Programs...), u.Functions...) {
		progs[p.Symbol] = p
	}
	checked := 0
	for _, fn := range fns {
		p, ok := progs[fn.name]
		if !ok {
			t.Fatalf("no program or function %q", fn.name)
		}
		if len(p.Insns) != len(fn.code) {
			t.Fatalf("%s: %d instructions, want %d", fn.name, len(p.Insns), len(fn.code))
		}
		for i, in := range p.Insns {
			want := fn.code[i]
			ins := in.Instruction
			ref := in.Ref()
			name := ref.Name
			switch ref.Kind {
			case asm.RefNone:
			case asm.RefGlobal:
				ins.Imm = ref.Addend // the loaders find the offset in the immediate
			case asm.RefFunc, asm.RefFuncAddr:
				// The immediate is the target, named by the relocation.
				ins.Imm = int64(int32(uint32(want[4]) | uint32(want[5])<<8 | uint32(want[6])<<16 | uint32(want[7])<<24))
			}
			if got := ins.Append(nil); !bytes.Equal(got, want) {
				t.Errorf("%s[%d] %q: % x, want % x", fn.name, i, in.String(), got, want)
			}
			if name != fn.refs[i] {
				t.Errorf("%s[%d] %q: refers to %q, want %q", fn.name, i, in.String(), name, fn.refs[i])
			}
			if name != "" {
				relocs++
			}
			checked++
		}
	}
	t.Logf("%d functions, %d instructions, %d relocated", len(fns), checked, relocs)
	return relocs
}

// dataSection returns the builtin that declares a variable of section
// name, or "" for sections that do not hold variables.
func dataSection(name string) string {
	switch {
	case name == ".bss" || strings.HasPrefix(name, ".bss."):
		return "bss"
	case name == ".data" || strings.HasPrefix(name, ".data."):
		return "data"
	case name == ".rodata" || strings.HasPrefix(name, ".rodata."):
		return "rodata"
	}
	return ""
}

// relocated returns the text of a relocated instruction with the name of
// the relocation's symbol in place of its number, and that name.
func relocated(t *testing.T, text string, code []byte, typ, sym string, sections map[string]string, textFuncs map[uint64]string) (string, string) {
	imm := int64(int32(uint32(code[4]) | uint32(code[5])<<8 | uint32(code[6])<<16 | uint32(code[7])<<24))
	switch {
	case typ == "R_BPF_64_64" && strings.HasSuffix(text, " ll"):
		lhs, _, _ := strings.Cut(text, " = ")
		if sym == ".text" {
			// A function's address (a callback): the immediate holds
			// its offset in .text in bytes.
			fn, ok := textFuncs[uint64(imm)]
			if !ok {
				t.Fatalf("%q: no function at .text+%d", text, imm)
			}
			return fmt.Sprintf("%s = %s ll", lhs, fn), fn
		}
		name := sym
		if alias, ok := sections[sym]; ok {
			name = alias
		}
		if imm != 0 {
			return fmt.Sprintf("%s = %s + %d ll", lhs, name, imm), name
		}
		return fmt.Sprintf("%s = %s ll", lhs, name), name
	case typ == "R_BPF_64_32" && strings.HasPrefix(text, "call "):
		if sym == ".text" {
			// A static function: the immediate holds its offset in .text
			// in slots, less one.
			fn, ok := textFuncs[uint64(imm+1)*isa.SlotSize]
			if !ok {
				t.Fatalf("%q: no function at .text+%d", text, (imm+1)*8)
			}
			sym = fn
		}
		return "call " + sym, sym
	}
	t.Fatalf("unexpected relocation %s %s on %q", typ, sym, text)
	return "", ""
}
