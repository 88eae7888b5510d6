package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// bpfstar gen go writes the same files for every example whatever the
// binary (this GOARCH, or 386: another word size), the directory (spaces
// included), the environment (emptied, TZ, locale; GOPACKAGE is not used
// when --package is given) and the umask. Darwin: see gobind's
// TestNoHostDependence, which cross-compiles bpfstar for it.
func TestGenGoReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bpfstar twice; skipped in -short mode")
	}
	examples, err := filepath.Glob("../../examples/*.star")
	if err != nil {
		t.Fatal(err)
	}
	var progs []string
	for _, f := range examples {
		if !strings.HasSuffix(f, "_test.star") && filepath.Base(f) != "BUILD.star" {
			abs, _ := filepath.Abs(f)
			progs = append(progs, abs)
		}
	}
	bins := t.TempDir()
	native := buildBinary(t, bins, runtime.GOARCH)
	type run struct {
		name, bin, dir string
		env            []string
		umask          int
	}
	runs := []run{
		{name: "baseline", bin: native, dir: "base", env: []string{"PATH=/usr/bin:/bin"}},
		{name: "elsewhere, empty environment, umask", bin: native, dir: "a dir/with spaces", umask: 0o077},
		{name: "TZ, locale, GOPACKAGE", bin: native, dir: "env", env: []string{"TZ=Pacific/Kiritimati", "LANG=tr_TR.UTF-8", "LC_ALL=tr_TR.UTF-8", "GOPACKAGE=other"}},
	}
	if runtime.GOARCH == "amd64" {
		runs = append(runs, run{name: "GOARCH=386 bpfstar", bin: buildBinary(t, bins, "386"), dir: "i386"})
	}
	var want map[string][]byte
	for _, r := range runs {
		dir := filepath.Join(t.TempDir(), r.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, p := range progs {
			cmd := exec.Command(r.bin, "gen", "go", "--package", "examples", p)
			cmd.Dir = dir
			cmd.Env = append([]string{}, r.env...)
			old := syscall.Umask(r.umask | 0o022)
			out, err := cmd.CombinedOutput()
			syscall.Umask(old)
			if err != nil {
				if r.bin != native && strings.Contains(err.Error(), "exec format error") {
					testenv.Missing(t, "this machine cannot run GOARCH=386 binaries: "+err.Error())
				}
				t.Fatalf("%s: bpfstar gen go %s: %v\n%s", r.name, p, err, out)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			got[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
			if bytes.Contains(got[e.Name()], []byte(dir)) {
				t.Errorf("%s: %s contains the directory's path", r.name, e.Name())
			}
		}
		if want == nil {
			want = got
			if len(want) != 2*len(progs) {
				t.Fatalf("baseline: %d files for %d examples", len(want), len(progs))
			}
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d files, want %d", r.name, len(got), len(want))
		}
		for name, data := range want {
			if !bytes.Equal(got[name], data) {
				t.Errorf("%s: %s differs from the baseline", r.name, name)
			}
		}
	}
}
