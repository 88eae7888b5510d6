package stdlib_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/disasm"
	"github.com/bpfstar/bpfstar/internal/golden"
	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/stdlib"
	"github.com/bpfstar/bpfstar/stdlib/internal/gen"
	"github.com/bpfstar/bpfstar/verify"
)

// The generated files are what the generator makes: helpers.star from
// the helper table always, uapi.star from the headers where they are.
func TestGenerated(t *testing.T) {
	helpers, err := gen.Helpers()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := stdlib.File("helpers.star"); !bytes.Equal(got, helpers) {
		t.Error("helpers.star is not what the generator makes: run go generate ./stdlib")
	}
	for _, h := range []string{"linux/bpf.h", "linux/pkt_cls.h", "linux/if_ether.h", "linux/in.h", "linux/in6.h", "netinet/tcp.h"} {
		if _, err := os.Stat("/usr/include/" + h); err != nil {
			testenv.Missing(t, "/usr/include/"+h+" is missing (Debian: apt-get install -y linux-libc-dev libc6-dev)")
		}
	}
	uapi, err := gen.UAPI(testenv.Tool(t, "clang-19"), "/usr/include")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := stdlib.File("uapi.star"); !bytes.Equal(got, uapi) {
		t.Error("uapi.star is not what the generator makes from /usr/include: run go generate ./stdlib")
	}
}

func TestParams(t *testing.T) {
	for proto, want := range map[string]string{
		"void *bpf_map_lookup_elem(void *map, const void *key)":       "map key",
		"__u64 bpf_ktime_get_ns(void)":                                "",
		"long bpf_trace_printk(const char *fmt, __u32 fmt_size, ...)": "fmt fmt_size ...",
		"long bpf_x(struct bpf_tunnel_key *key, __u8 buf[16])":        "key buf",
	} {
		ps, err := gen.Params(proto)
		if err != nil || strings.Join(ps, " ") != want {
			t.Errorf("Params(%q) = %q, %v; want %q", proto, ps, err, want)
		}
	}
	if _, err := gen.Params("long bpf_x(int)"); err == nil {
		t.Error("a parameter without a name was accepted")
	}
}

// An error inside the library names the library file's line and column,
// and the call in the program that led there.
func TestErrorPositions(t *testing.T) {
	src, _ := stdlib.File("call.star")
	line, col := position(t, src, `fail("call: %s takes (%s): missing %s"`)
	col += len("fail") // a call's position is its parenthesis
	prog := "load(\"@std//call.star\", \"call\")\nx = call(\"map_lookup_elem\", map = r1)\n"
	_, err := compile.Source("prog.star", []byte(prog), compile.Options{})
	want := fmt.Sprintf("@std//call.star:%d:%d: call: map_lookup_elem takes (map, key): missing key\n\tcalled from prog.star:2:9 in <toplevel>", line, col)
	if err == nil || err.Error() != want {
		t.Errorf("got error\n%v\nwant\n%s", err, want)
	}

	// An error of a builtin called by the library: the chain goes through it.
	prog = "load(\"@std//net.star\", \"udp\")\n\nx = udp(r4, r3, \"out\", check = fp)\n"
	_, err = compile.Source("prog.star", []byte(prog), compile.Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "@std//net.star:") || !strings.Contains(err.Error(), "r10 is the read-only frame pointer") || !strings.HasSuffix(err.Error(), "called from prog.star:3:8 in <toplevel>") {
		t.Errorf("got error\n%v", err)
	}
}

// position returns the line and column (from 1) of the first text in src.
func position(t *testing.T, src []byte, text string) (int, int) {
	i := bytes.Index(src, []byte(text))
	if i < 0 {
		t.Fatalf("%q is not in the library", text)
	}
	line := bytes.Count(src[:i], []byte("\n")) + 1
	return line, i - bytes.LastIndexByte(src[:i], '\n')
}

