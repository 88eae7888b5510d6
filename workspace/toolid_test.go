package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Only a build ID of the go command's form (actionID/contentID/...) keys
// the cache; a fixed one, as -buildid=redacted leaves in every binary, does
// not, so ExecutableID falls back to hashing the executable.
func TestGoBuildID(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build test binaries with") // not an external dependency of bpfstar
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module m\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := func(out string, flags ...string) string {
		cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), ".")...)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		return filepath.Join(dir, out)
	}
	if id := goBuildID(build("normal")); strings.Count(id, "/") < 1 {
		t.Errorf("build ID of a normal build = %q", id)
	}
	if id := goBuildID(build("redacted", "-ldflags=-buildid=redacted")); id != "" {
		t.Errorf("build ID of a -buildid=redacted build = %q, want none", id)
	}
}
