package testrun_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
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
	obj, tests := buildUnit(t, "s_test.star", streamSrc)
	rs := runWith(t, obj, tests, testrun.Options{Engine: e})
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
	obj, tests := buildUnit(t, "u_test.star", src)
	rs := runWith(t, obj, tests, testrun.Options{Engine: testrun.VM})
	if r := rs[0]; r.Status != testrun.Fail || !regexp.MustCompile(`^u_test.star:3:.*read of uninitialised stack`).MatchString(r.Msg) {
		t.Errorf("vm: %v %q", r.Status, r.Msg)
	}
	testenv.Root(t)
	rs = runWith(t, obj, tests, testrun.Options{Engine: testrun.Both})
	if r := rs[0]; r.Status != testrun.Pass || r.Engine != testrun.Both {
		t.Errorf("both: %v %v %q", r.Engine, r.Status, r.Msg)
	}
}

// helperSrc calls bpf_perf_event_output (with packet bytes appended, from
// XDP and tc; with flags a raw tracepoint may not give) and
// bpf_skb_load_bytes_relative (from the Ethernet and the network header,
// and from a header that does not exist) in every skb program type.
const helperSrc = `
pe = bpf_map("pe", "perf_event_array", 4, 4, 0)
res = bpf_map("res", "array", 4, 24, 1)
BPF_F_CURRENT_CPU = 0xffffffff

def perf(name, sec, flags, clock = False):
    value = [insn.st_mem("dw", fp, -8, 0x22334455)]
    if clock:
        value = [insn.mov64_reg(r6, r1), insn.call("ktime_get_ns"), insn.stx_mem("dw", fp, r0, -8), insn.mov64_reg(r1, r6)]
    section(sec, name, value + [
        insn.ld_map_fd(r2, pe),
        insn.ld_imm64(r3, flags),
        insn.mov64_reg(r4, fp),
        insn.alu64_imm("add", r4, -8),
        insn.mov64_imm(r5, 5),
        insn.call("perf_event_output"),
        exit(),
    ])

perf("perf_xdp", "xdp", BPF_F_CURRENT_CPU | 14 << 32)
perf("perf_tc", "tc", BPF_F_CURRENT_CPU | 20 << 32)
perf("perf_tc_long", "tc", BPF_F_CURRENT_CPU | 2000 << 32)
perf("perf_raw_tp", "raw_tp/sys_enter", BPF_F_CURRENT_CPU)
perf("perf_raw_tp_ctxlen", "raw_tp/sys_enter", BPF_F_CURRENT_CPU | 1 << 32)
perf("perf_clock", "xdp", BPF_F_CURRENT_CPU, clock = True)

def loadrel(header, off, n, slot):
    return [
        insn.mov64_reg(r1, r6),
        insn.mov64_imm(r2, off),
        insn.mov64_reg(r3, r9),
        insn.alu64_imm("add", r3, 8 * slot),
        insn.mov64_imm(r4, n),
        insn.mov64_imm(r5, header),
        insn.call("skb_load_bytes_relative"),
    ]

def relative(name, sec):
    section(sec, name, [
        insn.mov64_reg(r6, r1),
        insn.st_mem("w", fp, -4, 0),
        insn.ld_map_fd(r1, res),
        insn.mov64_reg(r2, fp),
        insn.alu64_imm("add", r2, -4),
        insn.call("map_lookup_elem"),
        insn.jmp_imm("jeq", r0, 0, name + "_out"),
        insn.mov64_reg(r9, r0),
    ] +
        loadrel(0, 12, 2, 0) +   # BPF_HDR_START_MAC: the EtherType
        loadrel(1, 9, 1, 1) +    # BPF_HDR_START_NET: the IP protocol
        loadrel(2, 0, 1, 2) + [  # no such header: -EFAULT
        insn.stx_mem("dw", r9, r0, 16),
        label(name + "_out"),
        insn.mov64_imm(r0, 1),
        exit(),
    ])

relative("rel_tc", "tc")
relative("rel_sock", "socket")
relative("rel_cgroup", "cgroup_skb/ingress")
license("GPL")

test("perf xdp", "perf_xdp", data = udp4(), want_retval = 0)
test("perf tc", "perf_tc", data = udp4(), want_retval = 0)
test("perf tc, past the packet", "perf_tc_long", data = udp4(), want_retval = -14 & 0xffffffff)
test("perf raw_tp", "perf_raw_tp", ctx = b"\0" * 16, want_retval = 0)
test("perf raw_tp, ctxlen", "perf_raw_tp_ctxlen", ctx = b"\0" * 16, want_retval = -22 & 0xffffffff)
test("perf clock", "perf_clock", data = udp4(), want_retval = 0)
REL = {res: {0: b"\x08\x00" + b"\0" * 6 + b"\x11" + b"\0" * 7 + b"\xf2" + b"\xff" * 7}}
test("relative tc", "rel_tc", data = udp4(), want_maps = REL)
test("relative socket", "rel_sock", data = udp4(), want_maps = REL)
test("relative cgroup_skb", "rel_cgroup", data = udp4(), want_maps = REL)
`

