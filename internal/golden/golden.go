// Package golden compares test output with golden files in testdata, and
// rewrites them when the tests run with -update:
//
//	go test ./... -update
//
// Every test package of the module imports this package (or defines its own
// -update flag), so that the flag is known to all of them; review the diff
// of the rewritten files before committing them.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// The -update flag lives in the flag package's command line, not in a
// variable of this package: Updating reads it.
func init() {
	flag.Bool("update", false, "rewrite the golden files in testdata")
}

// Updating reports whether the tests run with -update: rewrite golden
// files instead of comparing. It is false before the flags are parsed.
func Updating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	on, _ := f.Value.(flag.Getter).Get().(bool)
	return on
}

// Check compares got with the golden file at path (relative to the test's
// package directory), or writes got there under -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (%d bytes, want %d); if the change is intended, run go test -update and review the diff", path, len(got), len(want))
	}
}
