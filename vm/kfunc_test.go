package vm_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

// kfuncSrc uses CO-RE on a local type (the syscall context), modelled
// kfuncs, a weak kfunc and a weak ksym the interpreter lacks, and, in
// other programs, what it refuses.
const kfuncSrc = `
args = types.struct("args", [("a", types.u32), ("b", types.u32)])
kind = types.enum("kind", [("ONE", 1), ("TWO", 2)])
void = types.func(types.void, [])
missing = types.func(types.s32, [types.s32])
out = bss("out", type = types.array(types.u64, 8))

def store(i, reg):
    return insn.stx_mem("dw", r9, reg, 8 * i)

section("syscall", "kfuncs", [
    insn.ld_map_value(r9, out),
    core.ldx(r2, r1, args, "b"),
    store(0, r2),
    core.field_exists(r2, args, "b"),
    store(1, r2),
    core.type_size(r2, args),
    store(2, r2),
    core.enum_value(r2, kind, "TWO"),
    store(3, r2),
    insn.call_kfunc("bpf_rcu_read_lock", void),
    insn.call_kfunc("bpf_rcu_read_unlock", void),
    insn.ld_kfunc(r1, "bpf_rcu_read_lock", void),
    store(4, r1),
    insn.ld_kfunc(r1, "bpf_no_such_kfunc", missing, weak = True),
    store(5, r1),
    insn.jmp_imm("jeq", r1, 0, "skip"),
    insn.call_kfunc("bpf_no_such_kfunc", missing, weak = True),
    label("skip"),
    insn.ld_ksym(r1, "no_such_var", weak = True),
    store(6, r1),
    insn.mov64_imm(r0, 0),
    exit(),
])
section("syscall", "calls_missing", [
    insn.mov64_imm(r1, 1),
    insn.call_kfunc("bpf_task_from_pid", missing),
    exit(),
])
function("sched", [
    insn.ld_ksym(r0, "schedule"),
    exit(),
])
section("syscall", "strong_ksym", [
    insn.call_func("sched"),
    insn.mov64_imm(r0, 0),
    exit(),
])
section("syscall", "strong_kfunc_addr", [
    insn.ld_kfunc(r1, "bpf_task_acquire", missing),
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL and additional rights")
`

