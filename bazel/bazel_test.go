// Package bazel_test builds bpfstar programs with the bpf_object rule of
// defs.bzl in a real Bazel, inside its Linux sandbox, and checks that the
// objects are byte-identical to a direct `bpfstar build`.
package bazel_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// bazelMissing explains what the test needs when bazel is not installed.
const bazelMissing = "bazel is not installed (Debian: apt-get install -y bazel-bootstrap, Bazel 4.2, which runs offline); " +
	"this test runs bazel/defs.bzl's bpf_object in Bazel's linux-sandbox"

// workspace is a Bazel workspace laid out in a temporary directory, with
// its own output root and server, shut down when the test ends.
type workspace struct {
	t       *testing.T
	dir     string // the workspace root
	bazel   string
	startup []string // startup options
}

func TestBpfObjectSandboxed(t *testing.T) {
	ws := newWorkspace(t)
	bpfstar := filepath.Join(ws.dir, "tools", "bpfstar")

	// Every example, each its own target.
	examples, err := filepath.Glob("../examples/*.star")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	build := "load(\"//bazel:defs.bzl\", \"bpf_object\")\n"
	var targets, stems []string
	for _, ex := range examples {
		if filepath.Base(ex) == "BUILD.star" || strings.HasSuffix(ex, "_test.star") {
			continue // bpfstar's own build file for the examples, and their test files
		}
		src, err := os.ReadFile(ex)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(ex)
		stem := strings.TrimSuffix(base, ".star")
		ws.write("examples/"+base, string(src))
		// Any example may load() the others' files, as libraries.
		build += fmt.Sprintf("\nbpf_object(\n    name = %q,\n    src = %q,\n    srcs = glob([\"*.star\"]),\n    data = glob([\"*.btf\"]),\n)\n", stem, base)
		targets = append(targets, "//examples:"+stem)
		stems = append(stems, "examples/"+stem)
	}
	// The BTF files the examples read (btf_types), declared as data.
	btfs, err := filepath.Glob("../examples/*.btf")
	if err != nil || len(btfs) == 0 {
		t.Fatalf("no BTF files in examples: %v", err)
	}
	for _, f := range btfs {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ws.write("examples/"+filepath.Base(f), string(data))
	}
	build += "\nbpf_object(\n    name = \"task_info_no_data\",\n    src = \"task_info.star\",\n)\n"
	ws.write("examples/BUILD", build)

	// Programs that load() libraries: from another package through
	// bpf_library deps (which load() one of their own), and from their
	// own package through srcs.
	ws.write("lib/BUILD", `load("//bazel:defs.bzl", "bpf_library")

bpf_library(
    name = "consts",
    srcs = ["consts.star"],
)

bpf_library(
    name = "regs",
    srcs = ["regs.star"],
    visibility = ["//visibility:public"],
    deps = [":consts"],
)
`)
	ws.write("lib/consts.star", "XDP_PASS = 2\n")
	ws.write("lib/regs.star", `load(":consts.star", "XDP_PASS")

def ret(v):
    return [insn.mov64_imm(r0, v), exit()]

def pass_all():
    return ret(XDP_PASS)
`)
	ws.write("prog/BUILD", `load("//bazel:defs.bzl", "bpf_object")

bpf_object(
    name = "with_deps",
    src = "with_deps.star",
    deps = ["//lib:regs"],
)

bpf_object(
    name = "with_srcs",
    src = "with_srcs.star",
    srcs = ["local.star"],
)

bpf_object(
    name = "undeclared",
    src = "with_deps.star",
)
`)
	ws.write("prog/with_deps.star", `load("//lib:regs.star", "pass_all")

section("xdp", "p", pass_all())
license("GPL")
`)
	ws.write("prog/local.star", "def drop():\n    return [insn.mov64_imm(r0, 1), exit()]\n")
	ws.write("prog/with_srcs.star", `load(":local.star", "drop")

section("xdp", "d", drop())
`)
	targets = append(targets, "//prog:with_deps", "//prog:with_srcs")
	stems = append(stems, "prog/with_deps", "prog/with_srcs")

	start := time.Now()
	out, err := ws.bazelCmd(append([]string{"build", "--spawn_strategy=linux-sandbox", "--color=no", "--curses=no", "--"}, targets...)...)
	t.Logf("bazel build of %d objects took %v", len(targets), time.Since(start).Round(time.Millisecond))
	if err != nil {
		if bytes.Contains(out, []byte("linux-sandbox")) && !bytes.Contains(out, []byte("BpfstarBuild")) {
			testenv.Missing(t, "Bazel's linux-sandbox does not work here (it needs root or unprivileged user namespaces):\n"+string(out))
		}
		t.Fatalf("bazel build: %v\n%s", err, out)
	}
	// Bazel sums up how its actions ran: all of ours in the sandbox.
	if want := fmt.Sprintf("%d linux-sandbox", len(targets)); !bytes.Contains(out, []byte(want)) {
		t.Errorf("bazel did not run the %d actions in linux-sandbox (want %q in its output):\n%s", len(targets), want, out)
	}

	// A library the rule does not declare is not in the sandbox: the
	// load() fails, although the file is right there in the source tree.
	out, err = ws.bazelCmd("build", "--spawn_strategy=linux-sandbox", "--color=no", "--curses=no", "//prog:undeclared")
	if err == nil {
		t.Errorf("bazel build //prog:undeclared succeeded; the sandbox let bpfstar read an undeclared library:\n%s", out)
	} else if want := "prog/with_deps.star:1:1: cannot load //lib:regs.star: lib/regs.star does not exist"; !bytes.Contains(out, []byte(want)) {
		t.Errorf("bazel build //prog:undeclared failed without %q:\n%s", want, out)
	}

	// Nor is a BTF file the rule does not declare as data.
	out, err = ws.bazelCmd("build", "--spawn_strategy=linux-sandbox", "--color=no", "--curses=no", "//examples:task_info_no_data")
	if err == nil {
		t.Errorf("bazel build //examples:task_info_no_data succeeded; the sandbox let bpfstar read an undeclared BTF file:\n%s", out)
	} else if want := "btf_types: examples/task_info.btf does not exist"; !bytes.Contains(out, []byte(want)) {
		t.Errorf("bazel build //examples:task_info_no_data failed without %q:\n%s", want, out)
	}

	for _, stem := range stems {
		got, err := os.ReadFile(filepath.Join(ws.dir, "bazel-bin", stem+".o"))
		if err != nil {
			t.Fatal(err)
		}
		// In the source tree, the program lies in the bpfstar workspace as
		// it does in the sandbox: bpfstar names it examples/NAME.star.
		dir, src := ws.dir, stem+".star"
		if want := directBuild(t, bpfstar, dir, src); !bytes.Equal(got, want) {
			t.Errorf("%s.o built by Bazel (%d bytes) differs from bpfstar build %s in %s (%d bytes)", stem, len(got), src, dir, len(want))
		}
	}
}

