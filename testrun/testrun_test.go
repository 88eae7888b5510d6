package testrun_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/testrun"
)

const src = `
stats = bpf_map("stats", "array", 4, 8, 2)
section("xdp", "count", [
    insn.st_mem("w", fp, -4, 0),
    insn.ld_map_fd(r1, stats),
    insn.mov64_reg(r2, fp),
    insn.alu64_imm("add", r2, -4),
    insn.call("map_lookup_elem"),
    insn.jmp_imm("jeq", r0, 0, "out"),
    insn.mov64_imm(r1, 1),
    insn.atomic_op("dw", "add", r0, r1, 0),
    label("out"),
    insn.mov64_imm(r0, 2),
    exit(),
])
section("xdp", "drop", [insn.mov64_imm(r0, 1), exit()])

# Raw tracepoint and syscall programs add one to stats[1]: the kernel runs
# them once per BPF_PROG_TEST_RUN (a repeat count is EINVAL), so repeat
# runs them that many times from user space.
def count1(symbol):
    return [
        insn.st_mem("w", fp, -4, 1),
        insn.ld_map_fd(r1, stats),
        insn.mov64_reg(r2, fp),
        insn.alu64_imm("add", r2, -4),
        insn.call("map_lookup_elem"),
        insn.jmp_imm("jeq", r0, 0, symbol + "_out"),
        insn.mov64_imm(r1, 1),
        insn.atomic_op("dw", "add", r0, r1, 0),
        label(symbol + "_out"),
        insn.mov64_imm(r0, 0),
        exit(),
    ]
section("raw_tp/sys_enter", "raw_count", count1("raw_count"))
section("syscall", "sys_count", count1("sys_count"))
section("cgroup/dev", "dev", [insn.mov64_imm(r0, 1), exit()])

# ip_csum returns the folded ones' complement sum of the IPv4 header of the
# packet, computed by the kernel's bpf_csum_diff: 0xffff when its checksum
# is right.
section("xdp", "ip_csum", [
    insn.ldx_mem("w", r2, r1, 0),
    insn.ldx_mem("w", r3, r1, 4),
    insn.mov64_reg(r4, r2),
    insn.alu64_imm("add", r4, 34),
    insn.jmp_reg("jgt", r4, r3, "short"),
    insn.mov64_reg(r3, r2),
    insn.alu64_imm("add", r3, 14),
    insn.mov64_imm(r1, 0),
    insn.mov64_imm(r2, 0),
    insn.mov64_imm(r4, 20),
    insn.mov64_imm(r5, 0),
    insn.call("csum_diff"),
    insn.mov64_reg(r1, r0),
    insn.alu64_imm("rsh", r1, 16),
    insn.alu64_imm("and", r0, 0xffff),
    insn.alu64_reg("add", r0, r1),
    insn.mov64_reg(r1, r0),
    insn.alu64_imm("rsh", r1, 16),
    insn.alu64_imm("and", r0, 0xffff),
    insn.alu64_reg("add", r0, r1),
    exit(),
    label("short"),
    insn.mov64_imm(r0, 0),
    exit(),
])
section("xdp", "ifindex", [insn.ldx_mem("w", r0, r1, 12), exit()])  # ctx->ingress_ifindex
section("tc", "mark", [insn.ldx_mem("w", r0, r1, 8), exit()])  # skb->mark
section("tc", "set_mark", [insn.mov64_imm(r2, 42), insn.stx_mem("w", r1, r2, 8), insn.mov64_imm(r0, 0), exit()])
license("GPL")

test("typed xdp ctx", "ifindex", data = udp4(), ctx = {"ingress_ifindex": 1}, want_retval = 1)
test("typed skb ctx", "mark", data = udp4(), ctx = {"mark": 7}, want_retval = 7)
test("ctx out", "set_mark", data = udp4(), ctx = {"mark": 7, "priority": 3}, want_ctx = {"mark": 42, "priority": 3})
test("ctx out, no ctx in", "set_mark", data = udp4(), want_ctx = {"mark": 42})
test("ctx out, wrong", "set_mark", data = udp4(), ctx = {"priority": 3}, want_ctx = {"priority": 4, "mark": 41})
test("xdp ctx out", "ifindex", data = udp4(), ctx = {"ingress_ifindex": 1}, want_ctx = {"ingress_ifindex": 1, "data": 0})
test("xdp ctx out, wrong", "ifindex", data = udp4(), ctx = {"ingress_ifindex": 1}, want_ctx = {"ingress_ifindex": 2})
test("ctx out, bytes", "set_mark", data = udp4(), want_ctx = b"\x00" * 8 + b"\x2a\x00\x00\x00")
test("ctx out, wrong bytes", "set_mark", data = udp4(), want_ctx = b"\x00" * 8 + b"\x2b\x00\x00\x00")
test("counts", "count", data = udp4(), want_retval = "XDP_PASS", want_maps = {stats: {0: 1, 1: 0}})
test("counts from zero again", "count", data = udp4(), want_maps = {stats: {0: 1}})
test("counts from a preset", "count", data = udp4(), maps = {stats: {0: 41}}, want_maps = {stats: {0: 42}}, repeat = 1)
test("raw_tp repeats", "raw_count", repeat = 3, want_retval = 0, want_maps = {stats: {1: 3}})
test("syscall repeats", "sys_count", repeat = 4, want_maps = {stats: {1: 4}})
test("wrong retval", "drop", data = udp4(), want_retval = "XDP_PASS")
test("wrong data", "drop", data = eth(), want_data = eth(type = 0x86dd))
test("wrong map", "count", data = eth(), want_maps = {stats: {0: 5}})
test("not runnable", "dev", ctx = b"\x00" * 12, want_retval = 1)
test("ipv4 checksum", "ip_csum", data = udp4(src = "192.0.2.1", dst = "198.51.100.77", payload = b"abc"), want_retval = 0xffff)
test("tcp4 checksum", "ip_csum", data = tcp4(ttl = 3, id = 4242), want_retval = 0xffff)
test("ipv4 checksum, df", "ip_csum", data = eth(payload = ipv4(df = True, tos = 4, proto = 1, payload = b"x" * 99)), want_retval = 0xffff)
test("bad checksum", "ip_csum", data = eth(payload = b"\x45" + b"\x00" * 19), want_retval = 0xffff)
`

