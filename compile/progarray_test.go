package compile_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

// The rule behind the build's check of a prog_array's values, in the
// kernel: the first program put in a prog_array gives it its type, and a
// program of another type (or an xdp.frags program after an xdp one) is
// refused with EINVAL; since Linux 6.18 (commit 4540aed51b12,
// CVE-2025-40123, also in stable kernels) also a program of the same type
// with another expected attach type (tc and tc/ingress, kprobe and
// kprobe.multi). Sections the check takes for one type (tc and
// classifier, kprobe and kretprobe) fill one prog_array through
// cilium/ebpf.
func TestProgArrayOneType(t *testing.T) {
	src := `
a = section("tc", "a", [insn.mov64_imm(r0, 0), exit()])
b = section("classifier", "b", [insn.mov64_imm(r0, 0), exit()])
c = section("kprobe/do_nanosleep", "c", [insn.mov64_imm(r0, 0), exit()])
d = section("kretprobe/do_nanosleep", "d", [insn.mov64_imm(r0, 0), exit()])
e = section("xdp", "e", [insn.mov64_imm(r0, 2), exit()])
f = section("xdp.frags", "f", [insn.mov64_imm(r0, 2), exit()])
g = section("socket", "g", [insn.mov64_imm(r0, 0), exit()])
h = section("tc/ingress", "h", [insn.mov64_imm(r0, 0), exit()])
i = section("kprobe.multi/do_nanosleep", "i", [insn.mov64_imm(r0, 0), exit()])
bpf_map("tcs", "prog_array", 4, 4, 2, values = [a, b])
bpf_map("kprobes", "prog_array", 4, 4, 2, values = [c, d])
license("GPL")
`
	obj, err := compile.Source("pa.star", []byte(src), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	for _, pair := range [][2]string{{"e", "g"}, {"e", "f"}, {"g", "a"}, {"a", "h"}, {"h", "a"}, {"c", "i"}} {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.ProgramArray, KeySize: 4, ValueSize: 4, MaxEntries: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Put(uint32(0), coll.Programs[pair[0]]); err != nil {
			t.Errorf("put %s: %v", pair[0], err)
		}
		if err := m.Put(uint32(1), coll.Programs[pair[1]]); !errors.Is(err, unix.EINVAL) {
			t.Errorf("put %s after %s: %v, want EINVAL", pair[1], pair[0], err)
		}
		m.Close()
	}
}