// directBuild runs bpfstar build src in dir and returns the object.
func directBuild(t *testing.T, bpfstar, dir, src string) []byte {
	t.Helper()
	out, err := os.CreateTemp("", "bpfstar-direct-*.o")
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command(bpfstar, "build", "-o", out.Name(), src)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpfstar build %s in %s: %v\n%s", src, dir, err, msg)
	}
	obj, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// write creates the file name (slash-separated) in the workspace.
func (ws *workspace) write(name, text string) {
	ws.t.Helper()
	p := filepath.Join(ws.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		ws.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		ws.t.Fatal(err)
	}
}

// bazelCmd runs bazel in the workspace and returns its combined output.
func (ws *workspace) bazelCmd(args ...string) ([]byte, error) {
	cmd := exec.Command(ws.bazel, append(append([]string{}, ws.startup...), args...)...)
	cmd.Dir = ws.dir
	return cmd.CombinedOutput()
}

// tempDir is t.TempDir for trees with read-only directories, as Bazel's
// output root has: it makes them writable again before removing them.
func tempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "bpfstar-bazel-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

// newWorkspace makes a Bazel workspace in a fresh directory, with its own
// Bazel server (shut down when the test ends) and output root, the bpfstar
// binary under test and the rules of defs.bzl at //bazel:defs.bzl.
func newWorkspace(t *testing.T) *workspace {
	t.Helper()
	bazel, err := exec.LookPath("bazel")
	if err != nil {
		testenv.Missing(t, bazelMissing)
	}
	tmp := tempDir(t)
	ws := &workspace{t: t, dir: filepath.Join(tmp, "ws"), bazel: bazel}
	ws.startup = []string{
		"--output_user_root=" + filepath.Join(tmp, "bazel-root"),
		"--nohome_rc",         // the user's ~/.bazelrc stays out of the test
		"--max_idle_secs=300", // the server ends even if the test is killed
	}
	t.Cleanup(func() { ws.bazelCmd("shutdown") })

	// The bpfstar binary under test, prebuilt, as the rule's tool. It sits
	// in a subpackage, aliased at the root as the rule's default //:bpfstar:
	// Bazel 4 execs a tool at the root of the execroot by its bare name,
	// which execvp then looks for in $PATH.
	bpfstar := filepath.Join(ws.dir, "tools", "bpfstar")
	goBuild := exec.Command("go", "build", "-o", bpfstar, "github.com/bpfstar/bpfstar/cmd/bpfstar")
	if out, err := goBuild.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	defs, err := os.ReadFile("defs.bzl")
	if err != nil {
		t.Fatal(err)
	}
	ws.write("WORKSPACE", `workspace(name = "bpfstar_bazel_test")`+"\n")
	ws.write("bpfstar.workspace", "")
	ws.write("BUILD", `
exports_files(["bpfstar.workspace"], visibility = ["//visibility:public"])

alias(
    name = "bpfstar",
    actual = "//tools:bpfstar",
    visibility = ["//visibility:public"],
)
`)
	ws.write("tools/BUILD", `exports_files(["bpfstar"], visibility = ["//visibility:public"])`+"\n")
	ws.write("bazel/BUILD", "")
	ws.write("bazel/defs.bzl", string(defs))
	return ws
}

