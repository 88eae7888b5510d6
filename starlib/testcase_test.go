package starlib_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/starlib"
)

const progSrc = `
stats = bpf_map("stats", "array", 4, 8, 2)
section("xdp", "p", [
    insn.ld_map_fd(r1, stats),
    insn.mov64_imm(r0, 2),
    exit(),
])
license("GPL")
`

const testsSrc = `
test("pass", "p", data = b"\x01\x02", want_retval = "XDP_PASS", want_data = b"\x01\x02", repeat = 2)
test("maps", program = "p", ctx = {"ingress_ifindex": 7}, maps = {stats: {1: 5}}, want_maps = {"stats": {1: 6, 0: None}})
test("ctx out", "p", want_ctx = {"ingress_ifindex": 7, "data_meta": 0})
`

// TestTestCalls checks what test() records, and that the calls leave the
// object as it was: the file with them builds the same bytes as without.
func TestTestCalls(t *testing.T) {
	u, err := starlib.Exec("prog_test.star", []byte(progSrc+testsSrc), starlib.Options{})
	if err != nil {
		t.Fatal(err)
	}
	le := func(v uint64, n int) []byte { return binary.LittleEndian.AppendUint64(nil, v)[:n] }
	ctx := make([]byte, 24)  // struct xdp_md
	ctx[12] = 7              // ingress_ifindex
	mask := make([]byte, 24) // want_ctx's ingress_ifindex and data_meta
	for i := 8; i < 16; i++ {
		mask[i] = 0xff
	}
	want := []starlib.TestCase{
		{Name: "pass", Program: "p", Section: "xdp", Pos: asm.Pos{File: "prog_test.star", Line: 10, Col: 5},
			Data: []byte{1, 2}, HasData: true, WantRetval: 2, HasWantRetval: true, WantData: []byte{1, 2}, HasWantData: true, Repeat: 2},
		{Name: "maps", Program: "p", Section: "xdp", Pos: asm.Pos{File: "prog_test.star", Line: 11, Col: 5},
			Ctx: ctx, HasCtx: true, Maps: []starlib.MapEntry{{Map: "stats", Key: le(1, 4), Value: le(5, 8)}},
			WantMaps: []starlib.MapEntry{{Map: "stats", Key: le(1, 4), Value: le(6, 8)}, {Map: "stats", Key: le(0, 4)}}, Repeat: 1},
		{Name: "ctx out", Program: "p", Section: "xdp", Pos: asm.Pos{File: "prog_test.star", Line: 12, Col: 5},
			WantCtx: ctx, HasWantCtx: true, WantCtxMask: mask,
			WantCtxFields: []starlib.CtxField{{Name: "ingress_ifindex", Off: 12, Size: 4}, {Name: "data_meta", Off: 8, Size: 4}}, Repeat: 1},
	}
	if diff := cmp.Diff(want, u.Tests); diff != "" {
		t.Errorf("Tests (-want +got):\n%s", diff)
	}
	with, err := compile.Source("prog.star", []byte(progSrc+testsSrc), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	without, err := compile.Source("prog.star", []byte(progSrc+"\n\n\n"), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(with, without) {
		t.Errorf("test() changed the object: %d bytes with test() calls, %d without", len(with), len(without))
	}
}

// TestPacketChecksums compares the frames of the packet builders with
// bytes computed independently (by a short Python script, struct.pack and
// RFC 1071's sum), and checks that each checksum verifies: the ones'
// complement sum of a header (or a segment with its pseudo header),
// checksum included, is 0xffff.
func TestPacketChecksums(t *testing.T) {
	eval := func(expr string) []byte {
		t.Helper()
		u, err := starlib.Exec("p.star", []byte(`section("xdp", "p", [insn.mov64_imm(r0, 2), exit()])
test("t", "p", data = `+expr+`)
`), starlib.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return u.Tests[0].Data
	}
	hx := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	eth := "020000000002" + "020000000001"
	for _, c := range []struct{ expr, want string }{
		{`udp4(dst_port = 53, payload = b"hello")`, eth + "0800" +
			"4500" + "0021" + "0000" + "0000" + "4011" + "66ca" + "0a000001" + "0a000002" +
			"3039" + "0035" + "000d" + "7791" + "68656c6c6f"},
		{`tcp4(seq = 1)`, eth + "0800" +
			"4500" + "0028" + "0000" + "0000" + "4006" + "66ce" + "0a000001" + "0a000002" +
			"3039" + "0050" + "00000001" + "00000000" + "5002" + "ffff" + "6b56" + "0000"},
		{`udp6(dst_port = 53, payload = b"hello")`, eth + "86dd" +
			"60000000" + "000d" + "11" + "40" + "fd000000000000000000000000000001" + "fd000000000000000000000000000002" +
			"3039" + "0035" + "000d" + "918f" + "68656c6c6f"},
	} {
		got := eval(c.expr)
		if want := hx(c.want); !bytes.Equal(got, want) {
			t.Errorf("%s:\ngot  %x\nwant %x", c.expr, got, want)
		}
	}
	for _, expr := range []string{`udp4(src = "192.0.2.7", dst = "198.51.100.1", src_port = 9, dst_port = 7, payload = b"odd")`,
		`tcp4(flags = "SA", seq = 4000000000, ack = 77, payload = b"x" * 1001)`} {
		p := eval(expr)
		ip := p[14:34]
		if s := onesSum(ip); s != 0xffff {
			t.Errorf("%s: IPv4 header sums to %#x, want 0xffff", expr, s)
		}
		seg := p[34:]
		pseudo := append(append(append([]byte{}, ip[12:20]...), 0, ip[9]), byte(len(seg)>>8), byte(len(seg)))
		if s := onesSum(append(pseudo, seg...)); s != 0xffff {
			t.Errorf("%s: segment and pseudo header sum to %#x, want 0xffff", expr, s)
		}
	}
}

// onesSum is the ones' complement sum of b, 16 bits at a time, by a
// 64-bit accumulator folded at the end.
func onesSum(b []byte) uint64 {
	var s uint64
	for i := 0; i < len(b); i += 2 {
		w := uint64(b[i]) << 8
		if i+1 < len(b) {
			w |= uint64(b[i+1])
		}
		s += w
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return s
}
