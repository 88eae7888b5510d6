package vm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/bpfstar/bpfstar/progtype"
)

// ProgType is a program type, as far as the interpreter's contexts go.
type ProgType int

// Program types with a modelled context. Other programs get their context
// as plain bytes (the case's ctx), like syscall programs.
const (
	TypeOther        ProgType = iota
	TypeXDP                   // xdp_md over a packet
	TypeSocketFilter          // __sk_buff, the packet from its network header
	TypeSchedCLS              // __sk_buff, the packet from its Ethernet header (tc)
	TypeSchedACT
	TypeCgroupSKB // __sk_buff, as a socket filter
	TypeRawTracepoint
	TypeSyscall
)

// progType tells the type of a program from its section name, by
// libbpf's conventions (progtype).
func progType(section string) ProgType {
	d, _ := progtype.Lookup(section)
	switch d.Type {
	case progtype.XDP:
		return TypeXDP
	case progtype.SocketFilter:
		return TypeSocketFilter
	case progtype.SchedCLS:
		return TypeSchedCLS
	case progtype.SchedACT:
		return TypeSchedACT
	case progtype.CgroupSKB:
		return TypeCgroupSKB
	case progtype.RawTracepoint, progtype.RawTracepointWritable:
		return TypeRawTracepoint
	case progtype.Syscall:
		return TypeSyscall
	}
	return TypeOther
}

// Input is what BPF_PROG_TEST_RUN gives a program: packet data and a
// context (ctx_in), either of which may be absent.
type Input struct {
	Data   []byte
	Ctx    []byte
	HasCtx bool
	// CtxOut says that the caller asks for the context back (ctx_out).
	// For XDP and skb programs the kernel then builds the context from
	// zeros when none is given, as if a zero ctx_in had been: an XDP
	// packet's linear part is then empty (data_end 0), an skb's wire_len
	// is its length.
	CtxOut bool
}

// Output is what a run leaves: the return value, the packet (data_out)
// and the context (ctx_out), as BPF_PROG_TEST_RUN reports them.
type Output struct {
	Retval uint32
	Data   []byte
	Ctx    []byte
}

// The layout of the kernel's test-run packets.
const (
	xdpHeadroom  = 256  // XDP_PACKET_HEADROOM
	xdpFrameSize = 40   // sizeof(struct xdp_frame), kept before data
	xdpFrame     = 4096 // the page a test-run frame lives in
	xdpTailroom  = 320  // sizeof(struct skb_shared_info)
	xdpMaxFrags  = 17   // MAX_SKB_FRAGS
	xdpMaxMeta   = 255  // xdp_metalen_invalid: skb_shared_info.meta_len is a u8 (Linux 6.18; 32 before)
	ethHlen      = 14
	skbHeadroom  = 64 + 2 // NET_SKB_PAD + NET_IP_ALIGN
	skbPad       = 64     // NET_SKB_PAD: an skb's headroom on x86-64 (NET_IP_ALIGN is 0 there)
	xdpMdSize    = 24
	skbSize      = 192 // sizeof(struct __sk_buff)
)

// packet is where the packet of a run lies in its region.
type packet struct {
	meta, data, end uint32
	typ             ProgType
	// frags are the bytes of an XDP packet past its linear part.
	frags []byte
	// ctxIn is the xdp_md an XDP run was given (nil for none).
	ctxIn []byte
}