// TestHelpersAgree: bpf_perf_event_output's samples and
// bpf_skb_load_bytes_relative's bytes and errors are the kernel's, in each
// engine, and under both the samples are compared.
func TestHelpersAgree(t *testing.T) {
	obj, tests := buildUnit(t, "h_test.star", helperSrc)
	for _, e := range []testrun.Engine{testrun.VM, testrun.Both} {
		t.Run(string(e), func(t *testing.T) {
			if e == testrun.Both {
				testenv.Root(t)
			}
			rs := runWith(t, obj, tests, testrun.Options{Engine: e})
			for _, r := range rs {
				want := "^$"
				if r.Case.Name == "perf clock" && e == testrun.Both {
					want = `^the kernel and the interpreter disagree: pe: record 0 is [0-9a-f]{10}0{14} \(kernel\), 0{24} \(vm\)$`
				}
				if !regexp.MustCompile(want).MatchString(r.Msg) || (want == "^$") != (r.Status == testrun.Pass) {
					t.Errorf("%s: %v %q, want %q", r.Case.Name, r.Status, r.Msg, want)
				}
			}
		})
	}
}

// iterSrc runs the numeric iterator kfuncs (bpf_for(i, 3, 7), a range
// that ends before it starts, one too long, one from INT_MIN) and leaves
// what they returned in .bss.
const iterSrc = `
it = types.struct("bpf_iter_num", [("__opaque", types.array(types.u64, 1))])
itp = types.ptr(it)
new = types.func(types.s32, [itp, types.s32, types.s32])
next = types.func(types.ptr(types.s32), [itp])
destroy = types.func(types.void, [itp])
out = bss("out", type = types.array(types.s64, 5))

def at(slot):
    return [insn.mov64_reg(r1, fp), insn.alu64_imm("add", r1, -8 * slot)]

def iter_new(slot, start, end):
    return at(slot) + [insn.mov64_imm(r2, start), insn.mov64_imm(r3, end), insn.call_kfunc("bpf_iter_num_new", new)]

def iter_next(slot):
    return at(slot) + [insn.call_kfunc("bpf_iter_num_next", next)]

def iter_destroy(slot):
    return at(slot) + [insn.call_kfunc("bpf_iter_num_destroy", destroy)]

section("syscall", "iter", [insn.ld_map_value(r9, out), insn.mov64_imm(r6, 0)] +
    iter_new(1, 3, 7) + [label("loop")] + iter_next(1) + [
    insn.jmp_imm("jeq", r0, 0, "done"),
    insn.ldx_mem("w", r1, r0, 0),
    insn.alu64_reg("add", r6, r1),
    insn.ja("loop"),
    label("done"),
    insn.stx_mem("dw", r9, r6, 0),
    ] + iter_next(1) + [
    insn.stx_mem("dw", r9, r0, 8),
    ] + iter_destroy(1) + iter_new(2, 5, 1) + [
    insn.stx_mem("dw", r9, r0, 16),
    ] + iter_destroy(2) + iter_new(3, 0, 8388609) + [
    insn.stx_mem("dw", r9, r0, 24),
    ] + iter_destroy(3) + iter_new(4, -2147483648, -2147483647) + iter_next(4) + [
    insn.jmp_imm("jeq", r0, 0, "none"),
    insn.ldx_mem("w", r1, r0, 0),
    insn.movsx64_reg(r1, r1, 32),
    insn.stx_mem("dw", r9, r1, 32),
    label("none"),
    ] + iter_destroy(4) + [
    insn.mov64_imm(r0, 0),
    exit(),
])
license("GPL")
test("iterators", "iter", ctx = b"\0" * 8, want_retval = 0)
`

// TestIterNumAgrees: the interpreter's bpf_iter_num_* are the kernel's
// (under both, .bss is compared: the sum, the errors as zero-extended
// ints, INT_MIN after the wrap of start-1).
func TestIterNumAgrees(t *testing.T) {
	testenv.Root(t)
	obj, tests := buildUnit(t, "i_test.star", iterSrc)
	rs := runWith(t, obj, tests, testrun.Options{Engine: testrun.Both})
	if r := rs[0]; r.Status != testrun.Pass || r.Engine != testrun.Both {
		t.Errorf("%v %v %s", r.Engine, r.Status, r.Msg)
	}
}

