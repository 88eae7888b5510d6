package compile_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// coreRootsSrc relocates against roots that are typedefs of anonymous
// types (atomic_t, a struct; socket_state, an enum) and qualified types
// (const task_struct, volatile kuid_t), in socket filters that return
// what they compute.
const coreRootsSrc = `
k = btf_types(":vmlinux.btf")
task = k.type("task_struct")
section("socket", "atomic_off", [core.field_offset(r0, k.type("atomic_t"), "counter"), exit()])
section("socket", "atomic_size", [core.field_size(r0, types.const(k.type("atomic_t")), "counter"), exit()])
section("socket", "state", [core.enum_value(r0, k.type("socket_state"), "SS_CONNECTING"), exit()])
section("socket", "state_exists", [core.enum_exists(r0, k.type("socket_state"), "SS_CONNECTING"), exit()])
section("socket", "const_size", [core.type_size(r0, types.const(task)), exit()])
section("socket", "kuid_size", [core.type_size(r0, types.volatile(k.type("kuid_t"))), exit()])
section("socket", "const_tgid", [core.field_offset(r0, types.const(task), "tgid"), exit()])
license("GPL")
`

// coreRootsC is coreRootsSrc's relocations for clang-19, against
// vmlinux.h.
const coreRootsC = `
#include "vmlinux.h"
unsigned long long out[8];
__attribute__((section("socket"), used)) int roots(void *ctx)
{
	atomic_t *a = (void *)0;
	const atomic_t *ca = (void *)0;
	const struct task_struct *t = (void *)0;
	out[0] = __builtin_preserve_field_info(a->counter, 0);
	out[1] = __builtin_preserve_field_info(ca->counter, 1);
	out[2] = __builtin_preserve_enum_value(*(socket_state *)SS_CONNECTING, 1);
	out[3] = __builtin_preserve_enum_value(*(socket_state *)SS_CONNECTING, 0);
	out[4] = __builtin_preserve_type_info(*(const struct task_struct *)0, 1);
	out[5] = __builtin_preserve_type_info(*(volatile kuid_t *)0, 1);
	out[6] = __builtin_preserve_field_info(t->tgid, 0);
	return 0;
}
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
`

// objdumpRelos lists the CO-RE relocations llvm-objdump-19 -dr shows: the
// kind and the type and member path, without the type ID and the access
// string (whose indexes are into clang's whole types and bpfstar's pruned
// ones).
func objdumpRelos(t *testing.T, obj string) []string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "llvm-objdump-19"), "-dr", obj).Output()
	if err != nil {
		t.Fatalf("llvm-objdump-19 -dr %s: %v", obj, err)
	}
	var relos []string
	for _, l := range strings.Split(string(out), "\n") {
		if _, r, ok := strings.Cut(l, "CO-RE "); ok {
			f := strings.Fields(r)
			if n := len(f); strings.HasPrefix(f[n-1], "(") {
				f = f[:n-1]
			}
			relos = append(relos, f[0]+" "+strings.Join(f[2:], " "))
		}
	}
	return relos
}

// checkReturns runs each program of want (a socket filter) with
// BPF_PROG_TEST_RUN on 64 bytes of packet and checks it returns its value.
func checkReturns(t *testing.T, progs map[string]*ebpf.Program, want map[string]uint32) {
	t.Helper()
	for name, w := range want {
		got, err := progs[name].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != w {
			t.Errorf("%s returned %d, want %d", name, got, w)
		}
	}
}