// setupPacket prepares the context and packet regions of a run of a
// program of type typ and returns r1 (the context's address).
func (m *Machine) setupPacket(typ ProgType, in Input) (uint64, error) {
	m.pkt = packet{typ: typ}
	m.regions[regionPacket] = region{}
	if in.CtxOut && !in.HasCtx && (typ == TypeXDP || isSkb(typ)) {
		in.HasCtx, in.Ctx = true, nil
	}
	switch typ {
	case TypeXDP:
		if len(in.Data) < ethHlen {
			return 0, fmt.Errorf("%w: XDP test runs need at least %d bytes of data (EINVAL)", ErrInput, ethHlen)
		}
		meta := uint32(0)
		linear := uint32(len(in.Data))
		ctx := make([]byte, xdpMdSize)
		m.pkt.ctxIn = nil
		if in.HasCtx {
			// Linux 6.18 takes data_end as the length of the linear part
			// (it was the packet's length before); the rest of the data
			// goes into fragments, which direct packet access does not
			// reach. data is the length of the metadata, which leads the
			// data.
			copy(ctx, in.Ctx)
			if len(in.Ctx) > xdpMdSize || le32(ctx, 8) != 0 || le32(ctx, 20) != 0 ||
				le32(ctx, 4) > uint32(len(in.Data)) || le32(ctx, 0) > le32(ctx, 4) || le32(ctx, 0) > xdpMaxMeta || le32(ctx, 0)%4 != 0 {
				return 0, fmt.Errorf("%w: the kernel refuses this xdp_md (EINVAL)", ErrInput)
			}
			meta, linear = le32(ctx, 0), le32(ctx, 4)
			m.pkt.ctxIn = bytes.Clone(ctx)
		}
		if le32(ctx, 12) == 0 {
			binary.LittleEndian.PutUint32(ctx[12:], 1) // ingress_ifindex: the loopback device
		}
		// The metadata comes out of the headroom: data starts at
		// XDP_PACKET_HEADROOM whatever the metadata. The linear part
		// ends where the page's tailroom begins; the rest of the data
		// goes into at most MAX_SKB_FRAGS page-sized fragments.
		if max := uint32(xdpFrame - xdpHeadroom - xdpTailroom); linear-meta > max {
			linear = meta + max
		}
		if len(in.Data)-int(linear) > xdpMaxFrags*xdpFrame {
			return 0, fmt.Errorf("%w: XDP test runs take at most %d bytes of data past the linear part's %d (ENOMEM)", ErrInput, xdpMaxFrags*xdpFrame, linear)
		}
		buf := make([]byte, xdpFrame)
		copy(buf[xdpHeadroom-meta:], in.Data[:linear])
		m.pkt.frags = bytes.Clone(in.Data[linear:])
		m.pkt.meta, m.pkt.data, m.pkt.end = xdpHeadroom-meta, xdpHeadroom, xdpHeadroom-meta+linear
		m.regions[regionPacket] = region{data: buf, name: "packet"}
		m.syncPacket()
		m.regions[regionCtx] = region{data: ctx, hi: xdpMdSize, name: "xdp_md", ptrs: []ptrField{
			{0, func() uint64 { return addr(regionPacket, m.pkt.data) }},
			{4, func() uint64 { return addr(regionPacket, m.pkt.end) }},
			{8, func() uint64 { return addr(regionPacket, m.pkt.meta) }},
		}}
		return addr(regionCtx, 0), nil
	case TypeSocketFilter, TypeSchedCLS, TypeSchedACT, TypeCgroupSKB:
		if len(in.Data) < ethHlen {
			return 0, fmt.Errorf("%w: skb test runs need at least %d bytes of data (EINVAL)", ErrInput, ethHlen)
		}
		if max := xdpFrame - skbPad - xdpTailroom; len(in.Data) > max {
			return 0, fmt.Errorf("%w: skb test runs take at most %d bytes of data (EINVAL)", ErrInput, max)
		}
		// The kernel sets the socket's addresses from the IP header, and
		// refuses a frame too short to hold it.
		switch proto := binary.BigEndian.Uint16(in.Data[12:]); {
		case proto == 0x0800 && len(in.Data) < ethHlen+20:
			return 0, fmt.Errorf("%w: an IPv4 frame of %d bytes, shorter than its headers (%d; EINVAL)", ErrInput, len(in.Data), ethHlen+20)
		case proto == 0x86dd && len(in.Data) < ethHlen+40:
			return 0, fmt.Errorf("%w: an IPv6 frame of %d bytes, shorter than its headers (%d; EINVAL)", ErrInput, len(in.Data), ethHlen+40)
		}
		buf := make([]byte, skbHeadroom+len(in.Data)+xdpFrame)
		copy(buf[skbHeadroom:], in.Data)
		start := uint32(skbHeadroom)
		l2 := typ == TypeSchedCLS || typ == TypeSchedACT
		if !l2 {
			start += ethHlen
		}
		m.pkt.meta, m.pkt.data, m.pkt.end = start, start, skbHeadroom+uint32(len(in.Data))
		m.regions[regionPacket] = region{data: buf, name: "packet"}
		m.syncPacket()
		ctx := make([]byte, skbSize)
		if in.HasCtx {
			if len(in.Ctx) > skbSize {
				return 0, fmt.Errorf("%w: a __sk_buff has %d bytes, not %d (EINVAL)", ErrInput, skbSize, len(in.Ctx))
			}
			copy(ctx, in.Ctx)
		}
		m.fillSkb(ctx, in)
		m.regions[regionCtx] = region{data: ctx, hi: skbSize, name: "__sk_buff", ptrs: []ptrField{
			{76, func() uint64 { return addr(regionPacket, m.pkt.data) }},
			{80, func() uint64 { return addr(regionPacket, m.pkt.end) }},
			{140, func() uint64 { return addr(regionPacket, m.pkt.meta) }},
		}}
		return addr(regionCtx, 0), nil
	}
	if len(in.Data) > 0 {
		return 0, fmt.Errorf("%w: a program of this type takes no data, only a context", ErrInput)
	}
	ctx := append([]byte(nil), in.Ctx...)
	m.regions[regionCtx] = region{data: ctx, hi: uint32(len(ctx)), name: "ctx", ro: typ == TypeRawTracepoint}
	if len(ctx) == 0 {
		return 0, nil
	}
	return addr(regionCtx, 0), nil
}

