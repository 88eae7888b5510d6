package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/verify"
	"github.com/bpfstar/bpfstar/workspace"
)

// The examples written with the standard library (issue 13) cost the
// verifier at most 1.2 times the instructions that the same program in C,
// built with clang-19 -O2 -g, costs it: the library's abstractions emit
// what a C compiler would. docs/perf.md records the figures, which
// go test -v ./bench -run VerifierCounts prints.
func TestStdlibExamplesVerifierCounts(t *testing.T) {
	testenv.Root(t)
	clang, include := testenv.ClangBPF(t, "/usr/include/bpf/bpf_helpers.h", "/usr/include/bpf/bpf_endian.h")
	for _, name := range []string{"xdp_drop_dns", "pid_counter", "tc_syn_ringbuf"} {
		t.Run(name, func(t *testing.T) {
			obj, _, err := workspace.BuildFile(filepath.Join("..", "examples", name+".star"), starlib.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cobj := filepath.Join(t.TempDir(), name+".o")
			if out, err := exec.Command(clang, "-target", "bpf", "-mcpu=v4", "-O2", "-g", "-I"+include, "-c", filepath.Join("c", name+".c"), "-o", cobj).CombinedOutput(); err != nil {
				t.Fatalf("clang: %v\n%s", err, out)
			}
			cbytes, err := os.ReadFile(cobj)
			if err != nil {
				t.Fatal(err)
			}
			star, c := processed(t, obj), processed(t, cbytes)
			t.Logf("%s: bpfstar %d, clang-19 %d instructions processed (%.2fx)", name, star, c, float64(star)/float64(c))
			if star*10 > c*12 {
				t.Errorf("bpfstar's %s costs the verifier %d instructions, more than 1.2 times clang's %d", name, star, c)
			}
		})
	}
}

// processed returns the instructions the verifier processed for the one
// program of obj.
func processed(t *testing.T, obj []byte) int {
	t.Helper()
	vs, err := verify.Object(obj)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || !vs[0].Accepted || vs[0].Processed == 0 {
		var b strings.Builder
		verify.Print(&b, vs)
		t.Fatalf("want one accepted program with a count:\n%s", b.String())
	}
	return vs[0].Processed
}
