package workspace

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bpfstar/bpfstar/gobind"
)

// bpf_object(go_package = "P") writes the object's Go bindings, as 'bpfstar
// gen go' writes them, into bpfstar-out/go/<pkg>/<name>_bpfel.go with the
// object beside them; a cached build writes them again if they are gone,
// and leaves them alone (modification time) if they are there; the
// manifest names them.
func TestGoBindings(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		MarkerFile:       "",
		"net/BUILD.star": "bpf_object(name = \"xdp_pass\", src = \"p.star\", go_package = \"net\")\n\nbpf_object(name = \"plain\", src = \"p.star\")\n",
		"net/p.star":     "section(\"xdp\", \"xdp_pass\", [insn.mov64_imm(r0, 2), exit()])\nlicense(\"GPL\")\n",
	})
	rs := buildAll(t, root, Options{}, "//...")
	obj, err := os.ReadFile(filepath.Join(root, "bpfstar-out/bin/net/xdp_pass.o"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := gobind.Generate(obj, gobind.Options{Package: "net", Stem: "xdpPass", ObjectFile: "xdp_pass_bpfel.o"})
	if err != nil {
		t.Fatal(err)
	}
	goFile := filepath.Join(root, "bpfstar-out/go/net/xdp_pass_bpfel.go")
	check := func(when string) {
		t.Helper()
		if got, err := os.ReadFile(goFile); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: bindings %v:\n%s\nwant\n%s", when, err, got, want)
		}
		if got, err := os.ReadFile(filepath.Join(root, "bpfstar-out/go/net/xdp_pass_bpfel.o")); err != nil || !bytes.Equal(got, obj) {
			t.Errorf("%s: the object beside the bindings: %v", when, err)
		}
	}
	check("first build")
	// bpfstar-out/go is a module of its own: a Go module around the
	// workspace does not take the bindings in.
	writeTree(t, root, map[string]string{"go.mod": "module example.com/ws\n", "main.go": "package main\n\nfunc main() {}\n"})
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "./...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "example.com/ws\n" {
		t.Errorf("go list ./... in the workspace: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "bpfstar-out/go/net/plain_bpfel.go")); err == nil {
		t.Error("bindings written for a target without go_package")
	}
	if rs[1].Target.Label.Name != "xdp_pass" || rs[1].GoOutput != "bpfstar-out/go/net/xdp_pass_bpfel.go" || rs[0].GoOutput != "" {
		t.Errorf("results: %+v %+v", rs[0], rs[1])
	}
	w := &Workspace{Root: root}
	if err := w.WriteManifest(rs); err != nil {
		t.Fatal(err)
	}
	var m Manifest
	data, _ := os.ReadFile(filepath.Join(root, ManifestFile))
	if err := json.Unmarshal(data, &m); err != nil || len(m.Targets) != 2 || m.Targets[1].Go != "bpfstar-out/go/net/xdp_pass_bpfel.go" || m.Targets[1].GoSHA256 != digest(want) || m.Targets[0].Go != "" {
		t.Errorf("manifest: %v\n%s", err, data)
	}

	old := time.Now().Add(-time.Hour)
	os.Chtimes(goFile, old, old)
	rs = buildAll(t, root, Options{}, "//...")
	if !rs[1].Cached {
		t.Error("no-op rebuild was not cached")
	}
	if fi, err := os.Stat(goFile); err != nil || !fi.ModTime().Equal(old) {
		t.Error("up-to-date bindings were rewritten")
	}
	os.RemoveAll(filepath.Join(root, "bpfstar-out/go"))
	rs = buildAll(t, root, Options{}, "//...")
	if !rs[1].Cached {
		t.Error("rebuild was not cached")
	}
	check("cached build after removing bpfstar-out/go")
}

