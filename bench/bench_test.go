package bench

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/link"
	"github.com/bpfstar/bpfstar/starlib"
)

// sectionBytes returns the contents of section name of an ELF object.
func sectionBytes(t testing.TB, obj []byte, name string) []byte {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(name)
	if s == nil {
		t.Fatalf("no section %q", name)
	}
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func buildStar(t testing.TB, n int) []byte {
	t.Helper()
	obj, err := compile.Source("bench.star", Star(n), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// The Starlark program, the Go model of it and llvm-mc agree on every byte.
func TestMatchesLLVM(t *testing.T) {
	const n = 10_000
	want := Code(n)
	if got := sectionBytes(t, buildStar(t, n), Section); !bytes.Equal(got, want) {
		t.Fatalf("bpfstar: %d bytes differ from the model's %d", len(got), len(want))
	}
	mc := testenv.Tool(t, "llvm-mc-19")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "bench.s"), filepath.Join(dir, "bench.o")
	if err := os.WriteFile(in, Asm(n), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(mc, "-triple", "bpfel", "-mcpu=v4", "-filetype=obj", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("llvm-mc-19: %v\n%s", err, msg)
	}
	obj, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := sectionBytes(t, obj, Section); !bytes.Equal(got, want) {
		t.Fatalf("llvm-mc: %d bytes differ from the model's %d", len(got), len(want))
	}
}

// The program written as asm() text builds to the same bytes.
func TestAsmStarMatches(t *testing.T) {
	const n = 10_000
	obj, err := compile.Source("asm.star", AsmStar(n), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sectionBytes(t, obj, Section), Code(n); !bytes.Equal(got, want) {
		t.Fatalf("asm(): %d bytes differ from the model's %d", len(got), len(want))
	}
}

// BenchmarkAsm times compile.Source on AsmStar(n), the program of
// BenchmarkBuild written as one asm() text of n lines (and n/12 labels).
func BenchmarkAsm(b *testing.B) {
	for _, n := range Sizes[1:3] {
		src := AsmStar(n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compile.Source("asm.star", src, compile.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/insn")
		})
		b.Run("exec/"+sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := starlib.Exec("asm.star", src, starlib.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/line")
		})
	}
}

// Sizes are the program sizes the benchmarks run at.
var Sizes = []int{1_000, 10_000, 100_000, 1_000_000}

func sizeName(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// BenchmarkBuild times compile.Source, the whole in-process pipeline from
// Starlark text to object bytes.
func BenchmarkBuild(b *testing.B) {
	for _, n := range Sizes {
		src := Star(n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compile.Source("bench.star", src, compile.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/insn")
		})
	}
}

// BenchmarkStages times the stages of the pipeline separately: Starlark
// evaluation (starlib.Exec), assembly and layout (link.Link) and the ELF
// encoding (Object.Bytes).
func BenchmarkStages(b *testing.B) {
	for _, n := range Sizes {
		src := Star(n)
		b.Run("exec/"+sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := starlib.Exec("bench.star", src, starlib.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		u, err := starlib.Exec("bench.star", src, starlib.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("link/"+sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := link.Link(&u.Unit); err != nil {
					b.Fatal(err)
				}
			}
		})
		obj, err := link.Link(&u.Unit)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("bytes/"+sizeName(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := obj.Bytes(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