// xdpLinearSrc: on Linux 6.18 an XDP test run given an xdp_md (or asked
// for one back, which makes the kernel start from a zero one) takes its
// data_end as the length of the packet's linear part; the rest of the
// data goes into fragments, out of reach of direct packet access, and
// comes back in data_out. len returns data_end - data.
const xdpLinearSrc = `
section("xdp", "len", [
    insn.ldx_mem("w", r2, r1, 0),
    insn.ldx_mem("w", r3, r1, 4),
    insn.mov64_reg(r0, r3),
    insn.alu64_reg("sub", r0, r2),
    exit(),
])
license("GPL")
test("no ctx", "len", data = udp4(), want_retval = 42)
test("ctx without data_end", "len", data = udp4(), ctx = {"ingress_ifindex": 1}, want_retval = 0, want_data = udp4())
test("ctx with data_end 20", "len", data = udp4(), ctx = {"data_end": 20}, want_retval = 20, want_data = udp4(),
     want_ctx = {"data": 0, "data_end": 20, "ingress_ifindex": 0})
test("ctx with data_end 42", "len", data = udp4(), ctx = {"data_end": 42}, want_retval = 42)
test("want_ctx alone", "len", data = udp4(), want_ctx = {"data_end": 0, "ingress_ifindex": 0}, want_retval = 0)
`

// TestXDPLinear: the interpreter takes an xdp_md's data_end as the kernel
// does, and both engines agree on every case of TestRun's file too.
func TestXDPLinear(t *testing.T) {
	for _, s := range []struct{ name, src string }{{"xdp", xdpLinearSrc}, {"run", src}} {
		obj, tests := buildUnit(t, "x_test.star", s.src)
		engines := []testrun.Engine{testrun.VM}
		if s.name == "run" {
			engines = nil // its cases are TestRun's, for the kernel
		}
		for _, e := range append(engines, testrun.Both) {
			if e == testrun.Both {
				testenv.Root(t)
			}
			rs := runWith(t, obj, tests, testrun.Options{Engine: e})
			for _, r := range rs {
				if s.name == "xdp" && r.Status != testrun.Pass || strings.Contains(r.Msg, "disagree") {
					t.Errorf("%s, %s: %s: %v %s", s.name, e, r.Case.Name, r.Status, r.Msg)
				}
			}
		}
	}
}

// xdpBytesSrc reads and writes an XDP packet of 42 bytes whose linear
// part is 20 (the rest fragments) through bpf_xdp_get_buff_len,
// bpf_xdp_load_bytes (across the fragment boundary, in the fragments,
// past the end) and bpf_xdp_store_bytes (the UDP destination port, in
// the fragments), and leaves the results in res.
const xdpBytesSrc = `
res = bpf_map("res", "array", 4, 48, 1)

def call_bytes(helper, off, n, slot):
    return [
        insn.mov64_reg(r1, r6),
        insn.mov64_imm(r2, off),
        insn.mov64_reg(r3, r7),
        insn.alu64_imm("add", r3, 8 * slot),
        insn.mov64_imm(r4, n),
        insn.call(helper),
        insn.mov64_reg(r8, r0),
    ]

section("xdp", "bytes", [
    insn.mov64_reg(r6, r1),
    insn.st_mem("w", fp, -4, 0),
    insn.ld_map_fd(r1, res),
    insn.mov64_reg(r2, fp),
    insn.alu64_imm("add", r2, -4),
    insn.call("map_lookup_elem"),
    insn.jmp_imm("jeq", r0, 0, "out"),
    insn.mov64_reg(r7, r0),
    insn.mov64_reg(r1, r6),
    insn.call("xdp_get_buff_len"),
    insn.stx_mem("dw", r7, r0, 0),
] + call_bytes("xdp_load_bytes", 18, 4, 1) + [
    insn.stx_mem("w", r7, r8, 24),
] + call_bytes("xdp_load_bytes", 26, 8, 2) + [
    insn.stx_mem("w", r7, r8, 28),
] + call_bytes("xdp_load_bytes", 40, 4, 5) + [
    insn.stx_mem("w", r7, r8, 44),
    insn.st_mem("h", r7, 32, 0x3412),
] + call_bytes("xdp_store_bytes", 36, 2, 4) + [  # writes res[32:34] to the port
    insn.stx_mem("w", r7, r8, 36),
    label("out"),
    insn.mov64_imm(r0, 2),
    exit(),
])
license("GPL")
PKT = udp4()
Z4 = b"\0" * 4
RES = b"\x2a" + b"\0" * 7 + PKT[18:22] + Z4 + PKT[26:34] + Z4 + Z4 + b"\x12\x34\0\0" + Z4 + Z4 + b"\xea\xff\xff\xff"
test("bytes", "bytes", data = PKT, ctx = {"data_end": 20},
     want_data = PKT[:36] + b"\x12\x34" + PKT[38:], want_retval = "XDP_PASS", want_maps = {res: {0: RES}})
`

// TestXDPBytes: the interpreter's bpf_xdp_get_buff_len, _load_bytes and
// _store_bytes reach a packet's fragments as the kernel's do (both
// compares res and the output packet).
func TestXDPBytes(t *testing.T) {
	obj, tests := buildUnit(t, "b_test.star", xdpBytesSrc)
	for _, e := range []testrun.Engine{testrun.VM, testrun.Both} {
		if e == testrun.Both {
			testenv.Root(t)
		}
		rs := runWith(t, obj, tests, testrun.Options{Engine: e, Trace: true})
		if r := rs[0]; r.Status != testrun.Pass {
			t.Errorf("%s: %v %s", e, r.Status, r.Msg)
		}
	}
}
