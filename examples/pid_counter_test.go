package examples_test

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// pid_counter.star counts its runs under the PID of the process it runs
// in: BPF_PROG_TEST_RUN runs a raw tracepoint program in the calling
// thread, whose thread group id is this test's PID. The first run
// inserts 1, the next ones add to it, and a count set before goes up.
func TestPIDCounterCounts(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "pid_counter.star"))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	prog, counts := coll.Programs["pid_counter"], coll.Maps["counts"]
	pid := uint32(os.Getpid())
	check := func(want uint64) {
		t.Helper()
		var got uint64
		if err := counts.Lookup(pid, &got); err != nil {
			t.Fatalf("counts[%d]: %v", pid, err)
		}
		if got != want {
			t.Errorf("counts[%d] = %d, want %d", pid, got, want)
		}
	}
	for i := 1; i <= 3; i++ {
		ret, err := prog.Run(&ebpf.RunOptions{})
		if err != nil {
			t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
		}
		if ret != 0 {
			t.Errorf("pid_counter returned %d, want 0", ret)
		}
		check(uint64(i))
	}
	if err := counts.Put(pid, uint64(40)); err != nil {
		t.Fatal(err)
	}
	if _, err := prog.Run(&ebpf.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	check(41)
	var key uint32
	var n uint64
	entries, it := 0, counts.Iterate()
	for it.Next(&key, &n) {
		entries++
	}
	if err := it.Err(); err != nil || entries != 1 {
		t.Errorf("counts has %d entries (%v), want 1: only this process ran the program", entries, err)
	}
}
