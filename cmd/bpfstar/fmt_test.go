package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestRepoFormatted checks that every .star file of the repository is
// formatted, as `bpfstar fmt --check` run at its root sees them.
func TestRepoFormatted(t *testing.T) {
	t.Chdir("../..")
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"fmt", "--check"}, &stdout, &stderr); code != 0 {
		t.Fatalf("bpfstar fmt --check exited %d; format these files with `go run ./cmd/bpfstar fmt`:\n%s%s", code, stdout.Bytes(), stderr.Bytes())
	}
}

// TestFmtWriteKeepsMode checks that fmt replaces a file through a rename
// that keeps its permissions and leaves no temporary file behind.
func TestFmtWriteKeepsMode(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "prog.star")
	if err := os.WriteFile(file, []byte("x=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"fmt", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("bpfstar fmt exited %d: %s", code, stderr.Bytes())
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "x = 1\n" {
		t.Errorf("formatted file = %q, want %q", got, "x = 1\n")
	}
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after fmt = %v, want -rw-------", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after fmt, want only prog.star", len(entries))
	}
}