// build builds a test program outside any workspace: single-file builds
// load the library too.
func build(t *testing.T, name string) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := compile.Source(name, src, compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// The kernel accepts context() reads of every program type with a UAPI
// context, and every function of the library (testdata/*.star).
func TestKernelAccepts(t *testing.T) {
	testenv.Root(t)
	for _, name := range []string{"contexts.star", "library.star", "hundred.star", "short.star"} {
		vs, err := verify.Object(build(t, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) == 0 {
			t.Errorf("%s: no programs", name)
		}
		for _, v := range vs {
			if !v.Accepted {
				t.Errorf("%s: %s (%s) rejected: %v\n%s", name, v.Program, v.Section, v.Err, v.Log)
			}
		}
	}
}

// The objects of the test programs, disassembled, are what
// testdata/NAME.disasm holds (go test ./stdlib -update rewrites them):
// what the library emits, reviewed in full.
func TestGoldenDisasm(t *testing.T) {
	for _, name := range []string{"contexts.star", "library.star", "hundred.star"} {
		var b bytes.Buffer
		stem := strings.TrimSuffix(name, ".star")
		if err := disasm.Object(&b, stem+".o", build(t, name)); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "testdata/"+stem+".disasm", b.Bytes())
	}
}

// hundred.star runs its 100 if_ expansions in order: each adds 1 to r5
// when r5 equals its index, 2 otherwise; it returns r5.
func TestHundredRuns(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(build(t, "hundred.star")))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	got, err := coll.Programs["hundred"].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	if want := hundred(); got != want {
		t.Errorf("hundred = %d, want %d", got, want)
	}
}

// hundred computes what hundred.star returns, in Go.
func hundred() uint32 {
	r5 := uint32(0)
	for i := uint32(0); i < 100; i++ {
		if r5 == i {
			r5++
		} else {
			r5 += 2
		}
	}
	return r5
}

// The library's programs run: loops, branches, headers, counters and
// events do what their documentation says.
func TestLibraryRuns(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(build(t, "library.star")))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	run := func(prog string, data []byte) uint32 {
		t.Helper()
		ret, err := coll.Programs[prog].Run(&ebpf.RunOptions{Data: data})
		if err != nil {
			t.Fatalf("%s: BPF_PROG_TEST_RUN: %v", prog, err)
		}
		return ret
	}
	if got := run("loop_sum", make([]byte, 64)); got != 23 {
		t.Errorf("loop_sum = %d, want 23", got)
	}
	if got := run("helper_loop", make([]byte, 64)); got != 5 {
		t.Errorf("helper_loop = %d, want 5", got)
	}
	for n, want := range map[int]uint32{50: 1, 64: 2, 80: 3, 100: 4} {
		if got := run("branches", make([]byte, n)); got != want {
			t.Errorf("branches(%d bytes) = %d, want %d", n, got, want)
		}
	}

	rd, err := ringbuf.NewReader(coll.Maps["events"])
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	const pass, drop = 2, 1
	udp53 := frame(0x0800, ipv4(17, udpHeader(53)))
	vlan99 := append(append(append([]byte{}, udp53[:12]...), 0x81, 0x00, 0x00, 0x05), frame(0x0800, ipv4(17, udpHeader(99)))[12:]...)
	for _, c := range []struct {
		name string
		data []byte
		want uint32
	}{
		{"udp to 53", udp53, pass},
		{"udp to 53 again", udp53, pass},
		{"tcp syn to 80", frame(0x0800, ipv4(6, tcpHeader(80, 0x02))), pass},
		{"tcp syn-ack to 80", frame(0x0800, ipv4(6, tcpHeader(80, 0x12))), pass},
		{"udp over ipv6 to 53", frame(0x86dd, ipv6(17, udpHeader(53))), pass},
		{"vlan udp to 99", vlan99, pass},
		{"short udp", udp53[:40], drop},
		{"arp", frame(0x0806, make([]byte, 28)), pass},
	} {
		if got := run("parse", c.data); got != c.want {
			t.Errorf("parse(%s) = %d, want %d", c.name, got, c.want)
		}
	}
	lookup := func(m string, key uint32) uint64 {
		t.Helper()
		var v uint64
		if err := coll.Maps[m].Lookup(key, &v); err != nil {
			t.Errorf("%s[%#x]: %v", m, key, err)
		}
		return v
	}
	be16 := func(port uint16) uint32 { return uint32(port>>8 | port<<8) }
	for m, want := range map[string]map[uint32]uint64{
		"totals": {0: 8, 1: 1, 2: 1},
		"ports":  {be16(53): 3, be16(80): 2, be16(99): 1},
	} {
		for k, w := range want {
			if got := lookup(m, k); got != w {
				t.Errorf("%s[%#x] = %d, want %d", m, k, got, w)
			}
		}
	}
	// One event per UDP packet (the second, reserved, is discarded).
	for _, port := range []uint16{53, 53, 53, 99} {
		rd.SetDeadline(time.Now().Add(time.Second))
		rec, err := rd.Read()
		if err != nil {
			t.Fatalf("event for port %d: %v", port, err)
		}
		want := binary.LittleEndian.AppendUint16(nil, uint16(be16(port)))
		want = append(want, 17, 0, 8, 0, 0, 0)
		if !bytes.Equal(rec.RawSample, want) {
			t.Errorf("event % x, want % x", rec.RawSample, want)
		}
	}
	rd.SetDeadline(time.Now().Add(50 * time.Millisecond))
	if rec, err := rd.Read(); err == nil {
		t.Errorf("an extra event % x", rec.RawSample)
	}
}

