package vm_test

import (
	"bytes"
	"testing"

	"github.com/cilium/ebpf/asm"
)

// TestProbeReadKernelStr: bpf_probe_read_kernel_str copies a string with
// its NUL and returns its length with the NUL; it cuts a longer one to
// size-1 bytes and a NUL; a source that cannot be read, at its start or
// before its NUL, gives -EFAULT and a destination of zeros, as the
// kernel's strncpy_from_kernel_nofault and its caller do.
func TestProbeReadKernelStr(t *testing.T) {
	const efault = ^uint64(14 - 1)
	for _, c := range []struct {
		name string
		src  []byte // at the end of the machine's memory
		size uint64
		ret  uint64
		dst  []byte
	}{
		{"string", []byte("abc\x00"), 8, 4, []byte("abc\x00\xee\xee\xee\xee")},
		{"cut", []byte("abcdef\x00"), 4, 4, []byte("abc\x00\xee\xee\xee\xee")},
		{"fault before the NUL", []byte("abc"), 8, efault, make([]byte, 8)},
		{"fault at the start", nil, 8, efault, make([]byte, 8)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			dst := r.mem[128:136]
			copy(dst, bytes.Repeat([]byte{0xee}, 8))
			copy(r.mem[256-len(c.src):], c.src)
			got := r.call(asm.FnProbeReadKernelStr, r.buf(), c.size, r.at+uint64(256-len(c.src)))
			if got != c.ret || !bytes.Equal(dst, c.dst) {
				t.Errorf("returned %#x, dst %q; want %#x, %q", got, dst, c.ret, c.dst)
			}
		})
	}
}
