package starlib

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"

	"go.starlark.net/starlark"
)

// The packet builders return the bytes of a frame or a header with its
// payload, checksums computed, for test(data = ...):
//
//	eth(dst, src, type, payload)
//	ipv4(src, dst, proto, payload, ttl, id, df, tos)
//	ipv6(src, dst, next_header, payload, hop_limit)
//	udp4(...), tcp4(...), udp6(...), tcp6(...): a whole
//	Ethernet/IP/UDP or TCP frame.

// Defaults of the builders: locally administered MAC addresses, and
// private IP addresses.
const (
	defaultEthSrc = "02:00:00:00:00:01"
	defaultEthDst = "02:00:00:00:00:02"
	defaultIP4Src = "10.0.0.1"
	defaultIP4Dst = "10.0.0.2"
	defaultIP6Src = "fd00::1"
	defaultIP6Dst = "fd00::2"
)

// Ethertypes and IP protocol numbers.
const (
	ethIPv4   = 0x0800
	ethIPv6   = 0x86dd
	protoTCP  = 6
	protoUDP  = 17
	ethHeader = 14
)

func packetBuiltins() starlark.StringDict {
	return starlark.StringDict{
		"eth":  starlark.NewBuiltin("eth", ethBuiltin),
		"ipv4": starlark.NewBuiltin("ipv4", ipv4Builtin),
		"ipv6": starlark.NewBuiltin("ipv6", ipv6Builtin),
		"udp4": starlark.NewBuiltin("udp4", l4Builtin(4, protoUDP)),
		"tcp4": starlark.NewBuiltin("tcp4", l4Builtin(4, protoTCP)),
		"udp6": starlark.NewBuiltin("udp6", l4Builtin(6, protoUDP)),
		"tcp6": starlark.NewBuiltin("tcp6", l4Builtin(6, protoTCP)),
	}
}

// Checksum returns the Internet checksum (RFC 1071) of data, continuing
// the ones' complement sum sum.
func Checksum(sum uint32, data []byte) uint16 {
	for len(data) >= 2 {
		sum += uint32(data[0])<<8 | uint32(data[1])
		data = data[2:]
	}
	if len(data) == 1 {
		sum += uint32(data[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func parseMAC(b *starlark.Builtin, what, s string) ([]byte, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return nil, errorf(b, "%s %q is not a MAC address (like 02:00:00:00:00:01)", what, s)
	}
	return hw, nil
}

func parseIP(b *starlark.Builtin, what, s string, v4 bool) ([]byte, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4() != v4 || a.Zone() != "" {
		want := "an IPv6 address (like fd00::1)"
		if v4 {
			want = "an IPv4 address (like 10.0.0.1)"
		}
		return nil, errorf(b, "%s %q is not %s", what, s, want)
	}
	return a.AsSlice(), nil
}

// uintArg checks that v fits in bits bits.
func uintArg(b *starlark.Builtin, what string, v, bits int) (int, error) {
	if v < 0 || v >= 1<<bits {
		return 0, errorf(b, "%s %d does not fit in %d bits", what, v, bits)
	}
	return v, nil
}

func ethFrame(dst, src []byte, typ int, payload []byte) []byte {
	out := make([]byte, 0, ethHeader+len(payload))
	out = append(out, dst...)
	out = append(out, src...)
	out = binary.BigEndian.AppendUint16(out, uint16(typ))
	return append(out, payload...)
}

func ethBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	dst, src := defaultEthDst, defaultEthSrc
	typ := ethIPv4
	var payload starlark.Bytes
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dst?", &dst, "src?", &src, "type?", &typ, "payload?", &payload); err != nil {
		return nil, err
	}
	d, err := parseMAC(b, "dst", dst)
	if err != nil {
		return nil, err
	}
	s, err := parseMAC(b, "src", src)
	if err != nil {
		return nil, err
	}
	if _, err := uintArg(b, "type", typ, 16); err != nil {
		return nil, err
	}
	return starlark.Bytes(ethFrame(d, s, typ, []byte(payload))), nil
}

type ip4Header struct {
	src, dst     []byte
	proto        int
	ttl, id, tos int
	df           bool
}

func (h ip4Header) packet(b *starlark.Builtin, payload []byte) ([]byte, error) {
	total := 20 + len(payload)
	if total > 0xffff {
		return nil, errorf(b, "an IPv4 packet of %d bytes is longer than 65535", total)
	}
	hdr := make([]byte, 20, total)
	hdr[0] = 0x45
	hdr[1] = byte(h.tos)
	binary.BigEndian.PutUint16(hdr[2:], uint16(total))
	binary.BigEndian.PutUint16(hdr[4:], uint16(h.id))
	if h.df {
		hdr[6] = 0x40
	}
	hdr[8] = byte(h.ttl)
	hdr[9] = byte(h.proto)
	copy(hdr[12:], h.src)
	copy(hdr[16:], h.dst)
	binary.BigEndian.PutUint16(hdr[10:], Checksum(0, hdr))
	return append(hdr, payload...), nil
}

func ipv4Builtin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	src, dst := defaultIP4Src, defaultIP4Dst
	proto, ttl, id, tos := protoUDP, 64, 0, 0
	df := false
	var payload starlark.Bytes
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src?", &src, "dst?", &dst, "proto?", &proto, "payload?", &payload, "ttl?", &ttl, "id?", &id, "df?", &df, "tos?", &tos); err != nil {
		return nil, err
	}
	h, err := ip4Args(b, src, dst, proto, ttl, id, tos, df)
	if err != nil {
		return nil, err
	}
	p, err := h.packet(b, []byte(payload))
	if err != nil {
		return nil, err
	}
	return starlark.Bytes(p), nil
}

