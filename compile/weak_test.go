package compile_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// weakSrc takes the addresses of a kernel variable and a kernel function
// the kernel lacks (WEAK is "True" or "False") and stores them, then 7.
const weakSrc = `
out = bss("out", type = types.array(types.u64, 3))
section("syscall", "weak", [
    insn.ld_map_value(r9, out),
    insn.ld_ksym(r1, "bpfstar_no_such_ksym", weak = WEAK),
    insn.stx_mem("dw", r9, r1, 0),
    insn.ld_kfunc(r1, "bpfstar_no_such_kfunc", types.func(types.s32, [types.s32]), weak = WEAK),
    insn.stx_mem("dw", r9, r1, 8),
    insn.mov64_imm(r1, 7),
    insn.stx_mem("dw", r9, r1, 16),
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL")
`

// TestWeakAndStrongExterns: a weak ksym and a weak kfunc the kernel lacks
// load as 0 through both loaders (the program runs and stores 0, 0, 7);
// declared strong, both loaders refuse the object and name the symbol.
func TestWeakAndStrongExterns(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	testenv.Root(t)
	build := func(weak string) string {
		obj := buildCore(t, strings.ReplaceAll(weakSrc, "WEAK", weak), nil)
		path := filepath.Join(t.TempDir(), "weak.o")
		if err := os.WriteFile(path, obj, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	check := func(t *testing.T, prog *ebpf.Program, out *ebpf.Map) {
		if _, err := prog.Run(&ebpf.RunOptions{Context: make([]byte, 8)}); err != nil {
			t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
		}
		raw := make([]byte, 24)
		if err := out.Lookup(uint32(0), &raw); err != nil {
			t.Fatal(err)
		}
		got := []uint64{binary.LittleEndian.Uint64(raw), binary.LittleEndian.Uint64(raw[8:]), binary.LittleEndian.Uint64(raw[16:])}
		if got[0] != 0 || got[1] != 0 || got[2] != 7 {
			t.Errorf("out = %v, want [0 0 7] (the weak ksym's and kfunc's addresses, then 7)", got)
		}
	}
	weak, strong := build("True"), build("False")

	t.Run("cilium", func(t *testing.T) {
		spec, err := ebpf.LoadCollectionSpec(weak)
		if err != nil {
			t.Fatal(err)
		}
		coll := testenv.Collection(t, spec)
		check(t, coll.Programs["weak"], coll.Maps[".bss"])

		spec, err = ebpf.LoadCollectionSpec(strong)
		if err != nil {
			t.Fatal(err)
		}
		coll, err = ebpf.NewCollection(spec)
		if err == nil {
			coll.Close()
			t.Fatal("cilium/ebpf loaded the strong externs the kernel lacks")
		}
		if !strings.Contains(err.Error(), "bpfstar_no_such_") {
			t.Errorf("cilium/ebpf's error does not name the symbol: %v", err)
		}
	})
	t.Run("libbpf", func(t *testing.T) {
		dir := testenv.PinDir(t)
		prog, out := bpftoolBSS(t, bpftool, weak, dir, "weak")
		check(t, prog, out)

		msg, err := exec.Command(bpftool, "prog", "loadall", strong, filepath.Join(dir, "strong")).CombinedOutput()
		if err == nil {
			t.Fatal("bpftool prog loadall loaded the strong externs the kernel lacks")
		}
		if !bytes.Contains(msg, []byte("bpfstar_no_such_")) {
			t.Errorf("libbpf's error does not name the symbol:\n%s", msg)
		}
	})
}