// Every header function takes its miss label on a packet one byte
// shorter than its header needs, and reads the header of a packet just
// long enough (testdata/short.star: 2 is read, 1 short).
func TestShortPackets(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(build(t, "short.star")))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	// One buffer serves all: an IPv4 header at 14 with ihl 6 (its UDP or
	// TCP header at 38), a TCP header at 38 with doff 6 (its data at 62).
	buf := make([]byte, 80)
	buf[14], buf[50] = 0x46, 0x60
	for prog, need := range map[string]int{
		"eth": 18, "vlan": 18, "ip4": 34, "ip4_udp": 46, "ip4_udp_tmp": 46, "ip4_udp_at": 46,
		"ip6": 54, "ip6_udp": 62, "udp": 46, "tcp": 58, "tcp_data": 63, "header": 18,
	} {
		for n, want := range map[int]uint32{need: 2, need - 1: 1} {
			if n < 14 {
				continue // BPF_PROG_TEST_RUN refuses less than an Ethernet header
			}
			got, err := coll.Programs[prog].Run(&ebpf.RunOptions{Data: buf[:n]})
			if err != nil {
				t.Fatalf("%s: BPF_PROG_TEST_RUN: %v", prog, err)
			}
			if got != want {
				t.Errorf("%s on %d bytes = %d, want %d", prog, n, got, want)
			}
		}
	}
	got, err := coll.Programs["then_label"].Run(&ebpf.RunOptions{Data: buf[:14]})
	if err != nil {
		t.Fatal(err)
	}
	if got != 7 {
		t.Errorf("then_label = %d, want 7", got)
	}
}

func frame(etherType uint16, payload []byte) []byte {
	b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, byte(etherType >> 8), byte(etherType)}
	return append(b, payload...)
}

func ipv4(proto byte, payload []byte) []byte {
	n := 20 + len(payload)
	b := []byte{0x45, 0, byte(n >> 8), byte(n), 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	return append(b, payload...)
}

func ipv6(next byte, payload []byte) []byte {
	b := make([]byte, 40)
	b[0], b[4], b[5], b[6], b[7] = 0x60, byte(len(payload)>>8), byte(len(payload)), next, 64
	return append(b, payload...)
}

func udpHeader(dport uint16) []byte {
	return []byte{0x30, 0x39, byte(dport >> 8), byte(dport), 0, 8, 0, 0}
}

func tcpHeader(dport uint16, flags byte) []byte {
	return []byte{0x30, 0x39, byte(dport >> 8), byte(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0}
}
