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

// The Go section of README.md works as written: its shell lines run in a
// copy of this repository's workspace (mkdir, cd, go, and bpfstar, this
// program, in-process), with its main.go; `go run .` prints 2, XDP_PASS.
// The new module's go.sum starts as this repository's, so that `go get`
// needs no checksum database (only the module cache or proxy).
func TestREADMEGo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go get and go run; skipped in -short mode")
	}
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sh, mainGo []string
	for _, sec := range strings.Split(string(data), "\n## ") {
		if !strings.HasPrefix(sec, "Go\n") {
			continue
		}
		lines := strings.Split(sec, "\n")
		for i := 0; i < len(lines); i++ {
			if lines[i] != "```sh" && lines[i] != "```go" {
				continue
			}
			start := i + 1
			for i++; i < len(lines) && lines[i] != "```"; i++ {
			}
			switch block := lines[start:i]; {
			case lines[start-1] == "```sh" && sh == nil:
				sh = block
			case lines[start-1] == "```go" && len(block) > 0 && block[0] == "// main.go":
				mainGo = block
			}
		}
	}
	if len(sh) == 0 || len(mainGo) == 0 || !strings.Contains(strings.Join(sh, "\n"), "prints 2 (XDP_PASS)") {
		t.Fatalf("README.md's Go section has no sh block saying it prints 2 and no main.go: %q %q", sh, mainGo)
	}
	gosum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range repoWorkspace(t) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	goTool := goTool(t)
	var ran string
	for _, line := range sh {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		for _, cmd := range strings.Split(line, "&&") {
			args := strings.Fields(cmd)
			if len(args) == 0 {
				continue
			}
			switch args[0] {
			case "mkdir":
				if err := os.Mkdir(args[1], 0o755); err != nil {
					t.Fatal(err)
				}
				continue
			case "cd":
				t.Chdir(args[1])
				continue
			case "bpfstar":
				var out bytes.Buffer
				if code := Main(args[1:], &out, &out); code != 0 {
					t.Fatalf("%s: exit %d\n%s", cmd, code, out.Bytes())
				}
				continue
			case "go":
			default:
				t.Fatalf("README.md's Go section: cannot run %q", cmd)
			}
			switch args[1] {
			case "get":
				if err := os.WriteFile("go.sum", gosum, 0o644); err != nil {
					t.Fatal(err)
				}
			case "run":
				if err := os.WriteFile("main.go", []byte(strings.Join(mainGo, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				testenv.Root(t)
			}
			c := exec.Command(goTool, args[1:]...)
			c.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
			out, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", cmd, err, out)
			}
			ran = string(out)
		}
	}
	if ran != "2 <nil>\n" {
		t.Errorf("go run . printed %q, want 2 <nil>", ran)
	}
}

// The go generate way of README.md's Go section: in a Go module that is
// also a bpfstar workspace (a copy of this repository's), a package with
// the line
//
//	//go:generate bpfstar gen go //examples:flow_stats
//
// gets, from go generate (with bpfstar on PATH), flow_stats_bpfel.go and
// flow_stats_bpfel.o, the same bytes as bpfstar build writes into
// bpfstar-out/go for go_package = "flowstats" (examples/BUILD.star), and
// the package vets, while the module does not take bpfstar-out/go in.
func TestGoGenerate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bpfstar and runs go generate; skipped in -short mode")
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile("../../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	build, err := os.ReadFile("../../examples/BUILD.star")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	buildBinary(t, bin, runtime.GOARCH)
	if err := os.Rename(filepath.Join(bin, "bpfstar-"+runtime.GOARCH), filepath.Join(bin, "bpfstar")); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := repoWorkspace(t)
	files["examples/BUILD.star"] = string(build)
	files["go.mod"] = strings.Replace(string(gomod), "module github.com/bpfstar/bpfstar", "module example.com/gen", 1)
	files["go.sum"] = string(gosum)
	files["flowstats/gen.go"] = "package flowstats\n\n//go:generate bpfstar gen go //examples:flow_stats\n"
	for name, text := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	goTool := goTool(t)
	run(goTool, "generate", "./...")
	run(filepath.Join(bin, "bpfstar"), "build", "//examples:flow_stats")
	for _, f := range []string{"flow_stats_bpfel.go", "flow_stats_bpfel.o"} {
		got, err := os.ReadFile(filepath.Join(dir, "flowstats", f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(dir, "bpfstar-out/go/examples", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("flowstats/%s from go generate differs from bpfstar-out/go/examples/%s", f, f)
		}
	}
	run(goTool, "vet", "./...")
	if out := run(goTool, "list", "./..."); out != "example.com/gen/flowstats\n" {
		t.Errorf("go list ./... = %q, want the package flowstats alone", out)
	}
}
