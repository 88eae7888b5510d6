package compile_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/disasm"
	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

// kfuncSrc calls kernel functions of the running kernel (prototypes from
// its BTF, given as btf_types(":vmlinux.btf")) in a syscall program, which
// BPF_PROG_TEST_RUN runs: it finds the task of the pid its context holds
// (bpf_task_from_pid, refcounted: bpf_task_release), reads its tgid,
// takes and drops the RCU read lock, checks that a kfunc exists, that a
// weak one the kernel has exists and that a weak one the kernel lacks
// does not (and never calls it), and stores
// the address of an untyped ksym (and, for libbpf, of a typed one:
// cilium/ebpf refuses typed ksyms, "expected ... to be *Void").
const kfuncSrc = `
k = btf_types(":vmlinux.btf")
task = k.type("task_struct")
missing = types.func(types.s32, [types.s32])
out = bss("out", type = types.array(types.u64, 7))

def store(i, reg):
    return insn.stx_mem("dw", r9, reg, 8 * i)

section("syscall", "kfuncs", [
    insn.ld_map_value(r9, out),
    insn.ldx_mem("w", r1, r1, 0),
    insn.call_kfunc("bpf_task_from_pid", k),
    insn.jmp_imm("jeq", r0, 0, "no_task"),
    insn.mov64_reg(r6, r0),
    core.ldx(r1, r6, task, "tgid"),
    store(0, r1),
    insn.mov64_reg(r1, r6),
    insn.call_kfunc("bpf_task_release", k),
    label("no_task"),
    insn.call_kfunc("bpf_rcu_read_lock", k),
    insn.call_kfunc("bpf_rcu_read_unlock", k),
    insn.mov64_imm(r1, 1),
    store(5, r1),
    insn.ld_kfunc(r1, "bpf_task_from_pid", k),
    store(1, r1),
    insn.ld_kfunc(r1, "bpf_no_such_kfunc", missing, weak = True),
    store(2, r1),
    insn.jmp_imm("jeq", r1, 0, "skip"),
    insn.mov64_imm(r1, 1),
    insn.call_kfunc("bpf_no_such_kfunc", missing, weak = True),
    label("skip"),
    insn.ld_kfunc(r1, "bpf_task_acquire", k, weak = True),
    store(6, r1),
    insn.ld_ksym(r1, "schedule"),
    store(3, r1),
    TYPED,
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL")
`

// kallsyms returns the addresses of names in /proc/kallsyms (0 where
// they are hidden).
func kallsyms(t *testing.T, names ...string) map[string]uint64 {
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	addrs := map[string]uint64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 3 && want[fields[2]] && len(fields) == 3 {
			addrs[fields[2]], _ = strconv.ParseUint(fields[0], 16, 64)
		}
	}
	return addrs
}

func checkKfuncs(t *testing.T, prog *ebpf.Program, out *ebpf.Map, typed bool) {
	t.Helper()
	ctx := binary.LittleEndian.AppendUint32(nil, uint32(os.Getpid()))
	if _, err := prog.Run(&ebpf.RunOptions{Context: ctx}); err != nil {
		t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
	}
	raw := make([]byte, 56)
	if err := out.Lookup(uint32(0), &raw); err != nil {
		t.Fatal(err)
	}
	got := make([]uint64, 7)
	for i := range got {
		got[i] = binary.LittleEndian.Uint64(raw[8*i:])
	}
	if got[0] != uint64(os.Getpid()) {
		t.Errorf("tgid of bpf_task_from_pid(%d): %d", os.Getpid(), got[0])
	}
	if got[1] == 0 {
		t.Errorf("bpf_task_from_pid's address is 0: the kfunc was not found")
	}
	if got[2] != 0 {
		t.Errorf("the weak bpf_no_such_kfunc's address is %#x, want 0", got[2])
	}
	if got[6] == 0 {
		t.Errorf("the weak bpf_task_acquire's address is 0: a weak kfunc the kernel has was not found")
	}
	if got[5] != 1 {
		t.Errorf("the program did not run to its end")
	}
	// kallsyms lists functions (data only with CONFIG_KALLSYMS_ALL); the
	// kernel's BTF has VARs for per-CPU variables, which a typed ksym
	// names.
	syms := kallsyms(t, "schedule")
	if syms["schedule"] == 0 {
		t.Fatalf("/proc/kallsyms hides the address of schedule")
	}
	if got[3] != syms["schedule"] {
		t.Errorf("untyped ksym schedule: %#x; /proc/kallsyms: %#x", got[3], syms["schedule"])
	}
	if typed && got[4] == 0 {
		t.Errorf("typed ksym bpf_prog_active: address 0")
	}
}

