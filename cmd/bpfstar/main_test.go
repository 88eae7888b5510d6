package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/bpfstar/bpfstar/internal/btftest"
	"github.com/bpfstar/bpfstar/internal/golden"
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
		UpdateScripts: golden.Updating(),
		Cmds:          map[string]func(*testscript.TestScript, bool, []string){"status": status, "kernelbtf": kernelBTF},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			if tool, ok := strings.CutPrefix(cond, "have:"); ok {
				return have(tool)
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// have reports whether the program tool is installed, for the condition
// [have:TOOL]; scripts skip, loudly, when it is not. Under
// BPFSTAR_REQUIRE_ALL=1 a missing tool is an error that fails the script.
func have(tool string) (bool, error) {
	if _, err := exec.LookPath(tool); err != nil {
		if testenv.Strict() {
			return false, fmt.Errorf("REQUIRED COMPONENT MISSING (BPFSTAR_REQUIRE_ALL=1): %s is not installed (run scripts/test-deps.sh)", tool)
		}
		return false, nil
	}
	return true, nil
}

// kernelBTF writes a small kernel BTF file (internal/btftest): "kernelbtf
// FILE" the first layout of its task_struct, "kernelbtf FILE moved" the
// second.
func kernelBTF(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: kernelbtf FILE [moved]")
	}
	o := btftest.Options{}
	if len(args) == 2 {
		o.Layout = 1
	}
	path := ts.MkAbs(args[0])
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		ts.Fatalf("%v", err)
	}
	if err := os.WriteFile(path, btftest.Kernel(o), 0o644); err != nil {
		ts.Fatalf("%v", err)
	}
}

// status runs a command, like exec, and checks its exit status:
// "status 1 bpfstar build bad.star". Its output is kept for stdout and
// stderr to check.
func status(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: bad exit code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			ts.Fatalf("status: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}
