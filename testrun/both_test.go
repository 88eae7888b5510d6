package testrun_test

import (
	"regexp"
	"testing"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/testrun"
)

// streamSrc leaves records in a ring buffer, a queue, a per-CPU array and
// a tc context: either a constant (both engines agree) or the clock
// (bpf_ktime_get_ns: the kernel's is never 0, the interpreter's is 0
// unless a Go caller sets vm.Env.Time), where they disagree although no
// want_* looks at it. ring_avail and queue_push see what earlier cases
// left in the ring buffer and the one-slot queue.
const streamSrc = `
events = bpf_map("events", "ringbuf", max_entries = 4096)
q = bpf_map("q", "queue", 0, 8, 1)
pc = bpf_map("pc", "percpu_array", 4, 8, 1)

def value(clock):
    if clock:
        return [insn.call("ktime_get_ns"), insn.stx_mem("dw", fp, r0, -8)]
    return [insn.st_mem("dw", fp, -8, 7)]

def ring(name, clock):
    section("xdp", name, value(clock) + [
        insn.ld_map_fd(r1, events),
        insn.mov64_reg(r2, fp),
        insn.alu64_imm("add", r2, -8),
        insn.mov64_imm(r3, 8),
        insn.mov64_imm(r4, 0),
        insn.call("ringbuf_output"),
        insn.ld_map_fd(r1, events),
        insn.mov64_imm(r2, 0),  # BPF_RB_AVAIL_DATA
        insn.call("ringbuf_query"),
        exit(),
    ])

def push(name, clock):
    section("xdp", name, value(clock) + [
        insn.ld_map_fd(r1, q),
        insn.mov64_reg(r2, fp),
        insn.alu64_imm("add", r2, -8),
        insn.mov64_imm(r3, 0),
        insn.call("map_push_elem"),
        exit(),
    ])

def percpu(name, clock):
    section("xdp", name, value(clock) + [
        insn.st_mem("w", fp, -12, 0),
        insn.ld_map_fd(r1, pc),
        insn.mov64_reg(r2, fp),
        insn.alu64_imm("add", r2, -12),
        insn.call("map_lookup_elem"),
        insn.jmp_imm("jeq", r0, 0, name + "_out"),
        insn.ldx_mem("dw", r1, fp, -8),
        insn.stx_mem("dw", r0, r1, 0),
        label(name + "_out"),
        insn.mov64_imm(r0, 2),
        exit(),
    ])

def mark(name, clock):
    section("tc", name, [insn.mov64_reg(r6, r1)] + value(clock) + [
        insn.ldx_mem("dw", r1, fp, -8),
        insn.stx_mem("w", r6, r1, 8),  # skb->mark
        insn.mov64_imm(r0, 0),
        exit(),
    ])

for name, make in [("ring", ring), ("push", push), ("percpu", percpu), ("mark", mark)]:
    make(name + "_const", False)
    make(name + "_clock", True)

license("GPL")

test("ring 1", "ring_const", data = udp4(), want_retval = 16)
test("ring 2", "ring_const", data = udp4(), want_retval = 16)
test("ring clock", "ring_clock", data = udp4())
test("push 1", "push_const", data = udp4(), want_retval = 0)
test("push 2", "push_const", data = udp4(), want_retval = 0)
test("push clock", "push_clock", data = udp4())
test("percpu", "percpu_const", data = udp4(), want_maps = {pc: {0: 7}})
test("percpu clock", "percpu_clock", data = udp4())
test("mark", "mark_const", data = udp4(), ctx = {"mark": 1}, want_ctx = {"mark": 7})
test("mark clock", "mark_clock", data = udp4(), ctx = {"mark": 1})
`

