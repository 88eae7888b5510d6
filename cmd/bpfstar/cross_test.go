package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// TestCrossCompile builds bpfstar for macOS and for 64-bit ARM: the
// interpreter (bpfstar test --engine vm) is what runs tests there, and
// nothing in the build may need Linux or amd64.
func TestCrossCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiling takes a while")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	for _, target := range [][2]string{{"darwin", "arm64"}, {"darwin", "amd64"}, {"linux", "arm64"}} {
		t.Run(target[0]+"_"+target[1], func(t *testing.T) {
			cmd := exec.Command(gobin, "build", "-o", filepath.Join(t.TempDir(), "bpfstar"), ".")
			cmd.Env = append(os.Environ(), "GOOS="+target[0], "GOARCH="+target[1], "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("GOOS=%s GOARCH=%s go build: %v\n%s", target[0], target[1], err, out)
			}
		})
	}
}
