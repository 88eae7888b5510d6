package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A build reads only regular files whose real path is inside the
// workspace: a loaded library that links outside, a program file that is
// a named pipe, a BUILD.star that links to /dev/zero are errors naming the
// file, never a read outside, a hang or an exhausted memory.
func TestReadsConfined(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.star")
	os.WriteFile(outside, []byte("RET = r0\n"), 0o644)
	for _, tc := range []struct {
		name    string
		pattern string
		setup   func(root string) error
		want    string
	}{
		{"load outside", "//...", func(root string) error {
			os.Remove(filepath.Join(root, "lib/regs.star"))
			return os.Symlink(outside, filepath.Join(root, "lib/regs.star"))
		}, "cannot load :regs.star: cannot read lib/regs.star: it is a link to " + outside + ", outside the workspace"},
		{"src is a fifo", "//...", func(root string) error {
			os.Remove(filepath.Join(root, "b/q.star"))
			return syscall.Mkfifo(filepath.Join(root, "b/q.star"), 0o644)
		}, `bpf_object "q": src "q.star": b/q.star is not a file`},
		{"BUILD.star is /dev/zero", "//b:all", func(root string) error {
			os.Remove(filepath.Join(root, "b/BUILD.star"))
			return os.Symlink("/dev/zero", filepath.Join(root, "b/BUILD.star"))
		}, "cannot read b/BUILD.star: it is a link to /dev/zero, outside the workspace"},
		{"link inside is fine", "//...", func(root string) error {
			os.Remove(filepath.Join(root, "lib/regs.star"))
			os.WriteFile(filepath.Join(root, "lib/real.star"), []byte("RET = r0\n"), 0o644)
			return os.Symlink("real.star", filepath.Join(root, "lib/regs.star"))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, testTree)
			if err := tc.setup(root); err != nil {
				t.Fatal(err)
			}
			w := &Workspace{Root: root}
			done := make(chan string, 1)
			go func() {
				opts := Options{ToolID: "test"}
				targets, _, err := w.Targets([]string{tc.pattern}, "", opts)
				if err != nil {
					done <- err.Error()
					return
				}
				var errs []string
				for _, r := range w.Build(targets, opts) {
					if r.Err != nil {
						errs = append(errs, r.Err.Error())
					}
				}
				done <- strings.Join(errs, "\n")
			}()
			select {
			case got := <-done:
				if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
					t.Errorf("got %q, want it to contain %q", got, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the build hangs")
			}
		})
	}
}

// A bpfstar-out that is a symbolic link (a repository may commit one), or
// a directory in it that is one, never receives a write: the build fails
// naming it, and the place it points to stays empty.
func TestWritesConfined(t *testing.T) {
	for _, link := range []string{"bpfstar-out", "bpfstar-out/bin/b"} {
		t.Run(link, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, testTree)
			elsewhere := t.TempDir()
			os.RemoveAll(filepath.Join(root, link))
			os.MkdirAll(filepath.Dir(filepath.Join(root, link)), 0o755)
			if err := os.Symlink(elsewhere, filepath.Join(root, link)); err != nil {
				t.Fatal(err)
			}
			w := &Workspace{Root: root}
			opts := Options{ToolID: "test"}
			targets, _, err := w.Targets([]string{"//b:q"}, "", opts)
			if err != nil {
				t.Fatal(err)
			}
			r := w.Build(targets, opts)[0]
			if r.Err == nil || !strings.Contains(r.Err.Error(), link+" is a symbolic link") {
				t.Errorf("build: %v, want an error naming %s", r.Err, link)
			}
			if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
				t.Errorf("written outside the workspace: %v", ents)
			}
		})
	}
}

// BUILD files keep to the limits of program files: a value too large to
// make, a runaway computation and a chain of operators too deep to
// compile are errors at their FILE:LINE:COL, not an exhausted memory or a
// fatal stack overflow.
func TestBuildFileLimits(t *testing.T) {
	deep := "x = " + strings.Repeat("1+", 150_000) + "1\n"
	for _, tc := range []struct{ name, src, want string }{
		{"huge list", "x = list(range(1 << 40))\n", "BUILD.star:1:9: list: argument of 1099511627776 elements is too large"},
		{"huge product", "x = [0] * (1 << 30)\n", "BUILD.star:1:9: * would make a list of 1073741824 elements"},
		{"deep", deep, "BUILD.star:1:5: expressions and statements nested more than 100000 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := evalBuildFile("BUILD.star", []byte(tc.src), nil)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("got %v, want %s...", err, tc.want)
			}
		})
	}
}