// kfuncProgram returns kfuncSrc, with a typed ksym (the kernel's BTF has
// VARs for per-CPU variables only) or without one.
func kfuncProgram(typed bool) string {
	if typed {
		return strings.Replace(kfuncSrc, "TYPED", `insn.ld_ksym(r1, "bpf_prog_active", k), store(4, r1)`, 1)
	}
	return strings.Replace(kfuncSrc, "TYPED", "[]", 1)
}

func vmlinux(t *testing.T) []byte {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	return data
}

// TestKfuncsCilium: cilium/ebpf finds the kfuncs and ksyms in the
// running kernel, leaves the weak missing one at 0, and the program runs.
func TestKfuncsCilium(t *testing.T) {
	testenv.Root(t)
	obj := buildCore(t, kfuncProgram(false), map[string][]byte{":vmlinux.btf": vmlinux(t)})
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	checkKfuncs(t, coll.Programs["kfuncs"], coll.Maps[".bss"], false)
}

// TestKfuncsBpftool: libbpf (bpftool prog loadall) does the same, and
// resolves a typed ksym too.
func TestKfuncsBpftool(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildCore(t, kfuncProgram(false), map[string][]byte{":vmlinux.btf": vmlinux(t)})
	path := filepath.Join(t.TempDir(), "kfuncs.o")
	if err := os.WriteFile(path, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	prog, out := bpftoolBSS(t, bpftool, path, testenv.PinDir(t), "kfuncs")
	checkKfuncs(t, prog, out, false)
}

var symNumber = regexp.MustCompile(`(symbol |sym )\d+`)

// typedKsymC is the C of typedKsymSrc, for clang-19.
const typedKsymC = `
extern const int bpf_prog_active __attribute__((section(".ksyms")));
__attribute__((section("syscall"), used)) int typed(void *ctx) { return *(const int *)&bpf_prog_active != 0; }
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
`

const typedKsymSrc = `
k = btf_types(":vmlinux.btf")
section("syscall", "typed", [
    insn.ld_ksym(r1, "bpf_prog_active", k),
    insn.ldx_mem("w", r0, r1, 0),
    exit(),
])
license("GPL")
`

// TestTypedKsymAsClang: a typed ksym (a per-CPU variable, which the
// kernel's BTF has as a VAR) is declared as clang declares one: libbpf
// finds it in the kernel's BTF and makes the load a BPF_PSEUDO_BTF_ID, and
// the kernel answers the two objects alike. (This kernel is built without
// CONFIG_KALLSYMS_ALL, so it cannot find the variable's address and
// refuses both; a kernel with it loads both.)
func TestTypedKsymAsClang(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	clang, _ := testenv.ClangBPF(t)
	dir := t.TempDir()
	c := filepath.Join(dir, "typed.c")
	if err := os.WriteFile(c, []byte(typedKsymC), 0o644); err != nil {
		t.Fatal(err)
	}
	clangObj := filepath.Join(dir, "clang.o")
	if out, err := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-c", c, "-o", clangObj).CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	ours := filepath.Join(dir, "ours.o")
	if err := os.WriteFile(ours, buildCore(t, typedKsymSrc, map[string][]byte{":vmlinux.btf": vmlinux(t)}), 0o644); err != nil {
		t.Fatal(err)
	}
	pins := testenv.PinDir(t)
	verdict := func(obj string) string {
		out, err := exec.Command(bpftool, "-d", "prog", "loadall", obj, filepath.Join(pins, filepath.Base(obj))).CombinedOutput()
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "bpf_prog_active") || strings.Contains(l, "ldimm64") {
				// Symbol numbers differ: clang's table has more symbols.
				lines = append(lines, symNumber.ReplaceAllString(strings.ReplaceAll(l, obj, "OBJ"), "${1}N"))
			}
		}
		return fmt.Sprintf("err=%v\n%s", err != nil, strings.Join(lines, "\n"))
	}
	want, got := verdict(clangObj), verdict(ours)
	if got != want {
		t.Errorf("libbpf and the kernel treat the objects differently:\nclang-19:\n%s\nbpfstar:\n%s", want, got)
	}
	if !strings.Contains(got, "bpf_prog_active") {
		t.Errorf("libbpf says nothing of the ksym:\n%s", got)
	}
	t.Logf("both:\n%s", got)
}

const kfuncLikeC = `
struct task_struct;
extern struct task_struct *bpf_task_from_pid(int pid) __attribute__((section(".ksyms")));
extern void bpf_task_release(struct task_struct *p) __attribute__((section(".ksyms")));
extern int bpf_maybe(int x) __attribute__((section(".ksyms"), weak));
extern void schedule __attribute__((section(".ksyms")));
__attribute__((section("syscall"), used)) int p(void *ctx) {
	struct task_struct *t = bpf_task_from_pid(1);
	long r = 0;
	if (t)
		bpf_task_release(t);
	if (bpf_maybe)
		r = bpf_maybe(3);
	return r + (long)&schedule;
}
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
`

