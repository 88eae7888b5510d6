package vm_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/vm"
)

// frame returns an Ethernet/IPv4/UDP-looking frame of n bytes with a
// recognisable pattern.
func frame(n int, dst []byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	copy(b, dst)
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	b[14] = 0x45
	return b
}

// TestContexts runs small programs that read their context and change
// their packet through BPF_PROG_TEST_RUN and the interpreter: both must
// give the same return value and output packet.
func TestContexts(t *testing.T) {
	testenv.Root(t)
	mac := []byte{2, 0, 0, 0, 0, 2}
	for _, c := range []struct {
		name, section string
		typ           ebpf.ProgramType
		data          []byte
		src           string
	}{
		{"xdp fields", "xdp", ebpf.XDP, frame(60, mac), `
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxw %r4, [%r1+8]
ldxw %r5, [%r1+12]
ldxw %r6, [%r1+16]
mov %r0, %r3
sub %r0, %r2
lsh %r0, 8
sub %r2, %r4
add %r0, %r2
lsh %r0, 4
add %r0, %r5
lsh %r0, 4
add %r0, %r6
exit`},
		{"xdp_adjust_head and tail", "xdp", ebpf.XDP, frame(60, mac), `
mov %r6, %r1
mov %r2, -16
call 44
mov %r7, %r0
mov %r1, %r6
mov %r2, 10
call 65
lsh %r7, 8
add %r7, %r0
mov %r1, %r6
mov %r2, -4
call 65
lsh %r7, 8
add %r7, %r0
mov %r1, %r6
mov %r2, -300
call 44
lsh %r7, 8
add %r7, %r0
ldxw %r2, [%r6+0]
ldxw %r3, [%r6+4]
mov %r4, %r2
add %r4, 16
jgt %r4, %r3, +4
lddw %r5, 0x1122334455667788
stxdw [%r2], %r5
stxdw [%r2+8], %r7
mov %r0, %r3
sub %r0, %r2
exit`},
		{"xdp_adjust_meta", "xdp", ebpf.XDP, frame(40, mac), `
mov %r6, %r1
mov %r2, -8
call 54
mov %r7, %r0
ldxw %r2, [%r6+8]
ldxw %r3, [%r6+0]
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, +2
stdw [%r2], 0x5a5a
mov %r0, %r7
exit`},
		{"socket filter __sk_buff", "socket", ebpf.SocketFilter, frame(60, mac), `
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
ldxw %r4, [%r1+16]
ldxw %r5, [%r1+40]
mov %r0, %r2
lsh %r0, 8
add %r0, %r3
lsh %r0, 16
add %r0, %r4
lsh %r0, 4
add %r0, %r5
exit`},
		{"socket filter ld_abs", "socket", ebpf.SocketFilter, frame(60, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), `
mov %r6, %r1
ldxw %r7, [%r1+4]
mov %r0, 0
`}, // r7: pkt_type, 2 (multicast: the loopback device's broadcast address is not all ones)
		{"tc __sk_buff and direct packet access", "tc", ebpf.SchedCLS, frame(60, mac), `
ldxw %r2, [%r1+76]
ldxw %r3, [%r1+80]
ldxw %r6, [%r1+0]
ldxw %r7, [%r1+16]
ldxw %r8, [%r1+160]
ldxw %r9, [%r1+4]
mov %r4, %r2
add %r4, 20
jgt %r4, %r3, +2
ldxw %r5, [%r2+14]
stxw [%r2+16], %r6
mov %r0, %r6
lsh %r0, 16
add %r0, %r7
add %r0, %r8
lsh %r0, 4
add %r0, %r9
exit`},
		{"tc skb_store_bytes and load_bytes", "tc", ebpf.SchedCLS, frame(60, mac), `
mov %r6, %r1
stdw [%r10-8], 0x7766
mov %r2, 20
mov %r3, %r10
add %r3, -8
mov %r4, 8
mov %r5, 0
call 9
mov %r7, %r0
mov %r1, %r6
mov %r2, 18
mov %r3, %r10
add %r3, -16
mov %r4, 8
call 26
ldxdw %r0, [%r10-16]
add %r0, %r7
exit`},
		{"tc checksum helpers", "tc", ebpf.SchedCLS, frame(60, mac), `
mov %r6, %r1
mov %r2, 24
mov %r3, 0x01020304
mov %r4, 0x05060708
mov %r5, 4
call 10
mov %r7, %r0
mov %r1, %r6
mov %r2, 40
mov %r3, 0x1111
mov %r4, 0x2222
mov %r5, 0x22
call 11
add %r7, %r0
mov %r1, %r6
mov %r2, 26
mov %r3, 0
mov %r4, 0x12345
mov %r5, 0
call 10
add %r0, %r7
exit`},
		{"csum_diff", "xdp", ebpf.XDP, frame(60, mac), `
lddw %r1, 0x1234567890
stxdw [%r10-8], %r1
stdw [%r10-16], 0x0abcdef
stdw [%r10-24], -7
mov %r1, %r10
add %r1, -8
mov %r2, 8
mov %r3, %r10
add %r3, -24
mov %r4, 16
mov %r5, 0x1234
call 28
exit`},
		{"csum_diff to only", "xdp", ebpf.XDP, frame(60, mac), `
stdw [%r10-8], 0x0abcdef
stdw [%r10-16], -7
mov %r1, 0
mov %r2, 0
mov %r3, %r10
add %r3, -16
mov %r4, 16
mov %r5, -1
call 28
exit`},
		{"csum_diff from only", "xdp", ebpf.XDP, frame(60, mac), `
stdw [%r10-8], 0x0abcdef
stdw [%r10-16], -7
mov %r1, %r10
add %r1, -16
mov %r2, 12
mov %r3, 0
mov %r4, 0
mov %r5, 0x5555
call 28
exit`},
		// Linux 6.12 and later take any sizes: neither a multiple of 4
		// nor a total of at most 512 bytes (the scratch buffer's size
		// before) is asked for any more.
		{"csum_diff of sizes not a multiple of 4", "xdp", ebpf.XDP, frame(60, mac), `
lddw %r1, 0x1234567890
stxdw [%r10-8], %r1
stdw [%r10-16], 0x0abcdef
mov %r1, %r10
add %r1, -7
mov %r2, 7
mov %r3, %r10
add %r3, -13
mov %r4, 5
mov %r5, 0x1234
call 28
exit`},
		{"csum_diff of 6 bytes, to only", "xdp", ebpf.XDP, frame(60, mac), `
stdw [%r10-8], 0x0abcdef
mov %r1, 0
mov %r2, 0
mov %r3, %r10
add %r3, -6
mov %r4, 6
mov %r5, 0
call 28
exit`},
		{"csum_diff of 600 bytes", "xdp", ebpf.XDP, frame(700, mac), `
ldxw %r6, [%r1+0]
ldxw %r7, [%r1+4]
mov %r2, %r6
add %r2, 600
mov %r0, 99
jgt %r2, %r7, +6
mov %r1, %r6
mov %r2, 600
mov %r3, 0
mov %r4, 0
mov %r5, 0
call 28
exit`},
		{"cgroup_skb", "cgroup_skb/ingress", ebpf.CGroupSKB, frame(60, mac), `
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+16]
mov %r0, 0
jne %r2, 46, +2
jne %r3, 8, +1
mov %r0, 1
exit`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := c.src
			if c.name == "socket filter ld_abs" {
				// ld_abs h 12, ld_ind b r7(len)-1+0, out of the packet: 0.
				code, err := parseUBPF(src)
				if err != nil {
					t.Fatal(err)
				}
				code = append(code, ldAbs(0x28, 0, 12)...)        // r0 = ntohs(*(u16 *)(skb + 12))
				code = append(code, 0xbf, 0x08, 0, 0, 0, 0, 0, 0) // r8 = r0
				code = append(code, ldAbs(0x50, 7, -1)...)        // r0 = *(u8 *)(skb + r7 - 1)
				code = append(code, 0x67, 0x08, 0, 0, 8, 0, 0, 0) // r8 <<= 8
				code = append(code, 0x0f, 0x08, 0, 0, 0, 0, 0, 0) // r8 += r0
				code = append(code, 0xbf, 0x80, 0, 0, 0, 0, 0, 0) // r0 = r8
				code = append(code, 0x95, 0, 0, 0, 0, 0, 0, 0)
				agree(t, c.typ, c.section, code, c.data)
				return
			}
			code, err := parseUBPF(src)
			if err != nil {
				t.Fatal(err)
			}
			agree(t, c.typ, c.section, code, c.data)
		})
	}
}