// syncPacket sets the bounds of the packet region to the packet.
func (m *Machine) syncPacket() {
	r := &m.regions[regionPacket]
	r.lo, r.hi = m.pkt.meta, m.pkt.end
}

func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

// fillSkb sets the __sk_buff fields the kernel's test run computes.
func (m *Machine) fillSkb(ctx []byte, in Input) {
	put := func(off int, v uint32) { binary.LittleEndian.PutUint32(ctx[off:], v) }
	put(0, m.pkt.end-m.pkt.data) // len
	// pkt_type, as eth_type_trans sets it for the loopback device, whose
	// address is all zeros and whose broadcast address is not all ones.
	dst := in.Data[0:6]
	switch {
	case dst[0]&1 != 0:
		put(4, 2) // PACKET_MULTICAST
	case string(dst) != "\x00\x00\x00\x00\x00\x00":
		put(4, 3) // PACKET_OTHERHOST
	}
	proto := binary.BigEndian.Uint16(in.Data[12:])
	if proto < 0x600 {
		proto = 0x0004 // ETH_P_802_2
		if binary.BigEndian.Uint16(in.Data[14:]) == 0xffff {
			proto = 0x0001
		}
	}
	put(16, uint32(proto>>8|proto<<8)) // protocol, in network order
	if le32(ctx, 40) == 0 {
		put(40, 1) // ifindex: the loopback device
	}
	if in.HasCtx && le32(ctx, 160) == 0 {
		// wire_len: the kernel converts a given context, and takes the
		// packet's length for a zero wire_len; without one it stays 0.
		put(160, m.pkt.end-m.pkt.data)
	}
	ip := in.Data[ethHlen:]
	switch {
	case proto == 0x0800:
		put(88, 2) // AF_INET
		if len(ip) >= 20 {
			copy(ctx[92:96], ip[16:20]) // remote_ip4: the destination
			copy(ctx[96:100], ip[12:16])
		}
	case proto == 0x86dd:
		put(88, 10) // AF_INET6
		if len(ip) >= 40 {
			copy(ctx[100:116], ip[24:40])
			copy(ctx[116:132], ip[8:24])
		}
	}
}

// skbOutFields are the __sk_buff fields the kernel copies to ctx_out
// (offset, size); the others read as zero there.
var skbOutFields = [][2]int{{8, 4}, {32, 4}, {36, 4}, {40, 4}, {48, 20}, {152, 8}, {160, 4}, {164, 4}, {176, 4}, {184, 8}}

