package examples_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// tc_syn_ringbuf.star, run with BPF_PROG_TEST_RUN on crafted frames, puts
// one syn_event in its ring buffer for each IPv4 TCP SYN without ACK (IPv4
// options included), with the addresses and ports as the packet has
// them, and none for a SYN-ACK, an ACK, UDP, IPv6 or a short packet.
func TestTCSynRingbufEvents(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "tc_syn_ringbuf.star"))
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Maps["events"].Type; got != ebpf.RingBuf {
		t.Fatalf("events is a %v", got)
	}
	coll := testenv.Collection(t, spec)
	prog := coll.Programs["tc_syn_ringbuf"]
	rd, err := ringbuf.NewReader(coll.Maps["events"])
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	// frame is an Ethernet/IPv4/TCP frame from 10.0.0.1:12345 to
	// 10.0.0.2:80 with the TCP flags given and ipOptions bytes of IPv4
	// options (checksums are not checked by the program).
	frame := func(flags byte, ipOptions int) []byte {
		ihl := byte(5 + ipOptions/4)
		b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
		b = append(b, 0x40|ihl, 0, 0, byte(4*ihl+20), 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2)
		b = append(b, bytes.Repeat([]byte{1}, ipOptions)...)
		return append(b, 0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0)
	}
	want := []byte{10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0, 80}
	udp := frame(0x02, 0)
	udp[23] = 17 // the IPv4 protocol
	for _, c := range []struct {
		name  string
		data  []byte
		event bool
	}{
		{"syn", frame(0x02, 0), true},
		{"syn after ip options", frame(0x02, 8), true},
		{"syn-ack", frame(0x12, 0), false},
		{"ack", frame(0x10, 0), false},
		{"short tcp header", frame(0x02, 0)[:50], false},
		{"udp", udp, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ret, err := prog.Run(&ebpf.RunOptions{Data: c.data})
			if err != nil {
				t.Fatalf("BPF_PROG_TEST_RUN: %v", err)
			}
			if ret != 0 {
				t.Errorf("returned %d, want TC_ACT_OK (0)", ret)
			}
			rd.SetDeadline(time.Now().Add(100 * time.Millisecond))
			rec, err := rd.Read()
			if !c.event {
				if err == nil {
					t.Fatalf("an event % x, want none", rec.RawSample)
				}
				return
			}
			if err != nil {
				t.Fatalf("no event: %v", err)
			}
			if !bytes.Equal(rec.RawSample, want) {
				t.Errorf("event % x, want % x", rec.RawSample, want)
			}
		})
	}
}
