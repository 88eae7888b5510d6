package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSoakKill kills `bpfstar build //...` of a 100-target workspace with
// SIGKILL at moments drawn from a fixed seed, after an edit of the library
// every target loads (so that every target has work to do), and then lets
// a rebuild finish: its outputs must equal those of a clean build of the
// same sources, and no temporary file may be left in the output tree. The
// default is 5 rounds; BPFSTAR_SOAK=50 runs the long version (see
// docs/fuzzing.md).
func TestSoakKill(t *testing.T) {
	rounds := 5
	if n, err := strconv.Atoi(os.Getenv("BPFSTAR_SOAK")); err == nil && n > 0 {
		rounds = n
	}
	if testing.Short() {
		t.Skip("-short")
	}
	bin := filepath.Join(t.TempDir(), "bpfstar")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ws := t.TempDir()
	write := func(root string, version int) {
		files := map[string]string{
			"bpfstar.workspace": "",
			"lib/BUILD.star":    "",
			"lib/ret.star":      fmt.Sprintf("V = %d\n\ndef ret():\n    return [insn.mov64_imm(r0, V), exit()]\n", version),
		}
		var build strings.Builder
		for i := 0; i < 100; i++ {
			fmt.Fprintf(&build, "bpf_object(name = \"t%d\", src = \"t%d.star\")\n", i, i)
			files[fmt.Sprintf("pkg/t%d.star", i)] = fmt.Sprintf("load(\"//lib:ret.star\", \"ret\")\n\nsection(\"xdp\", \"p%d\", [insn.mov64_imm(r1, %d)] * %d + ret())\nlicense(\"GPL\")\n", i, i, 3000+i)
		}
		files["pkg/BUILD.star"] = build.String()
		for name, text := range files {
			p := filepath.Join(root, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(dir string, args ...string) error {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	}
	outputs := func(root string) map[string][]byte {
		m := map[string][]byte{}
		filepath.WalkDir(filepath.Join(root, "bpfstar-out", "bin"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(root, p)
				m[rel] = data
			}
			return nil
		})
		return m
	}
	// How long a build of everything takes, for the moments of the kills.
	timing := t.TempDir()
	write(timing, -1)
	start := time.Now()
	if err := run(timing, "build", "//..."); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	r := rand.New(rand.NewPCG(7, 9))
	killed := 0
	for round := 0; round < rounds; round++ {
		write(ws, round)
		cmd := exec.Command(bin, "build", "-j", "2", "//...")
		cmd.Dir = ws
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(full))))
		cmd.Process.Kill()
		if err := cmd.Wait(); err != nil && strings.Contains(err.Error(), "killed") {
			killed++
		}
		if err := run(ws, "build", "-j", "2", "//..."); err != nil {
			t.Fatalf("round %d: the rebuild after the kill failed: %v", round, err)
		}
		clean := t.TempDir()
		write(clean, round)
		if err := run(clean, "build", "//..."); err != nil { // a fresh tree: an empty cache
			t.Fatalf("round %d: clean build: %v", round, err)
		}
		got, want := outputs(ws), outputs(clean)
		if len(got) != len(want) || len(want) != 100 {
			t.Fatalf("round %d: %d outputs after the kill, %d in a clean build (want 100)", round, len(got), len(want))
		}
		for name, data := range want {
			if !bytes.Equal(got[name], data) {
				t.Errorf("round %d: %s differs from a clean build's", round, name)
			}
		}
		filepath.WalkDir(filepath.Join(ws, "bpfstar-out", "bin"), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.Contains(d.Name(), ".tmp") {
				t.Errorf("round %d: a temporary file is left: %s", round, p)
			}
			return nil
		})
	}
	t.Logf("%d rounds, %d builds killed before they finished (a build of all takes %v)", rounds, killed, full)
	if killed == 0 {
		t.Error("no build was killed before it finished: the test proved nothing")
	}
}
