package workspace

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/internal/btftest"
)

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct{ in, cwd, want string }{
		{"//...", "", "//..."},
		{"//...", "a/b", "//..."},
		{"...", "", "//..."},
		{"...", "a/b", "//a/b/..."},
		{"sub/...", "a", "//a/sub/..."},
		{"//a/b/...", "x", "//a/b/..."},
		{"//a/b:c", "x", "//a/b:c"},
		{"//a/b", "", "//a/b:b"},
		{"//:c", "a", "//:c"},
		{":c", "a", "//a:c"},
		{":c", "", "//:c"},
		{"sub:c", "a", "//a/sub:c"},
		{"//a:c.d-e+f", "", "//a:c.d-e+f"},
	} {
		p, err := ParsePattern(tc.in, tc.cwd)
		if err != nil {
			t.Errorf("ParsePattern(%q, %q): %v", tc.in, tc.cwd, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("ParsePattern(%q, %q) = %s, want %s", tc.in, tc.cwd, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a", "//a/../b:c", "//a:", "//a:b/c", "@r//a:b", "///a:b", "//a//b:c", `//a\b:c`, "//./a:b", "//a\nb:c", "//a\x7fb:c"} {
		if p, err := ParsePattern(bad, ""); err == nil {
			t.Errorf("ParsePattern(%q) = %v, want an error", bad, p)
		}
	}
}

func TestPatternMatches(t *testing.T) {
	l := Label{"a/b", "c"}
	for _, tc := range []struct {
		p    Pattern
		want bool
	}{
		{Pattern{Recursive: true}, true},
		{Pattern{Pkg: "a", Recursive: true}, true},
		{Pattern{Pkg: "a/b", Recursive: true}, true},
		{Pattern{Pkg: "a/bc", Recursive: true}, false},
		{Pattern{Pkg: "a/b/c", Recursive: true}, false},
		{Pattern{Pkg: "a/b", Name: "c"}, true},
		{Pattern{Pkg: "a/b", Name: "d"}, false},
		{Pattern{Pkg: "a", Name: "c"}, false},
	} {
		if got := tc.p.Matches(l); got != tc.want {
			t.Errorf("%v.Matches(%v) = %v, want %v", tc.p, l, got, tc.want)
		}
	}
}

func TestResolveLoad(t *testing.T) {
	for _, tc := range []struct{ from, module, want string }{
		{"a/p.star", ":lib.star", "a/lib.star"},
		{"p.star", ":lib.star", "lib.star"},
		{"a/p.star", "//b:lib.star", "b/lib.star"},
		{"a/p.star", "//:lib.star", "lib.star"},
		{"a/p.star", "//b:sub/lib.star", "b/sub/lib.star"},
	} {
		got, err := resolveLoad(tc.from, tc.module)
		if err != nil || got != tc.want {
			t.Errorf("resolveLoad(%q, %q) = %q, %v; want %q", tc.from, tc.module, got, err, tc.want)
		}
	}
	for _, bad := range []string{"lib.star", "../lib.star", "/etc/lib.star", "//b/lib.star", "//b:", "//b:lib.bzl", "//b:BUILD.star", "//..:lib.star", ":../lib.star", "//b:./lib.star", "@x//b:lib.star"} {
		if got, err := resolveLoad("a/p.star", bad); err == nil {
			t.Errorf("resolveLoad(%q) = %q, want an error", bad, got)
		}
	}
}

func TestDepfile(t *testing.T) {
	got := string(Depfile("out dir/p.o", []string{"p.star", "lib/a b.star", "lib/$x#.star", `lib/c\ d.star`}))
	want := `out\ dir/p.o: \
  p.star \
  lib/a\ b.star \
  lib/$$x\#.star \
  lib/c\\\ d.star

lib/a\ b.star:

lib/$$x\#.star:

lib/c\\\ d.star:
`
	if got != want {
		t.Errorf("Depfile:\n%s\nwant\n%s", got, want)
	}
}

func TestExecutableID(t *testing.T) {
	id := ExecutableID()
	if !strings.HasPrefix(id, "go-build-id:") && !strings.HasPrefix(id, "sha256:") {
		t.Errorf("ExecutableID() = %q", id)
	}
	if ExecutableID() != id {
		t.Error("ExecutableID changes")
	}
}

// writeTree creates files (path: contents) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var testTree = map[string]string{
	MarkerFile:             "",
	"lib/regs.star":        "RET = r0\n",
	"lib/ret.star":         "load(\":regs.star\", \"RET\")\n\ndef ret(v):\n    return [insn.mov64_imm(RET, v), exit()]\n",
	"a/BUILD.star":         "bpf_object(name = \"p\", src = \"p.star\")\n",
	"a/p.star":             "load(\"//lib:ret.star\", \"ret\")\n\nsection(\"xdp\", \"p\", ret(2))\nlicense(\"GPL\")\n",
	"b/BUILD.star":         "bpf_object(name = \"q\", src = \"q.star\")\n",
	"b/q.star":             "section(\"xdp\", \"q\", [insn.mov64_imm(r0, 1), exit()])\n",
	"bpfstar-out/x.txt":    "the output tree is never searched for packages",
	".hidden/BUILD.star":   "this is not a package",
	"nested/" + MarkerFile: "",
	"nested/BUILD.star":    "another workspace",
}

func buildAll(t *testing.T, root string, opts Options, patterns ...string) []*Result {
	t.Helper()
	w := &Workspace{Root: root}
	if opts.ToolID == "" {
		opts.ToolID = "test"
	}
	targets, _, err := w.Targets(patterns, "", opts)
	if err != nil {
		t.Fatal(err)
	}
	results := w.Build(targets, opts)
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Target.Label, r.Err)
		}
	}
	return results
}

