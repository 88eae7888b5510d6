package disasm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/isa"
)

// compare checks that Object prints exactly what llvm-objdump-19 prints for
// the object at path.
func compare(t *testing.T, path string) {
	t.Helper()
	want := isatest.Objdump(t, path)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := Object(&got, path, data); err != nil {
		t.Fatalf("Object(%s): %v", path, err)
	}
	if diff := cmp.Diff(want, got.String()); diff != "" {
		t.Errorf("Object(%s) differs from llvm-objdump-19 -d --mcpu=v4 (-objdump +Object):\n%s", path, diff)
	}
}

// TestHandwritten covers symbol selection, data symbols, zero runs and
// truncated instructions with the assembler sources in testdata.
func TestHandwritten(t *testing.T) {
	files, err := filepath.Glob("testdata/*.s")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.s: %v", err)
	}
	dir := t.TempDir()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".s")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, isatest.Assemble(t, dir, name, string(src)))
		})
	}
}

// TestInstructions disassembles every instruction form, the encodings
// llvm-mc cannot produce from text, and random valid instructions and
// random slots, cut into functions, labels and data objects spread over
// several sections.
func TestInstructions(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	insns := append(isatest.Forms(), isatest.Noncanonical()...)
	insns = append(insns, isatest.RandomValid(r, 2000)...)
	insns = append(insns, isatest.RandomSlots(r, 3000)...)
	r.Shuffle(len(insns), func(i, j int) { insns[i], insns[j] = insns[j], insns[i] })

	var src strings.Builder
	sections := []string{".text", "xdp", "tc/ingress", "socket"}
	for i, n := 0, 0; len(insns) > 0; i++ {
		n = min(1+r.IntN(300), len(insns))
		fmt.Fprintf(&src, "\t.section %s,\"ax\",@progbits\n", sections[r.IntN(len(sections))])
		fmt.Fprintf(&src, "%s", label(r, fmt.Sprintf("f%d", i)))
		for j, ins := range insns[:n] {
			if r.IntN(40) == 0 {
				fmt.Fprintf(&src, "%s", label(r, fmt.Sprintf("L%d_%d", i, j)))
			}
			fmt.Fprintf(&src, "\t%s\n", ins.AsmString())
		}
		insns = insns[n:]
	}
	compare(t, isatest.Assemble(t, t.TempDir(), "insns", src.String()))
}

// label returns a label definition with a random symbol type and binding.
func label(r *rand.Rand, name string) string {
	var b strings.Builder
	switch r.IntN(10) {
	case 0:
		fmt.Fprintf(&b, "\t.type %s,@object\n", name)
	case 1, 2:
	default:
		fmt.Fprintf(&b, "\t.type %s,@function\n", name)
	}
	if r.IntN(3) == 0 {
		fmt.Fprintf(&b, "\t.globl %s\n", name)
	}
	return b.String() + name + ":\n"
}

// TestRandomBytes disassembles sections of random bytes, zero runs, 64-bit
// loads whole, bad and cut off, with symbols at random (also odd) offsets.
func TestRandomBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	slots := isatest.RandomSlots(r, 4000)
	var src strings.Builder
	for s := 0; s < 6; s++ {
		fmt.Fprintf(&src, "\t.section r%d,\"ax\",@progbits\n", s)
		for k := 0; k < 150; k++ {
			if r.IntN(4) == 0 {
				src.WriteString(label(r, fmt.Sprintf("s%d_%d", s, k)))
			}
			var b []byte
			switch r.IntN(8) {
			case 0: // zeros
				b = make([]byte, r.IntN(20))
			case 1: // a few odd bytes
				b = make([]byte, 1+r.IntN(7))
				for i := range b {
					b[i] = byte(r.IntN(256))
				}
			case 2: // a 64-bit load, decodable or not
				ins := isa.Instruction{Op: isa.OpLoadImm64, Dst: isa.Register(r.IntN(16)), Src: isa.Register(r.IntN(16)),
					Off: int16(r.IntN(2)), Imm: int64(r.Uint64())}
				b = ins.Append(nil)
				if r.IntN(2) == 0 {
					b[8+r.IntN(4)] = byte(r.IntN(256))
				}
			default:
				for _, ins := range slots[:4] {
					b = ins.Append(b)
				}
				slots = slots[4:]
			}
			for len(b) > 0 {
				n := min(len(b), 16)
				src.WriteString("\t.byte ")
				for i, c := range b[:n] {
					if i > 0 {
						src.WriteString(",")
					}
					fmt.Fprintf(&src, "%d", c)
				}
				src.WriteString("\n")
				b = b[n:]
			}
		}
	}
	compare(t, isatest.Assemble(t, t.TempDir(), "random", src.String()))
}

// fixMov works around an LLVM 19 bug: clang -S prints the zero-extending
// move MOV_32_64 as "r2 = w2", which llvm-mc rejects; "w2 = w2" has the same
// encoding.
var fixMov = regexp.MustCompile(`(?m)^(\s*)r([0-9]+) = (w[0-9]+)$`)

// TestClang disassembles the C programs in testdata as clang-19 compiles
// them, directly and through assembler source and llvm-mc, which keeps the
// local labels (LBB0_2) in the symbol table.
func TestClang(t *testing.T) {
	clang, include := testenv.ClangBPF(t, "/usr/include/linux/bpf.h", "/usr/include/bpf/bpf_helpers.h")
	files, err := filepath.Glob("testdata/*.c")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.c: %v", err)
	}
	dir := t.TempDir()
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".c")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run := func(args ...string) {
				t.Helper()
				args = append([]string{"-target", "bpf", "-O2", "-g", "-mcpu=v4", "-I", include}, args...)
				if out, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
					t.Fatalf("clang-19 %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			obj := filepath.Join(dir, name+".o")
			run("-c", f, "-o", obj)
			compare(t, obj)

			asmFile := filepath.Join(dir, name+".clang.s")
			run("-S", f, "-o", asmFile)
			src, err := os.ReadFile(asmFile)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, isatest.Assemble(t, dir, name+"_mc", fixMov.ReplaceAllString(string(src), "${1}w$2 = $3")))
		})
	}
}

func TestErrors(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty":       nil,
		"text":        []byte("not an object\n"),
		"test binary": exe,
		"truncated":   exe[:100],
	} {
		var out bytes.Buffer
		if err := Object(&out, name, data); err == nil {
			t.Errorf("%s: no error", name)
		}
		if out.Len() != 0 {
			t.Errorf("%s: wrote %q on error", name, out.String())
		}
	}
}

// FuzzObject checks that no input makes the disassembler panic. It calls
// object directly, so that Object's safety net does not hide a panic.
func FuzzObject(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if err := object(&out, "fuzz.o", data); err != nil {
			return
		}
		if !strings.HasPrefix(out.String(), "\nfuzz.o:\tfile format elf64-bpf\n") {
			t.Fatalf("no header: %q", out.String())
		}
	})
}
