package vm_test

import (
	"testing"

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
// second (insns/s) on benchLoop.
func BenchmarkLoop(b *testing.B) {
	p := compileUBPF(b, benchLoop)
	m := vm.NewMachine()
	var steps uint64
	for b.Loop() {
		if _, err := m.Run(p); err != nil {
			b.Fatal(err)
		}
		steps += m.Steps()
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "insns/s")
}
