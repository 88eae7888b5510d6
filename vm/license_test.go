package vm_test

import (
	"bytes"
	"debug/elf"
	"errors"
	"testing"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/vm"
)

// build compiles a program file for a test.
func build(t testing.TB, src string) []byte {
	t.Helper()
	obj, err := compile.Source("prog.star", []byte(src), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// relicense rewrites the license section of obj to lic (no longer than
// the license it had): bpfstar refuses to build a GPL-only helper call
// without a GPL-compatible license, other compilers do not.
func relicense(t testing.TB, obj []byte, lic string) []byte {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section("license")
	if s == nil || uint64(len(lic)) >= s.Size {
		t.Fatalf("no license section with room for %q", lic)
	}
	out := bytes.Clone(obj)
	b := out[s.Offset : s.Offset+s.Size]
	clear(b)
	copy(b, lic)
	return out
}

// gplSrc calls bpf_trace_printk (GPL-only) from a function the program
// calls, and the program itself calls only bpf_ktime_get_ns.
const gplSrc = `
fmt = rodata("fmt", b"hi\0")
function("say", [
    insn.ld_map_value(r1, fmt),
    insn.mov64_imm(r2, 3),
    insn.call("trace_printk"),
    insn.mov64_imm(r0, 0),
    exit(),
])
section("xdp", "calls_gpl", [
    insn.call_func("say"),
    insn.mov64_imm(r0, 2),
    exit(),
])
section("xdp", "plain", [
    insn.call("ktime_get_ns"),
    insn.mov64_imm(r0, 2),
    exit(),
])
license("GPL and additional rights")
`

// TestGPLOnlyHelpers: a program whose license is not GPL-compatible and
// that calls a GPL-only helper (here through a function it calls) does
// not run, as the kernel does not load it; its other programs and the
// same object under "GPL" run.
func TestGPLOnlyHelpers(t *testing.T) {
	obj := build(t, gplSrc)
	for _, tc := range []struct {
		lic     string
		refused bool
	}{{"GPL", false}, {"Dual MIT/GPL", false}, {"MIT", true}, {"GPLv2", true}} {
		o, err := vm.LoadObject(relicense(t, obj, tc.lic))
		if err != nil {
			t.Fatal(err)
		}
		_, err = o.Program("calls_gpl")
		if got := errors.Is(err, vm.ErrGPL); got != tc.refused {
			t.Errorf("license %q: calls_gpl: %v", tc.lic, err)
		}
		if tc.refused {
			for _, want := range []string{"bpf_trace_printk", `"` + tc.lic + `"`, "prog.star:"} {
				if !bytes.Contains([]byte(err.Error()), []byte(want)) {
					t.Errorf("license %q: error %q does not say %s", tc.lic, err, want)
				}
			}
		}
		if _, err := o.Program("plain"); err != nil {
			t.Errorf("license %q: plain: %v", tc.lic, err)
		}
	}
}