func cached(results []*Result) []string {
	var labels []string
	for _, r := range results {
		if r.Cached {
			labels = append(labels, r.Target.Label.String())
		}
	}
	return labels
}

// A rebuild reads the cache; an edit to a library rebuilds its dependents
// only; up-to-date outputs are not rewritten.
func TestIncremental(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, testTree)
	rs := buildAll(t, root, Options{}, "//...")
	if len(rs) != 2 || rs[0].Target.Label.String() != "//a:p" || rs[1].Target.Label.String() != "//b:q" {
		t.Fatalf("targets of //...: %v", rs)
	}
	if got := cached(rs); len(got) != 0 {
		t.Errorf("first build: cached %v", got)
	}
	wantInputs := []string{"a/p.star", "lib/ret.star", "lib/regs.star"}
	var inputs []string
	for _, in := range rs[0].Inputs {
		inputs = append(inputs, in.Path)
	}
	if !slices.Equal(inputs, wantInputs) {
		t.Errorf("inputs of //a:p = %v, want %v", inputs, wantInputs)
	}

	out := filepath.Join(root, "bpfstar-out/bin/a/p.o")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(out, old, old); err != nil {
		t.Fatal(err)
	}
	rs = buildAll(t, root, Options{}, "//...")
	if got := cached(rs); len(got) != 2 {
		t.Errorf("no-op rebuild: cached %v, want both", got)
	}
	if fi, err := os.Stat(out); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("an up-to-date output was rewritten")
	}

	// A different tool misses the cache, and makes the same bytes.
	rs2 := buildAll(t, root, Options{ToolID: "other"}, "//...")
	if got := cached(rs2); len(got) != 0 {
		t.Errorf("another tool's build: cached %v", got)
	}
	if rs2[0].SHA256 != rs[0].SHA256 {
		t.Errorf("another tool's build made other bytes")
	}

	writeTree(t, root, map[string]string{"lib/regs.star": "RET = r1\n"})
	rs = buildAll(t, root, Options{}, "//...")
	if got := cached(rs); !slices.Equal(got, []string{"//b:q"}) {
		t.Errorf("after editing lib/regs.star: cached %v, want only //b:q", got)
	}
	if fi, err := os.Stat(out); err != nil || fi.ModTime().Equal(old) {
		t.Errorf("a changed output was not rewritten")
	}

	// A corrupt cache is a miss, not an error.
	filepath.WalkDir(filepath.Join(root, OutDir, "cache"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.WriteFile(p, []byte("garbage"), 0o644)
		}
		return nil
	})
	os.Remove(out)
	rs = buildAll(t, root, Options{}, "//...")
	if got := cached(rs); len(got) != 0 {
		t.Errorf("with a corrupt cache: cached %v", got)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
}

// Outputs do not depend on -j, on the place of the workspace, or on the
// cache; line info names workspace-relative files.
func TestOutputsIndependent(t *testing.T) {
	root1 := filepath.Join(t.TempDir(), "one")
	root2 := filepath.Join(t.TempDir(), "with space", "two")
	writeTree(t, root1, testTree)
	writeTree(t, root2, testTree)
	a := buildAll(t, root1, Options{Jobs: 1}, "//...")
	b := buildAll(t, root2, Options{Jobs: 8, NoCache: true}, "//...")
	for i := range a {
		x, _ := os.ReadFile(filepath.Join(root1, a[i].Output))
		y, _ := os.ReadFile(filepath.Join(root2, b[i].Output))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between the builds", a[i].Target.Label)
		}
		if bytes.Contains(x, []byte(root1)) {
			t.Errorf("%s contains the workspace's path", a[i].Target.Label)
		}
	}

	spec, err := ebpf.LoadCollectionSpec(filepath.Join(root1, a[0].Output))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, ins := range spec.Programs["p"].Instructions {
		if l, ok := ins.Source().(*btf.Line); ok {
			files = append(files, l.FileName())
		}
	}
	if want := []string{"lib/ret.star", "lib/ret.star"}; !slices.Equal(files, want) {
		t.Errorf("line info names files %q, want %q", files, want)
	}
	w := &Workspace{Root: root1}
	m1 := filepath.Join(root1, ManifestFile)
	if err := w.WriteManifest(a); err != nil {
		t.Fatal(err)
	}
	if err := (&Workspace{Root: root2}).WriteManifest(b); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(m1)
	y, _ := os.ReadFile(filepath.Join(root2, ManifestFile))
	if !bytes.Equal(x, y) {
		t.Errorf("manifests differ:\n%s\n%s", x, y)
	}
}