func ip4Args(b *starlark.Builtin, src, dst string, proto, ttl, id, tos int, df bool) (ip4Header, error) {
	h := ip4Header{proto: proto, ttl: ttl, id: id, tos: tos, df: df}
	var err error
	if h.src, err = parseIP(b, "src", src, true); err != nil {
		return h, err
	}
	if h.dst, err = parseIP(b, "dst", dst, true); err != nil {
		return h, err
	}
	for _, a := range []struct {
		what string
		v    int
		bits int
	}{{"proto", proto, 8}, {"ttl", ttl, 8}, {"id", id, 16}, {"tos", tos, 8}} {
		if _, err := uintArg(b, a.what, a.v, a.bits); err != nil {
			return h, err
		}
	}
	return h, nil
}

// ip6Args checks the arguments of an IPv6 header: the addresses, the next
// header and the hop limit (which the caller calls hopName).
func ip6Args(b *starlark.Builtin, src, dst string, next, hop int, hopName string) (s, d []byte, err error) {
	if s, err = parseIP(b, "src", src, false); err != nil {
		return nil, nil, err
	}
	if d, err = parseIP(b, "dst", dst, false); err != nil {
		return nil, nil, err
	}
	if _, err := uintArg(b, "next_header", next, 8); err != nil {
		return nil, nil, err
	}
	if _, err := uintArg(b, hopName, hop, 8); err != nil {
		return nil, nil, err
	}
	return s, d, nil
}

func ip6Packet(b *starlark.Builtin, src, dst []byte, next, hop int, payload []byte) ([]byte, error) {
	if len(payload) > 0xffff {
		return nil, errorf(b, "an IPv6 payload of %d bytes is longer than 65535", len(payload))
	}
	hdr := make([]byte, 40, 40+len(payload))
	hdr[0] = 0x60
	binary.BigEndian.PutUint16(hdr[4:], uint16(len(payload)))
	hdr[6] = byte(next)
	hdr[7] = byte(hop)
	copy(hdr[8:], src)
	copy(hdr[24:], dst)
	return append(hdr, payload...), nil
}

func ipv6Builtin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	src, dst := defaultIP6Src, defaultIP6Dst
	next, hop := protoUDP, 64
	var payload starlark.Bytes
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "src?", &src, "dst?", &dst, "next_header?", &next, "payload?", &payload, "hop_limit?", &hop); err != nil {
		return nil, err
	}
	s, d, err := ip6Args(b, src, dst, next, hop, "hop_limit")
	if err != nil {
		return nil, err
	}
	p, err := ip6Packet(b, s, d, next, hop, []byte(payload))
	if err != nil {
		return nil, err
	}
	return starlark.Bytes(p), nil
}

// tcpFlags reads TCP flags: an int, or letters of "FSRPAUEC" (SYN is "S").
func tcpFlags(b *starlark.Builtin, v starlark.Value) (int, error) {
	switch x := v.(type) {
	case starlark.Int:
		n, ok := x.Int64()
		if !ok || n < 0 || n > 0xff {
			return 0, errorf(b, "flags %v does not fit in 8 bits", x)
		}
		return int(n), nil
	case starlark.String:
		n := 0
		for _, c := range string(x) {
			i := strings.IndexRune("FSRPAUEC", c)
			if i < 0 {
				return 0, errorf(b, "flags %q: %q is not one of F S R P A U E C", string(x), c)
			}
			n |= 1 << i
		}
		return n, nil
	}
	return 0, errorf(b, "flags: got %s, want int or letters of \"FSRPAUEC\"", v.Type())
}