// go_types = [...] names types for the bindings to declare, as 'bpfstar
// gen go --type' does: a ring buffer's event, which only a global pointer
// to it puts in the object's BTF.
func TestGoTypes(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		MarkerFile:       "",
		"net/BUILD.star": "bpf_object(name = \"ring\", src = \"p.star\", go_package = \"net\", go_types = [\"syn_event\"])\n",
		"net/p.star": "ev = types.struct(\"syn_event\", [(\"saddr\", types.u32), (\"sport\", types.u16)])\n" +
			"bss(\"unused_syn_event\", type = types.ptr(ev))\n" +
			"section(\"xdp\", \"ring\", [insn.mov64_imm(r0, 2), exit()])\nlicense(\"GPL\")\n",
	})
	buildAll(t, root, Options{}, "//...")
	obj, err := os.ReadFile(filepath.Join(root, "bpfstar-out/bin/net/ring.o"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := gobind.Generate(obj, gobind.Options{Package: "net", Stem: "ring", ObjectFile: "ring_bpfel.o", Types: []string{"syn_event"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "bpfstar-out/go/net/ring_bpfel.go"))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("bindings %v:\n%s\nwant\n%s", err, got, want)
	}
	if !bytes.Contains(got, []byte("\ntype ringSynEvent struct {\n")) {
		t.Errorf("bindings without ringSynEvent:\n%s", got)
	}
}

// go_package is checked where it is declared; bindings that cannot be
// made fail the target, at its bpf_object.
func TestGoBindingsErrors(t *testing.T) {
	for _, c := range []struct{ build, prog, want string }{
		{`bpf_object(name = "p", src = "p.star", go_package = "my-net")`, "",
			`net/BUILD.star:1:11: bpf_object "p": go_package "my-net" is not a Go package name (an identifier)`},
		{`bpf_object(name = "p.v2", src = "p.star", go_package = "net")`, "",
			`net/BUILD.star:1:11: bpf_object "p.v2": with go_package, the name must be letters, digits and _, starting with a letter`},
		{`bpf_test(name = "p", src = "p.star", go_package = "net")`, "",
			`net/BUILD.star:1:9: bpf_test: unexpected keyword argument "go_package"`},
		{`bpf_object(name = "p", src = "p.star", go_package = "net")`, "bpf_map(\"_\", \"array\", 4, 4, 1)\n",
			`net/BUILD.star:1:11: Go bindings (go_package "net"): map "_" has no Go name`},
		{`bpf_object(name = "p", src = "p.star", go_types = ["ev"])`, "",
			`net/BUILD.star:1:11: bpf_object "p": go_types without go_package: the types are for the Go bindings, which go_package asks for`},
		{`bpf_object(name = "p", src = "p.star", go_package = "net", go_types = "ev")`, "",
			`net/BUILD.star:1:11: bpf_object "p": go_types: want a list of type names (struct syn_event: "syn_event"), not string`},
		{`bpf_object(name = "p", src = "p.star", go_package = "net", go_types = ["ev", 1])`, "",
			`net/BUILD.star:1:11: bpf_object "p": go_types[1]: want a type's name, a string, not int`},
		{`bpf_object(name = "p", src = "p.star", go_package = "net", go_types = ["struct ev"])`, "",
			`net/BUILD.star:1:11: bpf_object "p": go_types: "struct ev": a type's name is letters, digits and _ (struct syn_event is "syn_event")`},
		{`bpf_object(name = "p", src = "p.star", go_package = "net", go_types = ["ev", "ev"])`, "",
			`net/BUILD.star:1:11: bpf_object "p": go_types: "ev" is named twice`},
		{`bpf_test(name = "p", src = "p.star", go_types = ["ev"])`, "",
			`net/BUILD.star:1:9: bpf_test: unexpected keyword argument "go_types"`},
		{`bpf_object(name = "p", src = "p.star", go_package = "net", go_types = ["ev"])`, "",
			`net/BUILD.star:1:11: Go bindings (go_package "net"): the object's BTF has no type "ev"`},
	} {
		root := t.TempDir()
		writeTree(t, root, map[string]string{
			MarkerFile:       "",
			"net/BUILD.star": c.build + "\n",
			"net/p.star":     c.prog + "section(\"xdp\", \"p\", [insn.mov64_imm(r0, 2), exit()])\n",
		})
		w := &Workspace{Root: root}
		opts := Options{ToolID: "test"}
		targets, _, err := w.Targets([]string{"//..."}, "", opts)
		if err == nil {
			rs := w.Build(targets, opts)
			err = rs[0].Err
		}
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want %s", c.build, err, c.want)
		}
	}
}