const kfuncLikeSrc = `
k = btf_types(":vmlinux.btf")
section("syscall", "p", [
    insn.mov64_imm(r1, 1),
    insn.call_kfunc("bpf_task_from_pid", k),
    insn.jmp_imm("jeq", r0, 0, "l1"),
    insn.mov64_reg(r1, r0),
    insn.call_kfunc("bpf_task_release", k),
    label("l1"),
    insn.ld_kfunc(r1, "bpf_maybe", types.func(types.s32, [types.s32]), weak = True),
    insn.jmp_imm("jeq", r1, 0, "l2"),
    insn.mov64_imm(r1, 3),
    insn.call_kfunc("bpf_maybe", types.func(types.s32, [types.s32]), weak = True),
    label("l2"),
    insn.ld_ksym(r0, "schedule"),
    exit(),
])
license("GPL")
`

// TestKfuncsAsClang: the externs are what clang-19 makes of extern
// __ksym declarations: undefined NOTYPE symbols (weak for a weak kfunc),
// calls "call -0x1" with src 1 and R_BPF_64_32, 64-bit loads with
// R_BPF_64_64, and a .ksyms DATASEC of extern FUNCs and a void VAR;
// llvm-readelf-19 reads the object without a warning and bpfstar disasm
// prints what llvm-objdump-19 prints.
func TestKfuncsAsClang(t *testing.T) {
	readelf := testenv.Tool(t, "llvm-readelf-19")
	bpftool := testenv.Tool(t, "bpftool")
	clang, _ := testenv.ClangBPF(t)
	dir := t.TempDir()
	c := filepath.Join(dir, "k.c")
	if err := os.WriteFile(c, []byte(kfuncLikeC), 0o644); err != nil {
		t.Fatal(err)
	}
	clangObj, ours := filepath.Join(dir, "clang.o"), filepath.Join(dir, "ours.o")
	if out, err := exec.Command(clang, "-O2", "-g", "-target", "bpf", "-c", c, "-o", clangObj).CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	obj := buildCore(t, kfuncLikeSrc, map[string][]byte{":vmlinux.btf": vmlinux(t)})
	if err := os.WriteFile(ours, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	externs := func(path string) []string {
		var stderr bytes.Buffer
		cmd := exec.Command(readelf, "-s", "-r", path)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 || bytes.Contains(out, []byte("warning")) {
			t.Fatalf("llvm-readelf-19 %s: %v\n%s%s", path, err, stderr.Bytes(), out)
		}
		var rows []string
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) == 8 && f[6] == "UND" && f[7] != "":
				rows = append(rows, "sym "+strings.Join(f[3:], " ")) // type bind vis ndx name
			case len(f) == 5 && (f[2] == "R_BPF_64_32" || f[2] == "R_BPF_64_64") && (strings.HasPrefix(f[4], "bpf_") || f[4] == "schedule"):
				rows = append(rows, "rel "+f[2]+" "+f[4])
			}
		}
		slices.Sort(rows)
		return rows
	}
	if got, want := externs(ours), externs(clangObj); !slices.Equal(got, want) || len(want) != 9 { // (clang's debug info relocations left out)
		t.Errorf("symbols and relocations:\nbpfstar  %q\nclang-19 %q", got, want)
	}
	ksyms := func(path string) string {
		out, err := exec.Command(bpftool, "btf", "dump", "file", path).CombinedOutput()
		if err != nil {
			t.Fatalf("bpftool btf dump: %v\n%s", err, out)
		}
		_, sec, _ := strings.Cut(string(out), "DATASEC '.ksyms'")
		var entries []string
		for _, l := range strings.Split(sec, "\n")[1:] {
			if !strings.HasPrefix(l, "\t") {
				break
			}
			_, e, _ := strings.Cut(l, " ") // without the type ID
			entries = append(entries, e)
		}
		slices.Sort(entries)
		return strings.Join(entries, "\n")
	}
	if got, want := ksyms(ours), ksyms(clangObj); got != want {
		t.Errorf(".ksyms:\nbpfstar:\n%s\nclang-19:\n%s", got, want)
	}
	var text bytes.Buffer
	if err := disasm.Object(&text, ours, obj); err != nil {
		t.Fatal(err)
	}
	if want := isatest.Objdump(t, ours); text.String() != want {
		t.Errorf("disasm:\n%s\nllvm-objdump-19:\n%s", text.String(), want)
	}
}
