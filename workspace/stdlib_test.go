package workspace

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/stdlib"
)

// A program that loads the standard library builds as a target and as a
// single file, in and out of a workspace, to the same bytes; the library's
// files are no inputs (manifest, cache entry, depfile): they are part of
// the binary, whose library digest is in every cache key instead.
func TestStdlibLoads(t *testing.T) {
	prog := "load(\"@std//uapi.star\", \"XDP_PASS\")\nload(\"@std//bpf.star\", \"ret\")\n\nsection(\"xdp\", \"p\", ret(XDP_PASS))\n"
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		MarkerFile:     "",
		"a/BUILD.star": "bpf_object(name = \"p\", src = \"p.star\")\n",
		"a/p.star":     prog,
	})
	rs := buildAll(t, root, Options{}, "//...")
	if len(rs[0].Inputs) != 1 || rs[0].Inputs[0].Path != "a/p.star" {
		t.Errorf("inputs = %v, want only a/p.star", rs[0].Inputs)
	}
	if rs = buildAll(t, root, Options{}, "//..."); !rs[0].Cached {
		t.Errorf("a rebuild missed the cache")
	}
	if err := (&Workspace{Root: root}).WriteManifest(rs); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(root, OutDir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(manifest), "@std") {
		t.Errorf("the manifest names the library:\n%s", manifest)
	}
	target, err := os.ReadFile(filepath.Join(root, "bpfstar-out/bin/a/p.o"))
	if err != nil {
		t.Fatal(err)
	}

	obj, deps, err := BuildFile(filepath.Join(root, "a/p.star"), starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 {
		t.Errorf("depfile entries %q, want the program alone", deps)
	}
	if string(obj) != string(target) {
		t.Errorf("the single-file build differs from the target's")
	}

	// Outside any workspace: the same program, under the same debug name.
	out := t.TempDir()
	writeTree(t, out, map[string]string{"p.star": prog})
	obj, deps, err = BuildFile(filepath.Join(out, "p.star"), starlib.Options{DebugName: "a/p.star"})
	if err != nil {
		t.Fatal(err)
	}
	if len(deps) != 1 || string(obj) != string(target) {
		t.Errorf("outside a workspace: deps %q, same bytes %v", deps, string(obj) == string(target))
	}
}

// The digest of the library is part of every cache key: a bpfstar with
// another library never takes an entry of this one.
func TestCacheKeyHasStdlib(t *testing.T) {
	c := newCache(&Workspace{Root: t.TempDir()}, "tool", false)
	if c.std != stdlib.Digest() || len(c.std) != 64 {
		t.Fatalf("cache std = %q, want stdlib.Digest() %q", c.std, stdlib.Digest())
	}
	other := *c
	other.std = strings.Repeat("0", 64)
	if c.key("action", "p.star") == other.key("action", "p.star") {
		t.Error("the key does not change with the library")
	}
	if !slices.Contains(stdlib.Names(), "bpf.star") {
		t.Errorf("library files %q", stdlib.Names())
	}
}