// buildUnit compiles the Starlark file src (named file in errors) into an
// object and returns it with the file's test() cases.
func buildUnit(t *testing.T, file, src string) ([]byte, []starlib.TestCase) {
	t.Helper()
	u, err := starlib.Exec(file, []byte(src), starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := compile.Source(file, []byte(src), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return obj, u.Tests
}

// runWith runs tests against obj with testrun.RunWith and opts.
func runWith(t *testing.T, obj []byte, tests []starlib.TestCase, opts testrun.Options) []testrun.Result {
	t.Helper()
	rs, err := testrun.RunWith(obj, tests, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestRun(t *testing.T) {
	testenv.Root(t)
	obj, tests := buildUnit(t, "t_test.star", src)
	rs, err := testrun.Run(obj, tests)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		st  testrun.Status
		msg string
	}{
		"typed xdp ctx":          {testrun.Pass, ""},
		"typed skb ctx":          {testrun.Pass, ""},
		"ctx out":                {testrun.Pass, ""},
		"ctx out, no ctx in":     {testrun.Pass, ""},
		"ctx out, wrong":         {testrun.Fail, "ctx.priority is 3, want 4; ctx.mark is 42, want 41"},
		"xdp ctx out":            {testrun.Pass, ""},
		"xdp ctx out, wrong":     {testrun.Fail, "ctx.ingress_ifindex is 1, want 2"},
		"ctx out, bytes":         {testrun.Pass, ""},
		"ctx out, wrong bytes":   {testrun.Fail, "ctx differs at byte 8: got 2a000000, want 2b000000"},
		"counts":                 {testrun.Pass, ""},
		"counts from zero again": {testrun.Pass, ""},
		"counts from a preset":   {testrun.Pass, ""},
		"raw_tp repeats":         {testrun.Pass, ""},
		"syscall repeats":        {testrun.Pass, ""},
		"wrong retval":           {testrun.Fail, "retval XDP_DROP (1), want XDP_PASS (2)"},
		"wrong data":             {testrun.Fail, "data differs at byte 12: got 0800, want 86dd"},
		"wrong map":              {testrun.Fail, "stats[00000000] is 0100000000000000, want 0500000000000000"},
		"not runnable":           {testrun.Skip, "not run: this kernel cannot test-run CGroupDevice programs (section cgroup/dev)"},
		"ipv4 checksum":          {testrun.Pass, ""},
		"tcp4 checksum":          {testrun.Pass, ""},
		"ipv4 checksum, df":      {testrun.Pass, ""},
		"bad checksum":           {testrun.Fail, "retval 69, want 65535"},
	}
	if len(rs) != len(want) {
		t.Fatalf("%d results, want %d", len(rs), len(want))
	}
	for _, r := range rs {
		w := want[r.Case.Name]
		if r.Status != w.st || !strings.HasPrefix(r.Msg, w.msg) || (w.msg == "" && r.Msg != "") {
			t.Errorf("%s: %v %q, want %v %q", r.Case.Name, r.Status, r.Msg, w.st, w.msg)
		}
	}
}

// TestRestorePerCPUAndLRU: per-CPU and LRU hash maps are put back between
// cases too. The per-CPU counter program returns its counter after adding
// one: with one case more than there are possible CPUs, two cases run on
// the same CPU, and the later one would return 2 if its counter leaked.
// The LRU program inserts a key that must not exist (BPF_NOEXIST): the
// second case would get -EEXIST if the first case's key stayed.
func TestRestorePerCPUAndLRU(t *testing.T) {
	testenv.Root(t)
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	src := `
pc = bpf_map("pc", "percpu_array", 4, 8, 1)
seen = bpf_map("seen", "lru_hash", 4, 8, 16)
section("xdp", "per_cpu", [
    insn.st_mem("w", fp, -4, 0),
    insn.ld_map_fd(r1, pc),
    insn.mov64_reg(r2, fp),
    insn.alu64_imm("add", r2, -4),
    insn.call("map_lookup_elem"),
    insn.jmp_imm("jeq", r0, 0, "out"),
    insn.ldx_mem("dw", r1, r0, 0),
    insn.alu64_imm("add", r1, 1),
    insn.stx_mem("dw", r0, r1, 0),
    insn.mov64_reg(r0, r1),
    exit(),
    label("out"),
    insn.mov64_imm(r0, 0),
    exit(),
])
section("xdp", "lru", [
    insn.st_mem("w", fp, -4, 7),
    insn.st_mem("dw", fp, -16, 1),
    insn.ld_map_fd(r1, seen),
    insn.mov64_reg(r2, fp),
    insn.alu64_imm("add", r2, -4),
    insn.mov64_reg(r3, fp),
    insn.alu64_imm("add", r3, -16),
    insn.mov64_imm(r4, 1),  # BPF_NOEXIST
    insn.call("map_update_elem"),
    exit(),
])
license("GPL")
`
	n := cpus + 1
	for i := range n {
		src += fmt.Sprintf("test(\"per-cpu %d\", \"per_cpu\", data = udp4(), want_retval = 1)\n", i)
		src += fmt.Sprintf("test(\"lru %d\", \"lru\", data = udp4(), want_retval = 0, want_maps = {seen: {7: 1}})\n", i)
	}
	// maps sets a per-CPU value on every CPU; want_maps checks the value
	// of the CPU the run was on.
	src += `test("per-cpu preset", "per_cpu", data = udp4(), maps = {pc: {0: 41}}, want_retval = 42, want_maps = {pc: {0: 42}})
test("per-cpu wrong", "per_cpu", data = udp4(), want_maps = {pc: {0: 2}})
`
	obj, tests := buildUnit(t, "p_test.star", src)
	rs, err := testrun.Run(obj, tests)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2*n+2 {
		t.Fatalf("%d results, want %d", len(rs), 2*n+2)
	}
	wrong := regexp.MustCompile(`^pc\[00000000\] on CPU \d+ is 0100000000000000, want 0200000000000000$`)
	for _, r := range rs {
		if r.Case.Name == "per-cpu wrong" {
			if r.Status != testrun.Fail || !wrong.MatchString(r.Msg) {
				t.Errorf("%s: %v %q, want FAIL %q", r.Case.Name, r.Status, r.Msg, wrong)
			}
			continue
		}
		if r.Status != testrun.Pass {
			t.Errorf("%s: %v %s", r.Case.Name, r.Status, r.Msg)
		}
	}
}
