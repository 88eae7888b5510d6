//go:build unix

package atomicfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The temporary file of a writer that died (no one holds its lock) is
// removed by the next write of the same path; one that a living writer
// holds is left alone.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.o")
	dead := filepath.Join(dir, ".out.o.tmp111")
	live := filepath.Join(dir, ".out.o.tmp222")
	other := filepath.Join(dir, ".other.o.tmp333")
	for _, p := range []string{dead, live, other} {
		os.WriteFile(p, []byte("half"), 0o644)
	}
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); err == nil {
		t.Error("a dead writer's temporary file is still there")
	}
	for _, p := range []string{live, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed", filepath.Base(p))
		}
	}
	// A pending write holds its lock until Commit: another write of the
	// same path leaves its temporary file alone.
	p, err := Prepare(path, bytes.NewReader([]byte("y")), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("z"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatalf("a pending write lost its temporary file: %v", err)
	}
}
