package vm_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

// TestXDPInput pins how an XDP test run lays out its packet, as Linux
// 6.18 does (compared with the kernel under --engine both in
// cmd/bpfstar/testdata/script/test.txtar): at least 14 bytes of data; a
// linear part of at most 3520 bytes, the rest in at most 17 page-sized
// fragments; metadata taken out of the headroom, so that data starts at
// XDP_PACKET_HEADROOM and bpf_xdp_adjust_head can move it down to the
// xdp_frame plus the metadata.
func TestXDPInput(t *testing.T) {
	length := compileUBPF(t, "ldxw %r2, [%r1+0]\nldxw %r0, [%r1+4]\nsub %r0, %r2\nexit").WithSection("xdp")
	adjust := func(delta int) *vm.Program {
		return compileUBPF(t, fmt.Sprintf("mov %%r2, %d\ncall 44\nexit", delta)).WithSection("xdp")
	}
	xdpMD := func(meta, end uint32) []byte {
		b := make([]byte, 24)
		binary.LittleEndian.PutUint32(b[0:], meta)
		binary.LittleEndian.PutUint32(b[4:], end)
		return b
	}
	for _, c := range []struct {
		name    string
		p       *vm.Program
		in      vm.Input
		ret     uint32
		outLen  int
		refused bool
	}{
		{"13 bytes", length, vm.Input{Data: make([]byte, 13)}, 0, 0, true},
		{"no data", length, vm.Input{}, 0, 0, true},
		{"13 bytes linear of 60", length, vm.Input{Data: make([]byte, 60), Ctx: xdpMD(0, 13), HasCtx: true}, 13, 60, false},
		{"4000 bytes", length, vm.Input{Data: make([]byte, 4000)}, 3520, 4000, false},
		{"4000 bytes, data_end 4000", length, vm.Input{Data: make([]byte, 4000), Ctx: xdpMD(0, 4000), HasCtx: true}, 3520, 4000, false},
		{"17 fragments", length, vm.Input{Data: make([]byte, 3520+17*4096)}, 3520, 3520 + 17*4096, false},
		{"18 fragments", length, vm.Input{Data: make([]byte, 3520+17*4096+1)}, 0, 0, true},
		{"adjust_head -216 with 4 bytes of metadata", adjust(-216), vm.Input{Data: make([]byte, 60), Ctx: xdpMD(4, 60), HasCtx: true}, 0xffffffea, 60, false},
		{"adjust_head -212 with 4 bytes of metadata", adjust(-212), vm.Input{Data: make([]byte, 60), Ctx: xdpMD(4, 60), HasCtx: true}, 0, 272, false},
		{"adjust_head -216", adjust(-216), vm.Input{Data: make([]byte, 60)}, 0, 276, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := vm.NewMachine()
			m.UseStandardHelpers()
			out, err := m.RunProgram(c.p, c.in)
			if c.refused {
				if !errors.Is(err, vm.ErrInput) {
					t.Fatalf("error %v, want vm.ErrInput", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Retval != c.ret || len(out.Data) != c.outLen {
				t.Errorf("retval %#x, %d bytes out; want %#x, %d", out.Retval, len(out.Data), c.ret, c.outLen)
			}
		})
	}
}

// TestSkbInputLimit: skb test runs (socket filter, tc, cgroup_skb) take
// at most 3712 bytes of data, a page less NET_SKB_PAD and the
// skb_shared_info, as Linux 6.18 on x86-64 does (test.txtar compares
// them with the kernel).
func TestSkbInputLimit(t *testing.T) {
	p := compileUBPF(t, "ldxw %r0, [%r1+0]\nexit")
	for _, sec := range []string{"tc", "socket", "cgroup_skb/ingress"} {
		for _, n := range []int{3712, 3713} {
			m := vm.NewMachine()
			data := make([]byte, n)
			data[12], data[13] = 0x86, 0xdd // IPv6, of zeros
			_, err := m.RunProgram(p.WithSection(sec), vm.Input{Data: data})
			if refused := errors.Is(err, vm.ErrInput); refused != (n > 3712) || !refused && err != nil {
				t.Errorf("%s, %d bytes: error %v", sec, n, err)
			}
		}
	}
}