// Packages are found below a directory, skipping hidden directories, the
// output tree and nested workspaces.
func TestPackagesBelow(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, testTree)
	w := &Workspace{Root: root}
	got, err := w.packagesBelow("")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("packages = %q, want %q", got, want)
	}
}

// The terminal shows one status line, redrawn in place and cleared at the
// end; a pipe gets a plain line per evaluated target.
func TestProgress(t *testing.T) {
	results := []*Result{
		{Target: &Target{Label: Label{"a", "p"}}},
		{Target: &Target{Label: Label{"b", "q"}}, Cached: true},
	}
	run := func(terminal bool) string {
		var b bytes.Buffer
		p := newProgress(&b, terminal, 2)
		p.start(results[0].Target.Label)
		p.start(results[1].Target.Label)
		p.finish(results[1], nil)
		p.finish(results[0], []byte("printed\n"))
		p.end()
		return b.String()
	}
	if got, want := run(false), "printed\n[2/2] //a:p\n"; got != want {
		t.Errorf("plain progress = %q, want %q", got, want)
	}
	want := "\r\x1b[K[0/2] //a:p" + "\r\x1b[K[0/2] //a:p //b:q" + "\r\x1b[K[1/2] //a:p" +
		"\r\x1b[Kprinted\n" + "\r\x1b[K[2/2] " + "\r\x1b[K"
	if got := run(true); got != want {
		t.Errorf("terminal progress = %q, want %q", got, want)
	}
}

// A tampered action entry (an input path outside the workspace, a digest
// that is not one) is a miss: the target is rebuilt, and nothing outside
// the workspace is read.
func TestTamperedCache(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, testTree)
	first := buildAll(t, root, Options{}, "//...")
	var actions []string
	filepath.WalkDir(filepath.Join(root, OutDir, "cache"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/actions/") {
			actions = append(actions, p)
		}
		return nil
	})
	if len(actions) == 0 {
		t.Fatal("no action entries in the cache")
	}
	for _, tamper := range []func(a *action){
		func(a *action) { a.Inputs = append(a.Inputs, Input{Path: "../../../../etc/passwd", SHA256: a.Output}) },
		func(a *action) { a.Inputs = append(a.Inputs, Input{Path: "/etc/passwd", SHA256: a.Output}) },
		func(a *action) { a.Output = "../x" },
		func(a *action) { a.Inputs[0].SHA256 = strings.ToUpper(a.Inputs[0].SHA256) },
	} {
		for _, p := range actions {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var a action
			if err := json.Unmarshal(data, &a); err != nil {
				t.Fatal(err)
			}
			tamper(&a)
			if !a.valid() {
				data, _ = json.Marshal(a)
				os.WriteFile(p, data, 0o644)
				continue
			}
			t.Errorf("tampered entry %+v is valid", a)
		}
		rs := buildAll(t, root, Options{}, "//...")
		if got := cached(rs); len(got) != 0 {
			t.Errorf("with tampered actions: cached %v", got)
		}
		for i := range rs {
			if rs[i].SHA256 != first[i].SHA256 {
				t.Errorf("%s: other bytes after a tampered cache", rs[i].Target.Label)
			}
		}
	}
}

// A load() of a file whose name holds a newline (which no Make rule can
// name) is an error, not a malformed dependency file.
func TestLoadControlCharacter(t *testing.T) {
	if _, err := resolveLoad("a/p.star", "//lib:x\ny.star"); err == nil || !strings.Contains(err.Error(), "control character") {
		t.Errorf("resolveLoad with a newline: %v", err)
	}
}

// A BTF file a program reads with btf_types() is an input as a loaded file
// is: in the target's inputs (the manifest), and an edit to it rebuilds
// the target, whose object then has the new offset.
func TestBTFInput(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		MarkerFile:     "",
		"k/BUILD.star": "bpf_object(name = \"p\", src = \"p.star\")\n",
		"k/p.star": `k = btf_types("//btf:kernel.btf")
section("socket", "p", [core.field_offset(r0, k.type("task_struct"), "tgid"), exit()])
`,
		"btf/kernel.btf": string(btftest.Kernel(btftest.Options{})),
	})
	rs := buildAll(t, root, Options{}, "//k:p")
	var inputs []string
	for _, in := range rs[0].Inputs {
		inputs = append(inputs, in.Path)
	}
	if want := []string{"k/p.star", "btf/kernel.btf"}; !slices.Equal(inputs, want) {
		t.Errorf("inputs %v, want %v", inputs, want)
	}
	first := rs[0].SHA256
	if rs = buildAll(t, root, Options{}, "//k:p"); !rs[0].Cached {
		t.Errorf("rebuild with nothing changed was not cached")
	}
	writeTree(t, root, map[string]string{"btf/kernel.btf": string(btftest.Kernel(btftest.Options{Layout: 1}))})
	rs = buildAll(t, root, Options{}, "//k:p")
	if rs[0].Cached || rs[0].SHA256 == first {
		t.Errorf("after editing the BTF file: cached %v, same object %v", rs[0].Cached, rs[0].SHA256 == first)
	}
}
