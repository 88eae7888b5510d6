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

// Update is the -update flag: rewrite golden files instead of comparing.
var Update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Check compares got with the golden file at path (relative to the test's
// package directory), or writes got there under -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
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