func runStreams(t *testing.T, e testrun.Engine) map[string]testrun.Result {
	t.Helper()
	u, err := starlib.Exec("s_test.star", []byte(streamSrc), starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := compile.Source("s_test.star", []byte(streamSrc), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := testrun.RunWith(obj, u.Tests, testrun.Options{Engine: e})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]testrun.Result{}
	for _, r := range rs {
		out[r.Case.Name] = r
	}
	return out
}

// TestCasesStartEmpty: every case starts with empty ring buffers and
// queues, in the kernel as in the interpreter (the second case would see
// the first case's record, 32 bytes in the ring and a full queue).
func TestCasesStartEmpty(t *testing.T) {
	for _, e := range []testrun.Engine{testrun.VM, testrun.Kernel} {
		t.Run(string(e), func(t *testing.T) {
			if e == testrun.Kernel {
				testenv.Root(t)
			}
			rs := runStreams(t, e)
			for _, name := range []string{"ring 1", "ring 2", "push 1", "push 2", "percpu", "mark"} {
				if r := rs[name]; r.Status != testrun.Pass {
					t.Errorf("%s: %v %s", name, r.Status, r.Msg)
				}
			}
		})
	}
}

// TestBothComparesEverything: under --engine both, the records of ring
// buffers and queues, per-CPU values and the context a run leaves are
// compared, although no want_* of the case looks at them.
func TestBothComparesEverything(t *testing.T) {
	testenv.Root(t)
	rs := runStreams(t, testrun.Both)
	want := map[string]string{
		"ring 1":       "",
		"ring 2":       "",
		"ring clock":   `^the kernel and the interpreter disagree: events: record 0 is [0-9a-f]{16} \(kernel\), 0000000000000000 \(vm\)$`,
		"push 1":       "",
		"push 2":       "",
		"push clock":   `^the kernel and the interpreter disagree: q: record 0 is [0-9a-f]{16} \(kernel\), 0000000000000000 \(vm\)$`,
		"percpu":       "",
		"percpu clock": `^the kernel and the interpreter disagree: pc\[00000000\] is [0-9a-f]{16} \(kernel\), 0000000000000000 \(vm\)$`,
		"mark":         "",
		"mark clock":   `^the kernel and the interpreter disagree: ctx differs at byte 8: got 00000000`,
	}
	for name, re := range want {
		r := rs[name]
		if re == "" {
			if r.Status != testrun.Pass {
				t.Errorf("%s: %v %s", name, r.Status, r.Msg)
			}
			continue
		}
		if r.Status != testrun.Fail || !regexp.MustCompile(re).MatchString(r.Msg) {
			t.Errorf("%s: %v %q, want FAIL %q", name, r.Status, r.Msg, re)
		}
	}
}

// TestUninitStack: a program that reads stack it never wrote (and does not
// depend on what it read) loads into a kernel as root, so under both the
// interpreter lets it read too; alone, the interpreter refuses the read,
// as an unprivileged kernel does.
func TestUninitStack(t *testing.T) {
	src := `
section("xdp", "uninit", [
    insn.ldx_mem("dw", r1, fp, -8),
    insn.mov64_imm(r0, 2),
    exit(),
])
license("GPL")
test("reads uninitialised stack", "uninit", data = udp4(), want_retval = "XDP_PASS")
`
	u, err := starlib.Exec("u_test.star", []byte(src), starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := compile.Source("u_test.star", []byte(src), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := testrun.RunWith(obj, u.Tests, testrun.Options{Engine: testrun.VM})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[0]; r.Status != testrun.Fail || !regexp.MustCompile(`^u_test.star:3:.*read of uninitialised stack`).MatchString(r.Msg) {
		t.Errorf("vm: %v %q", r.Status, r.Msg)
	}
	testenv.Root(t)
	rs, err = testrun.RunWith(obj, u.Tests, testrun.Options{Engine: testrun.Both})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[0]; r.Status != testrun.Pass || r.Engine != testrun.Both {
		t.Errorf("both: %v %v %q", r.Engine, r.Status, r.Msg)
	}
}
