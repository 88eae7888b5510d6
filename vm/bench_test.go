package vm_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/bpfstar/bpfstar/vm"
)

// benchLoop is an ALU- and branch-heavy loop (a hash of a counter): 10
// instructions per iteration, 1e6 iterations.
const benchLoop = `mov %r0, 0
mov %r1, 0
mov %r2, 0x9e3779b9
loop:
add %r0, %r1
mul %r0, %r2
mov %r3, %r0
rsh %r3, 29
xor %r0, %r3
and32 %r3, 7
jeq %r3, 3, skip
add %r0, 1
skip:
add %r1, 1
jlt %r1, 1000000, loop
exit`

// BenchmarkLoop reports the interpreter's speed in instructions per
// second on benchLoop: per second of wall time (insns/s) and per second
// of the process's CPU time (insns/cpu-s), which other load on the
// machine disturbs less.
func BenchmarkLoop(b *testing.B) {
	p := compileUBPF(b, benchLoop)
	m := vm.NewMachine()
	var steps uint64
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := m.Run(p); err != nil {
			b.Fatal(err)
		}
		steps += m.Steps()
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "insns/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(steps)/cpu.Seconds(), "insns/cpu-s")
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
