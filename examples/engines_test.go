package examples_test

import (
	"path/filepath"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/testrun"
	"github.com/bpfstar/bpfstar/workspace"
)

// runExampleTests runs the cases of every example test file with engine
// and fails on any case that does not pass.
func runExampleTests(t *testing.T, engine testrun.Engine) {
	files, err := filepath.Glob("*_test.star")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example tests: %v", err)
	}
	total := 0
	for _, f := range files {
		obj, u, err := workspace.BuildFileUnit(f, starlib.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := testrun.RunWith(obj, u.Tests, testrun.Options{Engine: engine})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range rs {
			total++
			if r.Status != testrun.Pass {
				t.Errorf("%v: %s %s: %s", r.Case.Pos, r.Status, r.Case.Name, r.Msg)
			}
		}
	}
	if total < 20 {
		t.Errorf("%d cases, want the examples' 20 or more", total)
	}
}

// TestExamplesVM runs every example's tests in the interpreter: no kernel,
// no privileges.
func TestExamplesVM(t *testing.T) { runExampleTests(t, testrun.VM) }

// TestExamplesBoth runs every example's tests in the kernel and in the
// interpreter: each case must pass on both with the same results (the
// kernel cannot test-run cgroup/dev programs: those pass on the
// interpreter alone).
func TestExamplesBoth(t *testing.T) {
	testenv.Root(t)
	runExampleTests(t, testrun.Both)
}