// TestCoreTypedefRoots: a relocation's root type is recorded as clang
// records it, without const and volatile but with its typedef: atomic_t
// and socket_state, typedefs of an anonymous struct and enum, are roots
// both loaders can look up by name (an anonymous root is refused by both:
// "relocate unnamed or anonymous type", "target candidate search
// failed"), and a const task_struct is task_struct. The relocations are
// those clang-19 makes of the same C, and both loaders give the running
// kernel's values.
func TestCoreTypedefRoots(t *testing.T) {
	vm := vmlinux(t)
	bpftool := testenv.Tool(t, "bpftool")
	clang, _ := testenv.ClangBPF(t)
	dir := t.TempDir()
	obj := buildCore(t, coreRootsSrc, map[string][]byte{":vmlinux.btf": vm})
	ours := filepath.Join(dir, "roots.o")
	if err := os.WriteFile(ours, obj, 0o644); err != nil {
		t.Fatal(err)
	}

	// The records clang-19 makes.
	btfPath := filepath.Join(dir, "vmlinux.btf")
	if err := os.WriteFile(btfPath, vm, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := exec.Command(bpftool, "btf", "dump", "file", btfPath, "format", "c").Output()
	if err != nil {
		t.Fatalf("bpftool btf dump: %v", err)
	}
	for name, data := range map[string][]byte{"vmlinux.h": h, "roots.c": []byte(coreRootsC)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	theirs := filepath.Join(dir, "roots.clang.o")
	if out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-c", filepath.Join(dir, "roots.c"), "-o", theirs).CombinedOutput(); err != nil {
		t.Fatalf("clang-19: %v\n%s", err, out)
	}
	got, want := objdumpRelos(t, ours), objdumpRelos(t, theirs)
	if !slices.Equal(got, want) || len(want) != 7 {
		t.Errorf("CO-RE relocations:\nbpfstar  %q\nclang-19 %q", got, want)
	}

	// The values both loaders compute against the running kernel.
	kernel, err := cbtf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	var task *cbtf.Struct
	if err := kernel.TypeByName("task_struct", &task); err != nil {
		t.Fatal(err)
	}
	var tgid uint32
	for _, m := range task.Members {
		if m.Name == "tgid" {
			tgid = m.Offset.Bytes()
		}
	}
	values := map[string]uint32{
		"atomic_off": 0, "atomic_size": 4, "state": 2, "state_exists": 1,
		"const_size": task.Size, "kuid_size": 4, "const_tgid": tgid,
	}
	t.Run("cilium", func(t *testing.T) {
		checkReturns(t, ciliumPrograms(t, obj), values)
	})
	t.Run("libbpf", func(t *testing.T) {
		checkReturns(t, bpftoolPrograms(t, bpftool, ours, slices.Collect(maps.Keys(values))), values)
	})
}

// TestCoreTypeMatchesAnonymous pins down the loader difference README
// documents: a local type with an anonymous member (as sk_buff has at its
// start) matches the kernel's sk_buff by libbpf's TYPE_MATCHES, not by
// cilium/ebpf's, which finds members by name and so compares it with the
// kernel's last anonymous member; one of named members matches in both.
func TestCoreTypeMatchesAnonymous(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildCore(t, `
anon = types.struct("sk_buff___a", [("", types.union("", [("", types.struct("", [("next", types.ptr(types.fwd("sk_buff")))]))]))])
named = types.struct("sk_buff___n", [("len", types.u32)])
section("socket", "anon", [core.type_matches(r0, anon), exit()])
section("socket", "named", [core.type_matches(r0, named), exit()])
license("GPL")
`, nil)
	t.Run("cilium", func(t *testing.T) {
		checkReturns(t, ciliumPrograms(t, obj), map[string]uint32{"anon": 0, "named": 1})
	})
	t.Run("libbpf", func(t *testing.T) {
		progs := bpftoolPrograms(t, bpftool, tempObject(t, "matches.o", obj), []string{"anon", "named"})
		checkReturns(t, progs, map[string]uint32{"anon": 1, "named": 1})
	})
}

// pgdSrc reads current->mm->pgd->pgd with core.read: the last step goes
// through a pointer to pgd_t, a typedef of an anonymous struct.
const pgdSrc = `
k = btf_types(":vmlinux.btf")
out = bss("out", type = types.array(types.u64, 1))
section("raw_tp/sys_enter", "pgd", [
    insn.ld_map_value(r9, out),
    insn.call("get_current_task_btf"),
    core.read(r1, r0, k.type("task_struct"), "mm->pgd->pgd"),
    insn.stx_mem("dw", r9, r1, 0),
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL")
`

// pgdC is pgdSrc for clang-19, as BPF_CORE_READ(t, mm, pgd, pgd) expands.
const pgdC = `
#include "vmlinux.h"
static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;
unsigned long long out[1];
__attribute__((section("raw_tp/sys_enter"), used)) int pgd(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct mm_struct *mm;
	pgd_t *pgd;
	pgdval_t v;
	bpf_probe_read_kernel(&mm, sizeof(mm), __builtin_preserve_access_index(&t->mm));
	bpf_probe_read_kernel(&pgd, sizeof(pgd), __builtin_preserve_access_index(&mm->pgd));
	bpf_probe_read_kernel(&v, sizeof(v), __builtin_preserve_access_index(&pgd->pgd));
	out[0] = v;
	return 0;
}
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
`

// TestCoreReadTypedefPointer: core.read follows a pointer to a typedef of
// an anonymous struct (mm_struct's pgd_t *pgd) as BPF_CORE_READ does: the
// last step's relocation names the typedef, as clang-19's does, and both
// loaders relocate it; the program reads what clang's reads (the first
// entry of this process's page table, which is not 0).
func TestCoreReadTypedefPointer(t *testing.T) {
	vm := vmlinux(t)
	bpftool := testenv.Tool(t, "bpftool")
	clang, _ := testenv.ClangBPF(t)
	dir := t.TempDir()
	ours := filepath.Join(dir, "pgd.o")
	if err := os.WriteFile(ours, buildCore(t, pgdSrc, map[string][]byte{":vmlinux.btf": vm}), 0o644); err != nil {
		t.Fatal(err)
	}
	btfPath := filepath.Join(dir, "vmlinux.btf")
	if err := os.WriteFile(btfPath, vm, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := exec.Command(bpftool, "btf", "dump", "file", btfPath, "format", "c").Output()
	if err != nil {
		t.Fatalf("bpftool btf dump: %v", err)
	}
	for name, data := range map[string][]byte{"vmlinux.h": h, "pgd.c": []byte(pgdC)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	theirs := filepath.Join(dir, "pgd.clang.o")
	if out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-c", filepath.Join(dir, "pgd.c"), "-o", theirs).CombinedOutput(); err != nil {
		t.Fatalf("clang-19: %v\n%s", err, out)
	}
	got, want := objdumpRelos(t, ours), objdumpRelos(t, theirs)
	if !slices.Equal(got, want) || len(want) != 3 {
		t.Errorf("CO-RE relocations:\nbpfstar  %q\nclang-19 %q", got, want)
	}
	read := func(t *testing.T, obj string, libbpf bool) uint64 {
		var prog *ebpf.Program
		var out *ebpf.Map
		if libbpf {
			prog, out = bpftoolBSS(t, bpftool, obj, testenv.PinDir(t), "pgd")
		} else {
			spec, err := ebpf.LoadCollectionSpec(obj)
			if err != nil {
				t.Fatal(err)
			}
			coll := testenv.Collection(t, spec)
			prog, out = coll.Programs["pgd"], coll.Maps[".bss"]
		}
		if _, err := prog.Run(&ebpf.RunOptions{Context: make([]byte, 8)}); err != nil {
			t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
		}
		var v uint64
		if err := out.Lookup(uint32(0), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, libbpf := range []bool{false, true} {
		name := map[bool]string{false: "cilium", true: "libbpf"}[libbpf]
		t.Run(name, func(t *testing.T) {
			w := read(t, theirs, libbpf)
			if g := read(t, ours, libbpf); g != w || w == 0 {
				t.Errorf("bpfstar's object read %#x, clang-19's %#x", g, w)
			}
		})
	}
}

// TestCoreLocalTypedefRoot: a member path from a local typedef of a
// ___flavor struct (a name the kernel does not have) relocates against
// the kernel's task_struct through both loaders: the record names the
// struct, not the typedef, as it did before typedef roots were kept for
// anonymous types.
func TestCoreLocalTypedefRoot(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	kernel, err := cbtf.LoadKernelSpec()
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	var task *cbtf.Struct
	if err := kernel.TypeByName("task_struct", &task); err != nil {
		t.Fatal(err)
	}
	var tgid uint32
	for _, m := range task.Members {
		if m.Name == "tgid" {
			tgid = m.Offset.Bytes()
		}
	}
	obj := buildCore(t, `
task_t = types.const(types.typedef("task_t", types.struct("task_struct___m", [("pid", types.s32), ("tgid", types.s32)])))
section("socket", "tgid", [core.field_offset(r0, task_t, "tgid"), exit()])
section("socket", "pid", [core.field_exists(r0, task_t, "pid"), exit()])
license("GPL")
`, nil)
	want := map[string]uint32{"tgid": tgid, "pid": 1}
	t.Run("cilium", func(t *testing.T) {
		checkReturns(t, ciliumPrograms(t, obj), want)
	})
	t.Run("libbpf", func(t *testing.T) {
		checkReturns(t, bpftoolPrograms(t, bpftool, tempObject(t, "typedef.o", obj), slices.Collect(maps.Keys(want))), want)
	})
}

// TestCoreEnum64: the value of an enumerator of a 64-bit enum whose value
// has its high bits set (perf_callchain_context's PERF_CONTEXT_USER,
// 0xfffffffffffffe00) is a 64-bit load, as clang makes it, which both
// loaders relocate: as a mov of -0x200 cilium/ebpf refused the object
// ("immediate ... exceeds MaxInt32"). The programs return the value's low
// and high halves.
func TestCoreEnum64(t *testing.T) {
	vm := vmlinux(t)
	bpftool := testenv.Tool(t, "bpftool")
	kernel, err := cbtf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	var e *cbtf.Enum
	if err := kernel.TypeByName("perf_callchain_context", &e); err != nil {
		testenv.Missing(t, "no enum perf_callchain_context in this kernel: "+err.Error())
	}
	var val uint64
	for _, v := range e.Values {
		if v.Name == "PERF_CONTEXT_USER" {
			val = v.Value
		}
	}
	if val>>31 == 0 {
		t.Fatalf("PERF_CONTEXT_USER = %#x fits an immediate", val)
	}
	obj := buildCore(t, `
k = btf_types(":vmlinux.btf")
e = k.type("enum perf_callchain_context")
section("socket", "low", [core.enum_value(r0, e, "PERF_CONTEXT_USER"), exit()])
section("socket", "high", [core.enum_value(r0, e, "PERF_CONTEXT_USER"), insn.alu64_imm("rsh", r0, 32), exit()])
license("GPL")
`, map[string][]byte{":vmlinux.btf": vm})
	want := map[string]uint32{"low": uint32(val), "high": uint32(val >> 32)}
	run := func(t *testing.T, progs map[string]*ebpf.Program) {
		for name, w := range want {
			got, err := progs[name].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got != w {
				t.Errorf("%s returned %#x, want %#x", name, got, w)
			}
		}
	}
	t.Run("cilium", func(t *testing.T) {
		run(t, ciliumPrograms(t, obj))
	})
	t.Run("libbpf", func(t *testing.T) {
		run(t, bpftoolPrograms(t, bpftool, tempObject(t, "enum64.o", obj), slices.Collect(maps.Keys(want))))
	})
}

// TestCoreLoadSizeAdjust pins down what README says of core.ldx of a
// local member whose size is not the kernel's: a local u16 tgid (a kernel
// int) is loaded with the kernel's size by cilium/ebpf, and refused by
// libbpf, which adjusts the size of an unsigned integer or a pointer only
// ("accesses field incorrectly").
func TestCoreLoadSizeAdjust(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildCore(t, `
m = types.struct("task_struct___s", [("tgid", types.u16)])
section("raw_tp/sys_enter", "tgid", [
    insn.call("get_current_task_btf"),
    core.ldx(r0, r0, m, "tgid"),
    exit(),
])
license("GPL")
`, nil)
	t.Run("cilium", func(t *testing.T) {
		got, err := ciliumPrograms(t, obj)["tgid"].Run(&ebpf.RunOptions{Context: make([]byte, 8)})
		if err != nil {
			t.Fatal(err)
		}
		if got != uint32(os.Getpid()) {
			t.Errorf("tgid = %d, want this process's %d", got, os.Getpid())
		}
	})
	t.Run("libbpf", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "size.o")
		if err := os.WriteFile(path, obj, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bpftool, "prog", "loadall", path, filepath.Join(testenv.PinDir(t), "progs")).CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("accesses field incorrectly")) {
			t.Errorf("bpftool prog loadall: %v, want a refusal 'accesses field incorrectly':\n%s", err, out)
		}
	})
}
