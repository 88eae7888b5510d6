package bench

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/testrun"
)

// testCases is how many test() cases TestRunnerSpeed runs.
const testCases = 1000

// counterProgram is an XDP program that counts packets and bytes in an
// array map and drops UDP to port 53, with testCases test() cases: a mix of
// packets, each checking the return value and the counters.
func counterProgram() []byte {
	var b strings.Builder
	b.WriteString(`stats = bpf_map("stats", "array", 4, 8, 2)

section("xdp", "count", [
    insn.ldx_mem("w", r2, r1, 0),   # data
    insn.ldx_mem("w", r3, r1, 4),   # data_end
    insn.mov64_reg(r6, r3),
    insn.alu64_reg("sub", r6, r2),  # length
    insn.mov64_reg(r7, r2),
    insn.mov64_reg(r8, r3),
    insn.st_mem("w", fp, -4, 0),
    insn.mov64_reg(r2, fp),
    insn.alu64_imm("add", r2, -4),
    insn.ld_map_fd(r1, stats),
    insn.call("map_lookup_elem"),
    insn.jmp_imm("jeq", r0, 0, "pass"),
    insn.mov64_imm(r1, 1),
    insn.atomic_op("dw", "add", r0, r1, 0),
    insn.st_mem("w", fp, -4, 1),
    insn.mov64_reg(r2, fp),
    insn.alu64_imm("add", r2, -4),
    insn.ld_map_fd(r1, stats),
    insn.call("map_lookup_elem"),
    insn.jmp_imm("jeq", r0, 0, "pass"),
    insn.atomic_op("dw", "add", r0, r6, 0),
    # UDP to port 53 (eth 14 + ipv4 20 + udp dst port at 2): drop
    insn.mov64_reg(r2, r7),
    insn.alu64_imm("add", r2, 38),
    insn.jmp_reg("jgt", r2, r8, "pass"),
    insn.ldx_mem("b", r3, r7, 23),  # ip protocol
    insn.jmp_imm("jne", r3, 17, "pass"),
    insn.ldx_mem("h", r3, r7, 36),  # udp dst port, network order
    insn.jmp_imm("jne", r3, 0x3500, "pass"),
    insn.mov64_imm(r0, 1),          # XDP_DROP
    exit(),
    label("pass"),
    insn.mov64_imm(r0, 2),          # XDP_PASS
    exit(),
])
license("GPL")
`)
	for i := 0; i < testCases; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "test(\"dns %d\", \"count\", data = udp4(dst_port = 53), want_retval = \"XDP_DROP\", want_maps = {stats: {0: 1, 1: 42}})\n", i)
		case 1:
			fmt.Fprintf(&b, "test(\"udp %d\", \"count\", data = udp4(dst_port = %d), want_retval = \"XDP_PASS\", want_maps = {stats: {0: 1, 1: 42}})\n", i, 1000+i)
		default:
			fmt.Fprintf(&b, "test(\"tcp %d\", \"count\", data = tcp4(), want_retval = \"XDP_PASS\", want_maps = {stats: {0: 1, 1: 54}})\n", i)
		}
	}
	return []byte(b.String())
}

// TestRunnerSpeed measures each side speedAttempts times, and up to
// maxSpeedAttempts while the fastest runs still compare past the goal: on
// a loaded machine (make test runs two packages' tests at once here) a
// side can go seven rounds without a quiet moment.
const (
	speedAttempts    = 7
	maxSpeedAttempts = 35
)

// TestRunnerSpeed runs testCases cases of one XDP program through the
// test runner (testrun.Run, what `bpfstar test` runs), and the same runs
// made by a hand-written loop over cilium/ebpf (load once; per case: reset
// the counters, run, read them back), both loading included, and logs
// both; the figures are in docs/perf.md. The goals are at most 1 s
// for all the cases and at most 1.2 times the hand-written loop's cost per
// case. The machine is noisy (other jobs, two CPUs): the two sides are
// measured speedAttempts times (more, up to maxSpeedAttempts, while they
// compare past the goal), interleaved, and the fastest of each is
// compared, noise only ever adding time.
func TestRunnerSpeed(t *testing.T) {
	testenv.Root(t)
	im, u, err := compile.Image("speed.star", counterProgram(), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := im.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Tests) != testCases {
		t.Fatalf("%d cases, want %d", len(u.Tests), testCases)
	}

	runner, hand := time.Duration(1<<62), time.Duration(1<<62)
	var load time.Duration
	attempts := 0
	for ; attempts < speedAttempts || attempts < maxSpeedAttempts && float64(runner) > 1.2*float64(hand); attempts++ {
		start := time.Now()
		results, err := testrun.Run(obj, u.Tests)
		d := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if r.Status != testrun.Pass {
				t.Fatalf("%s: %v %s", r.Case.Name, r.Status, r.Msg)
			}
		}
		runner = min(runner, d)

		start = time.Now()
		runs := handWritten(t, obj, u.Tests)
		if d := time.Since(start); d < hand {
			hand, load = d, d-runs
		}
	}
	ratio := float64(runner) / float64(hand)
	t.Logf("%d cases, fastest of %d: runner %v (%.1f us a case), hand-written cilium/ebpf loop %v (%.1f us a case, %v of it loading), ratio %.2f",
		testCases, attempts, runner, float64(runner.Microseconds())/testCases, hand, float64(hand.Microseconds())/testCases, load, ratio)
	if runner > time.Second {
		t.Errorf("%d cases took %v, want at most 1 s", testCases, runner)
	}
	if ratio > 1.2 {
		t.Errorf("the runner costs %.2f times the hand-written loop, want at most 1.2", ratio)
	}
}

// handWritten loads obj with cilium/ebpf and makes the runs of cases as a
// program written for them would: reset the counters, run, compare the
// return value and the counters. It returns the time the runs took,
// loading apart.
func handWritten(t *testing.T, obj []byte, cases []starlib.TestCase) time.Duration {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	prog, stats := coll.Programs["count"], coll.Maps["stats"]
	start := time.Now()
	zero := make([]byte, 8)
	for _, c := range cases {
		for k := uint32(0); k < 2; k++ {
			if err := stats.Put(k, zero); err != nil {
				t.Fatal(err)
			}
		}
		ret, err := prog.Run(&ebpf.RunOptions{Data: c.Data})
		if err != nil {
			t.Fatal(err)
		}
		if ret != c.WantRetval {
			t.Fatalf("%s: retval %d, want %d", c.Name, ret, c.WantRetval)
		}
		for _, m := range c.WantMaps {
			var v []byte
			if err := stats.Lookup(m.Key, &v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(v, m.Value) {
				t.Fatalf("%s: %x = %x, want %x (%d)", c.Name, m.Key, v, m.Value, binary.LittleEndian.Uint64(m.Value))
			}
		}
	}
	return time.Since(start)
}