// packetOutput returns the packet as data_out and the context as
// ctx_out.
func (m *Machine) packetOutput() (data, ctx []byte) {
	c := m.regions[regionCtx].data
	switch m.pkt.typ {
	case TypeXDP:
		out := append([]byte(nil), m.regions[regionPacket].data[m.pkt.meta:m.pkt.end]...)
		out = append(out, m.pkt.frags...)
		// The kernel writes data and data_end back and leaves the other
		// members as given (ingress_ifindex 0 stays 0, although the
		// program saw the loopback device's 1).
		ctx = make([]byte, xdpMdSize)
		copy(ctx, m.pkt.ctxIn)
		binary.LittleEndian.PutUint32(ctx[0:], m.pkt.data-m.pkt.meta)
		binary.LittleEndian.PutUint32(ctx[4:], m.pkt.end-m.pkt.meta)
		binary.LittleEndian.PutUint32(ctx[8:], 0)
		return out, ctx
	case TypeSocketFilter, TypeSchedCLS, TypeSchedACT, TypeCgroupSKB:
		buf := m.regions[regionPacket].data
		start := m.pkt.data
		out := []byte(nil)
		if m.pkt.typ == TypeSocketFilter || m.pkt.typ == TypeCgroupSKB {
			// The kernel puts back an Ethernet header of zeros.
			out = make([]byte, ethHlen)
		}
		out = append(out, buf[start:m.pkt.end]...)
		ctx = make([]byte, skbSize)
		for _, f := range skbOutFields {
			copy(ctx[f[0]:f[0]+f[1]], c[f[0]:])
		}
		return out, ctx
	}
	return nil, append([]byte(nil), c...)
}

func (m *Machine) ctxIs(v uint64, typ ...ProgType) error {
	if v != addr(regionCtx, 0) {
		return faultf(ErrHelper, "argument %s is not the context", m.describe(v))
	}
	for _, t := range typ {
		if m.pkt.typ == t {
			return nil
		}
	}
	return faultf(ErrHelper, "helper not available to this program type")
}

func isSkb(t ProgType) bool {
	return t == TypeSocketFilter || t == TypeSchedCLS || t == TypeSchedACT || t == TypeCgroupSKB
}

func helperXdpAdjustHead(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeXDP); err != nil {
		return 0, err
	}
	delta := int64(int32(a[1]))
	data := int64(m.pkt.data) + delta
	metalen := int64(m.pkt.data - m.pkt.meta)
	if data-metalen < xdpFrameSize || data > int64(m.pkt.end)-ethHlen {
		return errno(einval), nil
	}
	buf := m.regions[regionPacket].data
	if metalen > 0 {
		copy(buf[data-metalen:], buf[m.pkt.meta:m.pkt.data])
	}
	m.pkt.data = uint32(data)
	m.pkt.meta = uint32(data - metalen)
	m.syncPacket()
	return 0, nil
}

func helperXdpAdjustTail(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeXDP); err != nil {
		return 0, err
	}
	if len(m.pkt.frags) > 0 {
		return 0, faultf(ErrUnsupported, "bpf_xdp_adjust_tail of a packet with fragments (its xdp_md's data_end is shorter than the data)")
	}
	end := int64(m.pkt.end) + int64(int32(a[1]))
	if end > xdpFrame-xdpTailroom || end < int64(m.pkt.data)+ethHlen {
		return errno(einval), nil
	}
	buf := m.regions[regionPacket].data
	if end > int64(m.pkt.end) {
		clear(buf[m.pkt.end:end])
	}
	m.pkt.end = uint32(end)
	m.syncPacket()
	return 0, nil
}

// helperXdpGetBuffLen is bpf_xdp_get_buff_len: the packet's length,
// its linear part and fragments.
func helperXdpGetBuffLen(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeXDP); err != nil {
		return 0, err
	}
	return uint64(m.pkt.end-m.pkt.data) + uint64(len(m.pkt.frags)), nil
}

// xdpBytes returns where bytes [off, off+n) of an XDP packet (from data,
// through the linear part into the fragments) lie, or the error
// bpf_xdp_load_bytes and bpf_xdp_store_bytes return: -EFAULT for an
// offset or length past 0xffff, -EINVAL past the packet.
func (m *Machine) xdpBytes(off, n uint64) (linear, frags []byte, e uint64) {
	if off > 0xffff || n > 0xffff {
		return nil, nil, errno(14)
	}
	lin := m.regions[regionPacket].data[m.pkt.data:m.pkt.end]
	if off+n > uint64(len(lin))+uint64(len(m.pkt.frags)) {
		return nil, nil, errno(einval)
	}
	from, to := min(off, uint64(len(lin))), min(off+n, uint64(len(lin)))
	linear = lin[from:to]
	start := off + uint64(len(linear)) - uint64(len(lin))
	if off < uint64(len(lin)) {
		start = 0
	}
	rest := n - uint64(len(linear))
	return linear, m.pkt.frags[start : start+rest], 0
}

