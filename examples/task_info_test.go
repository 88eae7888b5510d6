package examples_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	cbtf "github.com/cilium/ebpf/btf"
	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/disasm"
	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/workspace"
)

// kernelFacts are what task_info must find in the running kernel, read
// with cilium/ebpf's btf.LoadKernelSpec: task_struct's size and the
// offsets of tgid and real_parent, and BPF_MAP_TYPE_ARENA.
type kernelFacts struct {
	taskSize, tgidOff, parentOff uint32
	arena                        uint64
}

func loadKernelFacts(t *testing.T) kernelFacts {
	t.Helper()
	spec, err := cbtf.LoadKernelSpec()
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	var task *cbtf.Struct
	if err := spec.TypeByName("task_struct", &task); err != nil {
		t.Fatal(err)
	}
	f := kernelFacts{taskSize: task.Size}
	for _, m := range task.Members {
		switch m.Name {
		case "tgid":
			f.tgidOff = uint32(m.Offset.Bytes())
		case "real_parent":
			f.parentOff = uint32(m.Offset.Bytes())
		}
	}
	var mt *cbtf.Enum
	if err := spec.TypeByName("bpf_map_type", &mt); err != nil {
		t.Fatal(err)
	}
	for _, v := range mt.Values {
		if v.Name == "BPF_MAP_TYPE_ARENA" {
			f.arena = v.Value
		}
	}
	if f.tgidOff == 0 || f.parentOff == 0 || f.arena == 0 {
		t.Fatalf("kernel facts incomplete: %+v", f)
	}
	return f
}

// checkTaskInfo runs prog in this task (BPF_PROG_TEST_RUN of a raw
// tracepoint runs in the caller) and checks what it stored in out.
func checkTaskInfo(t *testing.T, prog *ebpf.Program, out *ebpf.Map, facts kernelFacts) {
	t.Helper()
	if _, err := prog.Run(&ebpf.RunOptions{Context: make([]byte, 8)}); err != nil {
		t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
	}
	raw := make([]byte, 64)
	if err := out.Lookup(uint32(0), &raw); err != nil {
		t.Fatal(err)
	}
	got := make([]uint64, 8)
	for i := range got {
		got[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	pid, ppid := uint64(os.Getpid()), uint64(os.Getppid())
	want := []uint64{pid, ppid, ppid, pid, 0, uint64(facts.taskSize), facts.arena, 0}
	if !cmp.Equal(got, want) {
		t.Errorf("out = %v, want %v (tgid, parent's tgid twice, tgid through task_struct___local, no_such_member exists, sizeof(task_struct), BPF_MAP_TYPE_ARENA, no_such_type exists)", got, want)
	}
}

// TestTaskInfoCilium: cilium/ebpf relocates task_info against the running
// kernel, and the program reads this process's pid and parent pid.
func TestTaskInfoCilium(t *testing.T) {
	facts := loadKernelFacts(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "task_info.star"))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	checkTaskInfo(t, coll.Programs["task_info"], coll.Maps[".bss"], facts)
}

// TestTaskInfoBpftool: libbpf (bpftool prog loadall) relocates and loads
// it; the program it loaded runs here and reads the same. bpftool prog
// dump xlated shows the kernel's offsets of tgid and real_parent in the
// loads.
func TestTaskInfoBpftool(t *testing.T) {
	facts := loadKernelFacts(t)
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildExample(t, "task_info.star")
	dir := testenv.PinDir(t)
	progs, maps := filepath.Join(dir, "progs"), filepath.Join(dir, "maps")
	if out, err := exec.Command(bpftool, "prog", "loadall", obj, progs, "pinmaps", maps).CombinedOutput(); err != nil {
		t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
	}
	prog, err := ebpf.LoadPinnedProgram(filepath.Join(progs, "task_info"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	pinned, err := filepath.Glob(filepath.Join(maps, "*bss")) // libbpf names it after the object (task_inf.bss) and pins it as task_inf_bss
	if err != nil || len(pinned) != 1 {
		t.Fatalf("pinned .bss: %v %v", pinned, err)
	}
	out, err := ebpf.LoadPinnedMap(pinned[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	checkTaskInfo(t, prog, out, facts)

	xlated, err := exec.Command(bpftool, "prog", "dump", "xlated", "pinned", filepath.Join(progs, "task_info")).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool prog dump xlated: %v\n%s", err, xlated)
	}
	for _, want := range []string{
		fmt.Sprintf("r1 = *(u32 *)(r6 +%d)", facts.tgidOff),
		fmt.Sprintf("r1 = *(u64 *)(r6 +%d)", facts.parentOff),
		fmt.Sprintf("r3 += %d", facts.parentOff),
		fmt.Sprintf("r1 = %d", facts.taskSize),
	} {
		if !bytes.Contains(xlated, []byte(want)) {
			t.Errorf("bpftool prog dump xlated has no %q:\n%s", want, xlated)
		}
	}
}

// TestTaskInfoVmlinux: the example built against a copy of the running
// kernel's whole BTF (5 MB) is byte-identical to the one built against
// task_info.btf, the few types bpftool gen min_core_btf kept: only the
// types a program uses reach the object. (To regenerate task_info.btf:
// build the example against a copy of /sys/kernel/btf/vmlinux, then
// `bpftool gen min_core_btf /sys/kernel/btf/vmlinux task_info.btf
// task_info.o`.)
func TestTaskInfoVmlinux(t *testing.T) {
	vmlinux, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	want, _, err := workspace.BuildFile("task_info.star", starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Outside of any workspace, :task_info.btf is beside the program.
	dir := t.TempDir()
	src, err := os.ReadFile("task_info.star")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"task_info.star": src, "task_info.btf": vmlinux} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, deps, err := workspace.BuildFile(filepath.Join(dir, "task_info.star"), starlib.Options{DebugName: "examples/task_info.star"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the object built against the whole vmlinux BTF differs from the one built against task_info.btf")
	}
	if wantDeps := []string{filepath.Join(dir, "task_info.star"), filepath.Join(dir, "task_info.btf")}; !cmp.Equal(deps, wantDeps) {
		t.Errorf("deps %q, want %q", deps, wantDeps)
	}
}

// TestTaskInfoDisasm: bpfstar disasm prints what llvm-objdump-19 prints
// for the object with its CO-RE relocations.
func TestTaskInfoDisasm(t *testing.T) {
	obj := buildExample(t, "task_info.star")
	want := isatest.Objdump(t, obj)
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := disasm.Object(&got, obj, data); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got.String()); diff != "" {
		t.Errorf("disasm differs from llvm-objdump-19 (-objdump +disasm):\n%s", diff)
	}
	if !strings.Contains(want, "w1 = *(u32 *)(r6 + 0x") {
		t.Errorf("llvm-objdump-19 shows no load from the task:\n%s", want)
	}
}
