package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bpfstar": func() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the txtar scripts in testdata/script; regenerate their
// expected output with `go test ./cmd/bpfstar -update` and review the diff.
//
// Scripts that load programs into the kernel guard themselves with [root];
// under BPFSTAR_REQUIRE_ALL=1 (make test) not being root is a failure.
func TestScripts(t *testing.T) {
	if os.Geteuid() != 0 {
		if testenv.Strict() {
			t.Fatal("REQUIRED COMPONENT MISSING (BPFSTAR_REQUIRE_ALL=1): root, to load programs into the kernel")
		}
		t.Log("NOT ROOT: the parts of scripts guarded by [root] (kernel loads) are skipped")
	}
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
