package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/bpfstar/bpfstar/internal/golden" // -update
)

// A pending file replaces its path only on Commit; Abort leaves the path
// as it was and no temporary file behind.
func TestPending(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.o")
	os.WriteFile(path, []byte("old"), 0o644)
	p, err := Prepare(path, bytes.NewReader([]byte("new")), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Fatalf("before Commit: %q", data)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Fatalf("after Commit: %q", data)
	}
	if err := p.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}
	p, err = Prepare(path, bytes.NewReader([]byte("newer")), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p.Abort()
	p.Abort() // twice is harmless
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Fatalf("after Abort: %q", data)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("files left behind: %v", ents)
	}
	var zero *Pending
	zero.Abort()
	if err := zero.Commit(); err == nil {
		t.Error("Commit of a nil Pending succeeded")
	}
	if _, err := Prepare(filepath.Join(dir, "nodir", "x"), bytes.NewReader(nil), 0o644); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Prepare in a missing directory: %v", err)
	}
}

// A file whose name is as long as names may be is written: its temporary
// name is cut to fit (a name of 245-254 bytes once made CreateTemp fail).
func TestLongName(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{240, 250, 255} {
		path := filepath.Join(dir, strings.Repeat("x", n-2)+".o")
		if err := Write(path, []byte("data"), 0o644); err != nil {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}

// A path through a missing directory and back (x/../out.o, which Clean
// makes ./out.o while the kernel resolves x first) fails at the rename:
// the error names the path and why, not the temporary file, and nothing
// is left behind.
func TestCommitThroughMissingDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	p, err := Prepare("x/../out.o", bytes.NewReader([]byte("new")), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Commit()
	if want := "cannot write x/../out.o: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Commit: %v, want %q", err, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left behind: %v", ents)
	}
}