func ldAbs(op byte, src byte, imm int32) []byte {
	b := []byte{op, src << 4, 0, 0}
	return binary.LittleEndian.AppendUint32(b, uint32(imm))
}

// agree runs code through the kernel and the interpreter on data.
func agree(t *testing.T, typ ebpf.ProgramType, section string, code, data []byte) {
	t.Helper()
	insns, err := asm.AppendInstructions(nil, bytes.NewReader(code), binary.LittleEndian, "linux")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: typ, Instructions: insns, License: "GPL"})
	if err != nil {
		t.Fatalf("the verifier rejects the program: %v", firstLines(err))
	}
	defer prog.Close()
	opts := &ebpf.RunOptions{Data: data, DataOut: make([]byte, len(data)+512)}
	kret, err := prog.Run(opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := vm.Compile(code)
	if err != nil {
		t.Fatal(err)
	}
	m := vm.NewMachine()
	m.UseStandardHelpers()
	out, err := m.RunProgram(p.WithSection(section), vm.Input{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if out.Retval != kret || !bytes.Equal(out.Data, opts.DataOut) {
		t.Fatalf("retval %#x (kernel) %#x (vm)\ndata %x (kernel)\n     %x (vm)", kret, out.Retval, opts.DataOut, out.Data)
	}
	t.Logf("retval %#x, %d bytes of data out", kret, len(out.Data))
}

// TestRedirectMap checks bpf_redirect_map on a device map against the
// kernel: a key with an interface redirects, a missing one returns the
// action in the flags' low bits.
func TestRedirectMap(t *testing.T) {
	testenv.Root(t)
	km, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.DevMap, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer km.Close()
	if err := km.Put(uint32(1), uint32(1)); err != nil { // the loopback device
		t.Fatal(err)
	}
	m := vm.NewMachine()
	m.UseStandardHelpers()
	mp, err := m.AddMap(vm.MapSpec{Name: "dev", Type: vm.MapDevmap, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := mp.Update(u32(1), u32(1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ key, flags int64 }{{1, 0}, {2, 2}, {2, 1}, {3, 0}, {1, 64}} {
		src := fmt.Sprintf("lddw %%r1, %d\nmov %%r2, %d\nmov %%r3, %d\ncall 51\nexit", mp.Ref(), c.key, c.flags)
		code, err := parseUBPF(src)
		if err != nil {
			t.Fatal(err)
		}
		insns, err := asm.AppendInstructions(nil, bytes.NewReader(code), binary.LittleEndian, "linux")
		if err != nil {
			t.Fatal(err)
		}
		insns[0].Src, insns[0].Constant = asm.PseudoMapFD, 0
		if err := insns[0].AssociateMap(km); err != nil {
			t.Fatal(err)
		}
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.XDP, Instructions: insns, License: "GPL"})
		if err != nil {
			t.Fatal(err)
		}
		kret, err := prog.Run(&ebpf.RunOptions{Data: frame(60, nil)})
		prog.Close()
		if err != nil {
			t.Fatal(err)
		}
		p, err := vm.Compile(code)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.RunProgram(p.WithSection("xdp"), vm.Input{Data: frame(60, nil)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Retval != kret {
			t.Errorf("key %d flags %d: retval %d (kernel) %d (vm)", c.key, c.flags, kret, out.Retval)
		}
	}
}

// TestCsumReplaceArgs checks bpf_l3_csum_replace (10) and
// bpf_l4_csum_replace (11) against the kernel where their arguments are
// odd: flags the kernel takes (BPF_F_IPV6, BPF_F_MARK_ENFORCE) or refuses,
// a diff (size 0) with a from that is not 0, an odd offset, an offset past
// the packet, a checksum of 0 with BPF_F_MARK_MANGLED_0.
func TestCsumReplaceArgs(t *testing.T) {
	testenv.Root(t)
	mac := []byte{2, 0, 0, 0, 0, 2}
	zero := frame(60, mac)
	zero[40], zero[41] = 0, 0 // a UDP checksum of 0: none
	for _, c := range []struct {
		name                     string
		fn, off, from, to, flags int64
		data                     []byte
	}{
		{"l4 BPF_F_IPV6", 11, 40, 0x1111, 0x2222, 0x82, nil},
		{"l4 BPF_F_IPV6 and pseudo header", 11, 40, 0x1111, 0x2222, 0x92, nil},
		{"l4 unknown flag", 11, 40, 0x1111, 0x2222, 0x100, nil},
		{"l4 size 3", 11, 40, 0x1111, 0x2222, 0x3, nil},
		{"l3 size 3", 10, 24, 0x1111, 0x2222, 0x3, nil},
		{"l3 diff with from", 10, 24, 1, 0x2222, 0, nil},
		{"l4 diff with from", 11, 40, 1, 0x2222, 0, nil},
		{"l3 flag of l4", 10, 24, 0x1111, 0x2222, 0x10, nil},
		{"l4 diff", 11, 40, 0, 0x12345, 0x40, nil},
		{"l4 size 8", 11, 40, 0x1111, 0x2222, 0x8, nil},
		{"l3 odd offset", 10, 25, 0x1111, 0x2222, 2, nil},
		{"l4 odd offset", 11, 41, 0x1111, 0x2222, 2, nil},
		{"l3 last bytes", 10, 58, 0x1111, 0x2222, 4, nil},
		{"l3 past the packet", 10, 60, 0x1111, 0x2222, 2, nil},
		{"l4 mangled 0 on 0", 11, 40, 0x1111, 0x2222, 0x22, zero},
		{"l4 mangled 0 enforced on 0", 11, 40, 0x1111, 0x2222, 0x62, zero},
		{"l4 mangled 0 on 0, diff with from", 11, 40, 1, 0x2222, 0x20, zero},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := fmt.Sprintf("mov %%r2, %d\nmov %%r3, %d\nmov %%r4, %d\nmov %%r5, %d\ncall %d\nexit", c.off, c.from, c.to, c.flags, c.fn)
			code, err := parseUBPF(src)
			if err != nil {
				t.Fatal(err)
			}
			data := c.data
			if data == nil {
				data = frame(60, mac)
			}
			agree(t, ebpf.SchedCLS, "tc", code, data)
		})
	}
}

// TestXdpAdjustMeta checks bpf_xdp_adjust_meta against the kernel: -EINVAL
// for metadata reaching into the xdp_frame before the headroom's end or
// past data, -EACCES for a length that is not a multiple of 4 or past 255
// (Linux 6.18's limit, the size of skb_shared_info.meta_len; it was 32);
// the output packet starts at data_meta.
func TestXdpAdjustMeta(t *testing.T) {
	testenv.Root(t)
	mac := []byte{2, 0, 0, 0, 0, 2}
	for _, delta := range []int64{-4, -3, -2, 4, -32, -33, -36, -216, -220, -252} {
		t.Run(fmt.Sprint(delta), func(t *testing.T) {
			src := fmt.Sprintf("mov %%r2, %d\ncall 54\nexit", delta)
			code, err := parseUBPF(src)
			if err != nil {
				t.Fatal(err)
			}
			agree(t, ebpf.XDP, "xdp", code, frame(60, mac))
		})
	}
}