// TestKfuncsAndCORE: CO-RE relocations keep their local values, modelled
// kfuncs run, weak externs the interpreter lacks are 0, and what it
// cannot give stops the program that needs it (itself or in a function it
// calls), naming it; the other programs of the same section run.
func TestKfuncsAndCORE(t *testing.T) {
	o, err := vm.LoadObject(build(t, kfuncSrc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := o.NewMachine(vm.Env{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Program("kfuncs")
	if err != nil {
		t.Fatal(err)
	}
	ctx := []byte{1, 0, 0, 0, 42, 0, 0, 0}
	if _, err := m.RunProgram(p, vm.Input{Ctx: ctx, HasCtx: true}); err != nil {
		t.Fatal(err)
	}
	v, _ := m.Map(".bss").Lookup(u32(0), 0)
	got := make([]uint64, 7)
	for i := range got {
		got[i] = binary.LittleEndian.Uint64(v[8*i:])
	}
	want := []uint64{42, 1, 8, 2}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("out[%d] = %d, want %d", i, got[i], w)
		}
	}
	if got[4] == 0 {
		t.Errorf("bpf_ksym_exists(bpf_rcu_read_lock) is false")
	}
	if got[5] != 0 || got[6] != 0 {
		t.Errorf("weak externs the interpreter lacks: %#x %#x, want 0", got[5], got[6])
	}

	p, err = o.Program("calls_missing")
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.RunProgram(p, vm.Input{})
	if !errors.Is(err, vm.ErrUnsupported) || !strings.Contains(err.Error(), "bpf_task_from_pid") {
		t.Errorf("call of a kfunc the interpreter does not model: %v", err)
	}
	for name, want := range map[string]string{
		"strong_ksym":       "schedule is a kernel symbol (ksym)",
		"strong_kfunc_addr": "the address of kfunc bpf_task_acquire",
	} {
		_, err := o.Program(name)
		if !errors.Is(err, vm.ErrUnsupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

// TestKfuncNeedsGPL: the kernel lets only GPL-compatible programs call
// kfuncs, so does the interpreter.
func TestKfuncNeedsGPL(t *testing.T) {
	o, err := vm.LoadObject(relicense(t, build(t, kfuncSrc), "MIT"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Program("kfuncs")
	if !errors.Is(err, vm.ErrGPL) || !strings.Contains(err.Error(), "kfunc bpf_rcu_read_lock") {
		t.Errorf("kfuncs: %v", err)
	}
}

// TestUnmodelledHelpers: helpers whose answer only a kernel knows (a
// flow hash, a route, a socket, the current task, cgroup or socket
// cookie) stop the run naming them, never answering 0.
func TestUnmodelledHelpers(t *testing.T) {
	for id, name := range map[int32]string{
		34:  "bpf_get_hash_recalc",
		35:  "bpf_get_current_task",
		46:  "bpf_get_socket_cookie",
		69:  "bpf_fib_lookup",
		80:  "bpf_get_current_cgroup_id",
		84:  "bpf_sk_lookup_tcp",
		85:  "bpf_sk_lookup_udp",
		99:  "bpf_skc_lookup_tcp",
		158: "bpf_get_current_task_btf",
	} {
		code := binary.LittleEndian.AppendUint32([]byte{0x85, 0, 0, 0}, uint32(id))
		code = append(code, 0x95, 0, 0, 0, 0, 0, 0, 0)
		p, err := vm.Compile(code)
		if err != nil {
			t.Fatal(err)
		}
		m := vm.NewMachine()
		m.UseStandardHelpers()
		_, err = m.Run(p)
		if !errors.Is(err, vm.ErrUnsupported) || !strings.Contains(err.Error(), name) {
			t.Errorf("helper %d: %v, want an error naming %s", id, err, name)
		}
	}
}

// iterSrc sums bpf_for(i, 3, 7) with the numeric iterator kfuncs, and
// stores what bpf_iter_num_new says of a range that ends before it starts,
// of one too long, and the first number of a range from INT_MIN.
const iterSrc = `
it = types.struct("bpf_iter_num", [("__opaque", types.array(types.u64, 1))])
itp = types.ptr(it)
new = types.func(types.s32, [itp, types.s32, types.s32])
next = types.func(types.ptr(types.s32), [itp])
destroy = types.func(types.void, [itp])
out = bss("out", type = types.array(types.s64, 5))

def iter_new(start, end):
    return [
        insn.mov64_reg(r1, fp),
        insn.alu64_imm("add", r1, -8),
        insn.mov64_imm(r2, start),
        insn.mov64_imm(r3, end),
        insn.call_kfunc("bpf_iter_num_new", new),
    ]

def iter_next():
    return [
        insn.mov64_reg(r1, fp),
        insn.alu64_imm("add", r1, -8),
        insn.call_kfunc("bpf_iter_num_next", next),
    ]

section("syscall", "iter", [insn.ld_map_value(r9, out), insn.mov64_imm(r6, 0)] +
    iter_new(3, 7) + [label("loop")] + iter_next() + [
    insn.jmp_imm("jeq", r0, 0, "done"),
    insn.ldx_mem("w", r1, r0, 0),
    insn.alu64_reg("add", r6, r1),
    insn.ja("loop"),
    label("done"),
    insn.stx_mem("dw", r9, r6, 0),
    ] + iter_next() + [
    insn.stx_mem("dw", r9, r0, 8),  # NULL again after the end
    insn.mov64_reg(r1, fp),
    insn.alu64_imm("add", r1, -8),
    insn.call_kfunc("bpf_iter_num_destroy", destroy),
    ] + iter_new(5, 1) + [
    insn.stx_mem("dw", r9, r0, 16),
    ] + iter_new(0, 8388609) + [
    insn.stx_mem("dw", r9, r0, 24),
    ] + iter_new(-2147483648, -2147483647) + iter_next() + [
    insn.ldx_mem("w", r1, r0, 0),
    insn.movsx64_reg(r1, r1, 32),
    insn.stx_mem("dw", r9, r1, 32),
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL")
`

// TestIterNum: the numeric iterator kfuncs count as the kernel's do.
func TestIterNum(t *testing.T) {
	o, err := vm.LoadObject(build(t, iterSrc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := o.NewMachine(vm.Env{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Program("iter")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.RunProgram(p, vm.Input{}); err != nil {
		t.Fatal(err)
	}
	v, _ := m.Map(".bss").Lookup(u32(0), 0)
	var got []int64
	for i := 0; i < 5; i++ {
		got = append(got, int64(binary.LittleEndian.Uint64(v[8*i:])))
	}
	// The errors are ints, zero-extended, as the kernel leaves them.
	want := []int64{3 + 4 + 5 + 6, 0, 0xffffffea, 0xfffffff9, -2147483648}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("out = %d, want %d", got, want)
			break
		}
	}
}