// helperXdpLoadBytes is bpf_xdp_load_bytes: it copies bytes of the
// packet, from its linear part or its fragments.
func helperXdpLoadBytes(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeXDP); err != nil {
		return 0, err
	}
	lin, frags, e := m.xdpBytes(uint64(uint32(a[1])), uint64(uint32(a[3])))
	if e != 0 {
		return e, nil
	}
	return 0, m.Write(a[2], append(bytes.Clone(lin), frags...))
}

// helperXdpStoreBytes is bpf_xdp_store_bytes: it writes bytes of the
// packet, in its linear part or its fragments.
func helperXdpStoreBytes(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeXDP); err != nil {
		return 0, err
	}
	lin, frags, e := m.xdpBytes(uint64(uint32(a[1])), uint64(uint32(a[3])))
	if e != 0 {
		return e, nil
	}
	b, err := m.Read(a[2], len(lin)+len(frags))
	if err != nil {
		return 0, err
	}
	copy(lin, b)
	copy(frags, b[len(lin):])
	return 0, nil
}

func helperXdpAdjustMeta(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeXDP); err != nil {
		return 0, err
	}
	meta := int64(m.pkt.meta) + int64(int32(a[1]))
	if meta < xdpFrameSize || meta > int64(m.pkt.data) {
		return errno(einval), nil
	}
	if n := int64(m.pkt.data) - meta; n%4 != 0 || n > xdpMaxMeta {
		return errno(eacces), nil
	}
	m.pkt.meta = uint32(meta)
	m.syncPacket()
	return 0, nil
}

func helperSkbLoadBytes(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeSocketFilter, TypeSchedCLS, TypeSchedACT, TypeCgroupSKB); err != nil {
		return 0, err
	}
	off, n := uint64(uint32(a[1])), uint64(uint32(a[3]))
	if off+n > uint64(m.pkt.end-m.pkt.data) || n == 0 {
		if err := m.Zero(a[2], int(min(n, 1<<31))); err != nil {
			return 0, err
		}
		return errno(14), nil
	}
	start := uint64(m.pkt.data) + off
	return 0, m.Write(a[2], append([]byte(nil), m.regions[regionPacket].data[start:start+n]...))
}

// helperSkbLoadBytesRelative is bpf_skb_load_bytes_relative: like
// bpf_skb_load_bytes, from the Ethernet header (BPF_HDR_START_MAC, 0) or
// the network header (BPF_HDR_START_NET, 1), which a test run's skb has at
// the frame's start and 14 bytes on, whatever the program type; the bytes
// end at the packet's end. A bad header or range zeroes the buffer and
// returns -EFAULT.
func helperSkbLoadBytesRelative(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeSocketFilter, TypeSchedCLS, TypeSchedACT, TypeCgroupSKB); err != nil {
		return 0, err
	}
	off, n := uint64(uint32(a[1])), uint64(uint32(a[3]))
	start := uint64(skbHeadroom)
	ok := off <= 0xffff && n > 0
	switch a[4] {
	case 0: // BPF_HDR_START_MAC
	case 1: // BPF_HDR_START_NET
		start += ethHlen
	default:
		ok = false
	}
	start += off
	if !ok || start+n > uint64(m.pkt.end) {
		if err := m.Zero(a[2], int(min(n, 1<<31))); err != nil {
			return 0, err
		}
		return errno(14), nil
	}
	return 0, m.Write(a[2], append([]byte(nil), m.regions[regionPacket].data[start:start+n]...))
}

func helperSkbStoreBytes(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeSchedCLS, TypeSchedACT); err != nil {
		return 0, err
	}
	off, n := uint64(uint32(a[1])), uint64(uint32(a[3]))
	if a[4]&^3 != 0 {
		return errno(einval), nil
	}
	if off+n > uint64(m.pkt.end-m.pkt.data) {
		return errno(14), nil
	}
	src, err := m.Read(a[2], int(n))
	if err != nil {
		return 0, err
	}
	start := uint64(m.pkt.data) + off
	copy(m.regions[regionPacket].data[start:], src)
	return 0, nil
}