// A sandbox of links to the source tree, as Bazel makes one: the marker
// is a link too, and the files its tree holds may be read through links;
// a file elsewhere may not.
func TestReadsSandboxLinks(t *testing.T) {
	real := t.TempDir()
	writeTree(t, real, testTree)
	sandbox := t.TempDir()
	for _, f := range []string{MarkerFile, "lib/regs.star", "lib/ret.star", "a/BUILD.star", "a/p.star"} {
		os.MkdirAll(filepath.Dir(filepath.Join(sandbox, f)), 0o755)
		if err := os.Symlink(filepath.Join(real, f), filepath.Join(sandbox, f)); err != nil {
			t.Fatal(err)
		}
	}
	rs := buildAll(t, sandbox, Options{}, "//a:p")
	if len(rs) != 1 || rs[0].Err != nil {
		t.Fatalf("build in the sandbox: %v", rs)
	}
	elsewhere := filepath.Join(t.TempDir(), "regs.star")
	os.WriteFile(elsewhere, []byte("RET = r0\n"), 0o644)
	os.Remove(filepath.Join(sandbox, "lib/regs.star"))
	os.Symlink(elsewhere, filepath.Join(sandbox, "lib/regs.star"))
	w := &Workspace{Root: sandbox}
	targets, _, err := w.Targets([]string{"//a:p"}, "", Options{ToolID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if r := w.Build(targets, Options{ToolID: "test", NoCache: true})[0]; r.Err == nil || !strings.Contains(r.Err.Error(), "outside the workspace") {
		t.Errorf("a link out of both trees: %v", r.Err)
	}
}

// A target name too long to name its output file is an error at its
// bpf_object call, not a raw "file name too long" from the file system.
func TestLongTargetName(t *testing.T) {
	src := "bpf_object(name = \"" + strings.Repeat("n", 201) + "\", src = \"p.star\")\n"
	_, err := evalBuildFile("BUILD.star", []byte(src), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "BUILD.star:1:11: bpf_object: name of 201 bytes: at most 200") {
		t.Errorf("got %v", err)
	}
	src = "bpf_object(name = \"" + strings.Repeat("n", 200) + "\", src = \"p.star\")\n"
	if _, err := evalBuildFile("BUILD.star", []byte(src), nil); err != nil {
		t.Errorf("200 bytes: %v", err)
	}
}

// A tampered BUILD entry of the cache (a target name or program path that
// bpf_object would refuse) is a miss: the BUILD file is evaluated again,
// and nothing is written outside the output tree.
func TestTamperedBuildCache(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, testTree)
	buildAll(t, root, Options{}, "//b:q")
	var entries []string
	filepath.WalkDir(filepath.Join(root, OutDir, "cache"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/build/") {
			entries = append(entries, p)
		}
		return nil
	})
	if len(entries) == 0 {
		t.Fatal("no BUILD entries in the cache")
	}
	for _, p := range entries {
		os.WriteFile(p, []byte(`[{"name":"../../../../escaped","src":"q.star","line":1,"col":11}]`), 0o644)
	}
	rs := buildAll(t, root, Options{}, "//b:q")
	if len(rs) != 1 || rs[0].Target.Label.Name != "q" {
		t.Fatalf("targets after tampering: %v", rs)
	}
	if _, err := os.Stat(filepath.Join(root, "escaped.o")); err == nil {
		t.Error("a tampered cache wrote outside the output tree")
	}
	if validDecls([]declared{{Name: "q", Src: "q.star", Line: 1, Col: 11}}) != true {
		t.Error("a valid entry is refused")
	}
	if validDecls([]declared{{Name: "q", Src: "q.star", Line: 1, Col: 11, GoPackage: "p", GoTypes: []string{"ev"}}}) != true {
		t.Error("a valid entry with go_types is refused")
	}
	for _, d := range []declared{
		{Name: "q", Src: "q.star", Line: 1, Col: 11, GoTypes: []string{"ev"}},                  // no go_package
		{Name: "q", Src: "q.star", Line: 1, Col: 11, GoPackage: "p", GoTypes: []string{"e v"}}, // not a name
	} {
		if validDecls([]declared{d}) {
			t.Errorf("a tampered entry is taken: %+v", d)
		}
	}
}

// Targets whose outputs would collide (//a:x's object is the directory of
// package //a/x.o's objects) are refused, naming both, before anything is
// built.
func TestOutputCollision(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		MarkerFile:         "",
		"a/BUILD.star":     "bpf_object(name = \"x\", src = \"x.star\")\n",
		"a/x.star":         "section(\"xdp\", \"p\", [exit()])\n",
		"a/x.o/BUILD.star": "bpf_object(name = \"y\", src = \"y.star\")\n",
		"a/x.o/y.star":     "section(\"xdp\", \"q\", [exit()])\n",
	})
	w := &Workspace{Root: root}
	_, _, err := w.Targets([]string{"//..."}, "", Options{ToolID: "test"})
	if err == nil || err.Error() != "the output of //a:x, bpfstar-out/bin/a/x.o, is the directory of the output of //a/x.o:y: rename the target or the package" {
		t.Errorf("got %v", err)
	}
}
