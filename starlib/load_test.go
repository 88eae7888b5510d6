package starlib

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/asm"
)

// mapLoader resolves load("NAME") against an in-memory file set, relative
// to the loading file's directory, and counts the resolutions.
func mapLoader(files map[string]string, calls *int) func(from, module string) (string, []byte, error) {
	return func(from, module string) (string, []byte, error) {
		*calls++
		name := path.Join(path.Dir(from), module)
		src, ok := files[name]
		if !ok {
			return "", nil, fmt.Errorf("%s: no such file", name)
		}
		return name, []byte(src), nil
	}
}

func TestLoad(t *testing.T) {
	files := map[string]string{
		"lib/regs.star": "print(\"regs evaluated\")\nRET = r0\n",
		"lib/macros.star": `load("regs.star", "RET")
def ret(v):
    return [insn.mov64_imm(RET, v), exit()]
shared = [1]
`,
	}
	main := `load("../lib/macros.star", "ret", "shared")
load("../lib/regs.star", "RET")
section("xdp", "p", ret(2))
`
	var out bytes.Buffer
	calls := 0
	u, err := Exec("p.star", []byte(main), Options{DebugName: "pkg/p.star", Print: &out, Load: mapLoader(files, &calls)})
	if err != nil {
		t.Fatal(err)
	}
	// Each file is evaluated once, however often it is loaded.
	if got := strings.Count(out.String(), "regs evaluated"); got != 1 {
		t.Errorf("lib/regs.star evaluated %d times, want 1", got)
	}
	if want := []string{"lib/macros.star", "lib/regs.star"}; !slices.Equal(u.Loads, want) {
		t.Errorf("Loads = %q, want %q", u.Loads, want)
	}
	for name, want := range map[string]string{"p.star": "pkg/p.star", "lib/macros.star": "lib/macros.star", "lib/regs.star": "lib/regs.star"} {
		if got := u.Sources[name].Name; got != want {
			t.Errorf("Sources[%q].Name = %q, want %q", name, got, want)
		}
	}
	// Instructions made in a library carry the library's position.
	if got, want := u.Programs[0].Insns[0].Pos(), (asm.Pos{File: "lib/macros.star", Line: 3, Col: 27}); got != want {
		t.Errorf("position of an instruction made in a library = %v, want %v", got, want)
	}
	if got, want := u.Programs[0].Pos, (asm.Pos{File: "p.star", Line: 3, Col: 8}); got != want {
		t.Errorf("program position = %v, want %v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	files := map[string]string{
		"a.star":       "load(\"b.star\", \"x\")\nx = 1\n",
		"b.star":       "load(\"a.star\", \"x\")\n",
		"self.star":    "load(\"p.star\", \"x\")\n",
		"p.star":       "x = 1\n",
		"bad.star":     "\n\nx = insn.mov64_imm(r1, 1 << 40)\n",
		"nested.star":  "\nload(\"missing.star\", \"x\")\n",
		"list.star":    "l = [1]\n",
		"runtime.star": "def f():\n    return 1 + \"a\"\n",
	}
	for _, tc := range []struct{ name, src, want string }{
		{"missing", `load("missing.star", "x")`, "p.star:1:1: cannot load missing.star: missing.star: no such file"},
		{"cycle", "\nload(\"a.star\", \"x\")", "b.star:1:1: cannot load a.star: load cycle: a.star -> b.star -> a.star\n\tcalled from a.star:1:1 in <toplevel>\n\tcalled from p.star:2:1 in <toplevel>"},
		{"cycle through the file built", `load("self.star", "x")`, "self.star:1:1: cannot load p.star: load cycle: p.star -> self.star -> p.star\n\tcalled from p.star:1:1 in <toplevel>"},
		{"error in library", `load("bad.star", "x")`, "bad.star:3:19: insn.mov64_imm: immediate 1099511627776 does not fit in a signed 32-bit field (use insn.ld_imm64 for 64-bit constants)\n\tcalled from p.star:1:1 in <toplevel>"},
		{"nested missing", `load("nested.star", "x")`, "nested.star:2:1: cannot load missing.star: missing.star: no such file\n\tcalled from p.star:1:1 in <toplevel>"},
		{"missing name", `load("list.star", "m")`, "p.star:1:1: load: name m not found in module list.star"},
		{"frozen", "load(\"list.star\", \"l\")\nl.append(2)", "p.star:2:9: append: cannot append to frozen list"},
		{"runtime error in library function", "load(\"runtime.star\", \"f\")\nf()", "runtime.star:2:14: unknown binary op: int + string\n\tcalled from p.star:2:2 in <toplevel>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			_, err := Exec("p.star", []byte(tc.src), Options{DebugName: "p.star", Load: mapLoader(files, &calls)})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("got error\n%s\nwant\n%s", err, tc.want)
			}
			var ae *asm.Error
			if !errors.As(err, &ae) || ae.Pos.Line == 0 {
				t.Errorf("error %#v carries no position", err)
			}
		})
	}
}

// Without a Load function, load() fails with a clear message.
func TestLoadUnavailable(t *testing.T) {
	_, err := Exec("p.star", []byte(`load("x.star", "y")`), Options{})
	if want := "p.star:1:1: cannot load x.star: load() is not available in a single-file build"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// The step limit covers loaded files too.
func TestLoadSteps(t *testing.T) {
	files := map[string]string{"spin.star": "def spin():\n    for i in range(1000000000):\n        pass\nspin()\n"}
	calls := 0
	_, err := Exec("p.star", []byte(`load("spin.star", "spin")`), Options{MaxSteps: 1000, Load: mapLoader(files, &calls)})
	if err == nil || !strings.Contains(err.Error(), "more than 1000 Starlark steps") {
		t.Errorf("got %v, want the step limit", err)
	}
}