// csumReplace updates the 16-bit checksum at packet offset off for a
// change of a size-byte field (2 or 4) from "from" to "to", or by the
// checksum difference "to" when size is 0.
func (m *Machine) csumReplace(off uint64, from, to uint64, size uint64, mangled0, force bool) (uint64, error) {
	if off&1 != 0 || off+2 > uint64(m.pkt.end-m.pkt.data) {
		return errno(14), nil // -EFAULT
	}
	b := m.regions[regionPacket].data[uint64(m.pkt.data)+off:]
	sum := binary.LittleEndian.Uint16(b)
	if mangled0 && !force && sum == 0 {
		return 0, nil
	}
	s := uint64(^sum)
	switch size {
	case 0: // to is a csum_diff; from must be 0
		if from != 0 {
			return errno(einval), nil
		}
		s += uint64(uint32(to))
	case 2:
		s += uint64(^uint16(from)) + uint64(uint16(to))
	case 4:
		s += uint64(^uint16(from)) + uint64(^uint16(from>>16)) + uint64(uint16(to)) + uint64(uint16(to>>16))
	default:
		return errno(einval), nil
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	res := ^uint16(s)
	if mangled0 && res == 0 {
		res = 0xffff
	}
	binary.LittleEndian.PutUint16(b, res)
	return 0, nil
}

func helperL3CsumReplace(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeSchedCLS, TypeSchedACT); err != nil {
		return 0, err
	}
	if a[4]&^0xf != 0 {
		return errno(einval), nil
	}
	return m.csumReplace(uint64(uint32(a[1])), a[2], a[3], a[4]&0xf, false, false)
}

func helperL4CsumReplace(m *Machine, a [5]uint64) (uint64, error) {
	if err := m.ctxIs(a[0], TypeSchedCLS, TypeSchedACT); err != nil {
		return 0, err
	}
	// BPF_F_PSEUDO_HDR (0x10) and BPF_F_IPV6 (0x80) matter only for a
	// checksum the device completes, which a test run's packet has not.
	const mangled0, enforce = 0x20, 0x40
	if a[4]&^0xff != 0 {
		return errno(einval), nil
	}
	return m.csumReplace(uint64(uint32(a[1])), a[2], a[3], a[4]&0xf, a[4]&mangled0 != 0, a[4]&enforce != 0)
}

// helperRedirect returns XDP_REDIRECT or TC_ACT_REDIRECT; the machine
// records the target interface (Redirected).
func helperRedirect(m *Machine, a [5]uint64) (uint64, error) {
	switch {
	case m.pkt.typ == TypeXDP:
		if a[1] != 0 {
			return 0, nil // XDP_ABORTED
		}
		m.redirect = uint32(a[0])
		return 4, nil
	case isSkb(m.pkt.typ):
		if a[1]&^1 != 0 {
			return 2, nil // TC_ACT_SHOT
		}
		m.redirect = uint32(a[0])
		return 7, nil
	}
	return 0, faultf(ErrHelper, "bpf_redirect not available to this program type")
}

// Redirected returns the interface index of the last bpf_redirect.
func (m *Machine) Redirected() uint32 { return m.redirect }

// helperRedirectMap returns XDP_REDIRECT when the map has a target at the
// key (a non-zero interface index, queue size or socket), else the action
// in the low two bits of flags, as the kernel's test run does; the machine
// records the key (Redirected).
func helperRedirectMap(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := m.mapArg(a[0])
	if err != nil {
		return 0, err
	}
	switch mp.Type {
	case MapDevmap, MapDevmapHash, MapCPUMap, MapXSKMap:
	default:
		return 0, faultf(ErrUnsupported, "bpf_redirect_map on %s map %s (device, CPU and socket maps are modelled)", mp.TypeName(), mp.Name)
	}
	if m.pkt.typ != TypeXDP {
		return 0, faultf(ErrHelper, "bpf_redirect_map is for XDP programs here")
	}
	const broadcast, exclude = 8, 16
	flags := a[2]
	if flags&^(3|broadcast|exclude) != 0 {
		return 0, nil // XDP_ABORTED
	}
	if flags&broadcast != 0 && (mp.Type == MapDevmap || mp.Type == MapDevmapHash) {
		return 4, nil
	}
	v := mp.lookup(binary.LittleEndian.AppendUint32(nil, uint32(a[1])))
	if v != 0 {
		if b, err := m.Read(v, 4); err == nil && binary.LittleEndian.Uint32(b) != 0 {
			m.redirect = uint32(a[1])
			return 4, nil // XDP_REDIRECT
		}
	}
	return flags & 3, nil
}
