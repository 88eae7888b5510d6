package vm_test

import (
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/cilium/ebpf"
)

// TestCornersAgainstKernel runs the corners of the ISA where machines
// differ through BPF_PROG_TEST_RUN and the interpreter, which must agree
// (r0's halves xored into the 32-bit return value): signed division and
// modulo of the most negative number by -1 and by 0, in 32 and 64 bits
// and with garbage in the upper half of 32-bit operands; byte swaps and
// sign-extending moves of every width; arithmetic shifts by amounts past
// the width; 32-bit atomics, whose fetched values and cmpxchg's r0 are
// zero-extended. The random programs of TestDifferential rarely reach
// these values.
func TestCornersAgainstKernel(t *testing.T) {
	testenv.Root(t)
	mac := []byte{2, 0, 0, 0, 0, 2}
	fold := "\nmov %r1, %r0\nrsh %r1, 32\nxor %r0, %r1\nexit"
	for _, s := range []string{
		"lddw %r0, 0x8000000000000000\nmov %r2, -1\nsdiv %r0, %r2",
		"lddw %r0, 0x8000000000000000\nsdiv %r0, -1",
		"lddw %r0, 0x8000000000000000\nmov %r2, -1\nsmod %r0, %r2",
		"lddw %r0, 0x8000000000000000\nsmod %r0, -1",
		"lddw %r0, 0x1280000000\nmov %r2, -1\nsdiv32 %r0, %r2",
		"lddw %r0, 0x1280000000\nsdiv32 %r0, -1",
		"lddw %r0, 0x1280000000\nmov %r2, -1\nsmod32 %r0, %r2",
		"lddw %r0, 0x1280000000\nsmod32 %r0, -1",
		"lddw %r0, 0x12fffffff9\nmov %r2, 0\nsmod32 %r0, %r2",
		"lddw %r0, 0x12fffffff9\nmov %r2, 0\nsdiv32 %r0, %r2",
		"lddw %r0, -7\nmov %r2, 0\nsmod %r0, %r2",
		"lddw %r0, -7\nlddw %r2, 0x100000000\nsmod32 %r0, %r2",
		"lddw %r0, -7\nlddw %r2, 0x100000000\nmod32 %r0, %r2",
		"lddw %r0, -7\nlddw %r2, 0x1ffffffff\nsdiv32 %r0, %r2",
		"lddw %r0, -7\nsmod %r0, -2",
		"lddw %r0, 7\nsmod %r0, -2",
		"lddw %r0, -7\nsdiv %r0, 2",
		"lddw %r0, 0x12345678abcdef01\nbe16 %r0",
		"lddw %r0, 0x12345678abcdef01\nbe32 %r0",
		"lddw %r0, 0x12345678abcdef01\nle16 %r0",
		"lddw %r0, 0x12345678abcdef01\nle32 %r0",
		"lddw %r0, 0x12345678abcdef01\nbswap16 %r0",
		"lddw %r0, 0x12345678abcdef01\nbswap32 %r0",
		"lddw %r0, 0x12345678abcdef01\nbswap64 %r0",
		"lddw %r0, 0x12345678abcdef81\nmovsx864 %r0, %r0",
		"lddw %r0, 0x12345678abcd8f81\nmovsx1664 %r0, %r0",
		"lddw %r0, 0x12345678abcd8f81\nmovsx3264 %r0, %r0",
		"lddw %r0, 0x12345678abcdef81\nmovsx832 %r0, %r0",
		"lddw %r0, 0x12345678abcd8f81\nmovsx1632 %r0, %r0",
		"lddw %r0, -1\nmov %r2, 65\narsh32 %r0, %r2",
		"lddw %r0, 0x80000000\nmov %r2, 33\narsh32 %r0, %r2",
		"lddw %r0, 0x8000000000000000\nmov %r2, 127\narsh %r0, %r2",
		"lddw %r0, 0x12345678\nneg32 %r0",
		"lddw %r0, -1\nstdw [%r10-8], 5\nlddw %r2, 0xffffffff00000005\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nldxdw %r1, [%r10-8]\nadd %r0, %r1",
		"lddw %r0, 0x100000005\nstdw [%r10-8], 5\nmov %r1, 9\nlock cmpxchg32 [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 8\nadd %r0, %r1",
		"lddw %r0, 0x100000005\nstdw [%r10-8], 5\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 8\nadd %r0, %r1",
		"stdw [%r10-8], -1\nlddw %r1, 0x100000001\nlock fetch add32 [%r10-8], %r1\nmov %r0, %r1\nldxdw %r1, [%r10-8]\nxor %r0, %r1",
		"stdw [%r10-8], -1\nlddw %r1, 0x100000001\nlock xchg32 [%r10-8], %r1\nmov %r0, %r1\nldxdw %r1, [%r10-8]\nxor %r0, %r1",
	} {
		t.Run(s, func(t *testing.T) {
			code, err := parseUBPF(s + fold)
			if err != nil {
				t.Fatal(err)
			}
			agree(t, ebpf.XDP, "xdp", code, frame(60, mac))
		})
	}
}