// l4Builtin returns udp4, tcp4, udp6 or tcp6: a whole Ethernet frame.
func l4Builtin(ipVersion, proto int) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		ethSrc, ethDst := defaultEthSrc, defaultEthDst
		src, dst := defaultIP4Src, defaultIP4Dst
		if ipVersion == 6 {
			src, dst = defaultIP6Src, defaultIP6Dst
		}
		srcPort, dstPort, ttl, id := 12345, 80, 64, 0
		seq, ack, window := 0, 0, 65535
		var flags starlark.Value = starlark.String("S")
		var payload starlark.Bytes
		pairs := []any{"src?", &src, "dst?", &dst, "src_port?", &srcPort, "dst_port?", &dstPort,
			"payload?", &payload, "eth_src?", &ethSrc, "eth_dst?", &ethDst, "ttl?", &ttl}
		if ipVersion == 4 {
			pairs = append(pairs, "id?", &id)
		}
		if proto == protoTCP {
			pairs = append(pairs, "seq?", &seq, "ack?", &ack, "flags?", &flags, "window?", &window)
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		es, err := parseMAC(b, "eth_src", ethSrc)
		if err != nil {
			return nil, err
		}
		ed, err := parseMAC(b, "eth_dst", ethDst)
		if err != nil {
			return nil, err
		}
		for _, a := range []struct {
			what string
			v    int
			bits int
		}{{"src_port", srcPort, 16}, {"dst_port", dstPort, 16}, {"window", window, 16}, {"seq", seq, 32}, {"ack", ack, 32}} {
			if _, err := uintArg(b, a.what, a.v, a.bits); err != nil {
				return nil, err
			}
		}
		var seg []byte
		if proto == protoUDP {
			seg = make([]byte, 8, 8+len(payload))
			binary.BigEndian.PutUint16(seg[0:], uint16(srcPort))
			binary.BigEndian.PutUint16(seg[2:], uint16(dstPort))
			if 8+len(payload) > 0xffff {
				return nil, errorf(b, "a UDP datagram of %d bytes is longer than 65535", 8+len(payload))
			}
			binary.BigEndian.PutUint16(seg[4:], uint16(8+len(payload)))
		} else {
			fl, err := tcpFlags(b, flags)
			if err != nil {
				return nil, err
			}
			seg = make([]byte, 20, 20+len(payload))
			binary.BigEndian.PutUint16(seg[0:], uint16(srcPort))
			binary.BigEndian.PutUint16(seg[2:], uint16(dstPort))
			binary.BigEndian.PutUint32(seg[4:], uint32(seq))
			binary.BigEndian.PutUint32(seg[8:], uint32(ack))
			seg[12] = 5 << 4
			seg[13] = byte(fl)
			binary.BigEndian.PutUint16(seg[14:], uint16(window))
		}
		seg = append(seg, payload...)
		csumAt := 6
		if proto == protoTCP {
			csumAt = 16
		}
		var ipPkt []byte
		var etype int
		if ipVersion == 4 {
			h, err := ip4Args(b, src, dst, proto, ttl, id, 0, false)
			if err != nil {
				return nil, err
			}
			pseudo := make([]byte, 0, 12)
			pseudo = append(pseudo, h.src...)
			pseudo = append(pseudo, h.dst...)
			pseudo = append(pseudo, 0, byte(proto))
			pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(seg)))
			putL4Checksum(seg, csumAt, pseudo, proto)
			if ipPkt, err = h.packet(b, seg); err != nil {
				return nil, err
			}
			etype = ethIPv4
		} else {
			s, d, err := ip6Args(b, src, dst, proto, ttl, "ttl")
			if err != nil {
				return nil, err
			}
			pseudo := make([]byte, 0, 40)
			pseudo = append(pseudo, s...)
			pseudo = append(pseudo, d...)
			pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(seg)))
			pseudo = append(pseudo, 0, 0, 0, byte(proto))
			putL4Checksum(seg, csumAt, pseudo, proto)
			if ipPkt, err = ip6Packet(b, s, d, proto, ttl, seg); err != nil {
				return nil, err
			}
			etype = ethIPv6
		}
		return starlark.Bytes(ethFrame(ed, es, etype, ipPkt)), nil
	}
}

// putL4Checksum writes the UDP or TCP checksum of seg, over the pseudo
// header, at seg[at:]. A UDP checksum of 0 is sent as 0xffff (0 means
// none).
func putL4Checksum(seg []byte, at int, pseudo []byte, proto int) {
	var sum uint32
	for i := 0; i+1 < len(pseudo); i += 2 {
		sum += uint32(pseudo[i])<<8 | uint32(pseudo[i+1])
	}
	c := Checksum(sum, seg)
	if c == 0 && proto == protoUDP {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(seg[at:], c)
}