// bpf_go_bindings writes, with a real Bazel, the Go bindings that `bpfstar
// gen go` writes in the source tree, byte for byte, and the object beside
// them; its output groups hold each. (Feeding them to a go_library needs
// rules_go, which this machine cannot fetch: README.md shows how.)
func TestGoBindingsBazel(t *testing.T) {
	ws := newWorkspace(t)
	bpfstar := filepath.Join(ws.dir, "tools", "bpfstar")
	src, err := os.ReadFile("../examples/flow_stats.star")
	if err != nil {
		t.Fatal(err)
	}
	ws.write("examples/flow_stats.star", string(src))
	ws.write("examples/ring.star", ringStar)
	ws.write("examples/BUILD", `load("//bazel:defs.bzl", "bpf_go_bindings", "bpf_object")

bpf_object(
    name = "ring",
    src = "ring.star",
)

bpf_go_bindings(
    name = "ring_go",
    object = ":ring",
    package = "ring",
    types = ["syn_event"],
)

bpf_object(
    name = "flow_stats",
    src = "flow_stats.star",
)

bpf_go_bindings(
    name = "flow_stats_go",
    object = ":flow_stats",
    package = "flowstats",
)

filegroup(
    name = "flow_stats_go_src",
    srcs = [":flow_stats_go"],
    output_group = "go",
)

filegroup(
    name = "flow_stats_go_obj",
    srcs = [":flow_stats_go"],
    output_group = "object",
)
`)
	out, err := ws.bazelCmd("build", "--spawn_strategy=linux-sandbox", "--color=no", "--curses=no", "//examples:flow_stats_go", "//examples:flow_stats_go_src", "//examples:flow_stats_go_obj", "//examples:ring_go")
	if err != nil {
		if bytes.Contains(out, []byte("linux-sandbox")) && !bytes.Contains(out, []byte("Bpfstar")) {
			testenv.Missing(t, "Bazel's linux-sandbox does not work here (it needs root or unprivileged user namespaces):\n"+string(out))
		}
		t.Fatalf("bazel build: %v\n%s", err, out)
	}
	// Each output group holds its file (bazel lists a lone target's files).
	for target, want := range map[string]string{"flow_stats_go_src": "flow_stats_go_bpfel.go", "flow_stats_go_obj": "flow_stats_go_bpfel.o"} {
		out, err := ws.bazelCmd("build", "--color=no", "--curses=no", "//examples:"+target)
		if err != nil {
			t.Fatalf("bazel build //examples:%s: %v\n%s", target, err, out)
		}
		files := regexp.MustCompile(`bazel-bin/examples/\S+`).FindAll(out, -1)
		if len(files) != 1 || string(files[0]) != "bazel-bin/examples/"+want {
			t.Errorf("//examples:%s holds %q, want %s:\n%s", target, files, want, out)
		}
	}

	// The same command in the source tree, on the object bpfstar builds
	// there (the same bytes as Bazel's: TestBpfObjectSandboxed).
	dir := t.TempDir()
	obj := directBuild(t, bpfstar, ws.dir, "examples/flow_stats.star")
	if err := os.WriteFile(filepath.Join(dir, "flow_stats.o"), obj, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bpfstar, "gen", "go", "--package", "flowstats", "-o", "flow_stats_go_bpfel.go", "flow_stats.o")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpfstar gen go: %v\n%s", err, msg)
	}
	for _, f := range []string{"flow_stats_go_bpfel.go", "flow_stats_go_bpfel.o"} {
		got, err := os.ReadFile(filepath.Join(ws.dir, "bazel-bin", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s written by Bazel differs from bpfstar gen go's:\n%s\nwant\n%s", f, got, want)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(ws.dir, "bazel-bin", "examples", "flow_stats_go_bpfel.go")); !bytes.Contains(got, []byte("func loadFlowStatsObjects(")) || !bytes.Contains(got, []byte("//go:embed flow_stats_go_bpfel.o\n")) {
		t.Errorf("the bindings lack loadFlowStatsObjects or the embed of flow_stats_go_bpfel.o:\n%s", got)
	}

	// types = [...] is gen go's --type.
	if err := os.WriteFile(filepath.Join(dir, "ring.o"), directBuild(t, bpfstar, ws.dir, "examples/ring.star"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(bpfstar, "gen", "go", "--package", "ring", "--type", "syn_event", "-o", "ring_go_bpfel.go", "ring.o")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpfstar gen go: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(filepath.Join(ws.dir, "bazel-bin", "examples", "ring_go_bpfel.go"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "ring_go_bpfel.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || !bytes.Contains(got, []byte("\ntype ringSynEvent struct {\n")) {
		t.Errorf("ring_go_bpfel.go written by Bazel:\n%s\nwant (bpfstar gen go --type syn_event), with ringSynEvent:\n%s", got, want)
	}
}

// ringStar sends a ring buffer event whose struct a global pointer puts
// in the object's BTF.
const ringStar = `syn_event = types.struct("syn_event", [("saddr", types.u32), ("sport", types.u16)])
events = bpf_map("events", "ringbuf", max_entries = 1 << 12)
bss("unused_syn_event", type = types.ptr(syn_event))
section("xdp", "ring", [insn.mov64_imm(r0, 2), exit()])
license("GPL")
`
