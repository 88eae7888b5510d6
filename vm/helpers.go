package vm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/bpfstar/bpfstar/helper"
)

// Env is what a program can learn about the world through helpers; the
// test sets it, so that every run is deterministic.
type Env struct {
	// Time is what bpf_ktime_get_ns (and its boot and coarse kinds)
	// returns; each call then adds TimeStep.
	Time, TimeStep uint64
	// Seed seeds bpf_get_prandom_u32.
	Seed uint64
	// CPU is the CPU the program runs on (bpf_get_smp_processor_id, and
	// the copy of a per-CPU map it sees); NumCPU the number of CPUs
	// (at least CPU+1).
	CPU, NumCPU int
	// PID and TGID are bpf_get_current_pid_tgid's; UID and GID
	// bpf_get_current_uid_gid's; Comm bpf_get_current_comm's.
	PID, TGID, UID, GID uint32
	Comm                string
	// MapMemory bounds the bytes the machine's array maps and data
	// sections may take together (0: DefaultMapMemory).
	MapMemory uint64
}

// DefaultMapMemory is the default of Env.MapMemory.
const DefaultMapMemory = 1 << 28

// standardHelpers are the helpers every machine of an object has, by
// their UAPI name in package helper's table (which gives their numbers).
// Their behaviour follows the kernel's, with the world replaced by Env.
var standardHelpers = map[string]Helper{
	"bpf_map_lookup_elem":         helperMapLookup,
	"bpf_map_update_elem":         helperMapUpdate,
	"bpf_map_delete_elem":         helperMapDelete,
	"bpf_map_push_elem":           helperMapPush,
	"bpf_map_pop_elem":            helperMapPop,
	"bpf_map_peek_elem":           helperMapPeek,
	"bpf_ktime_get_ns":            helperKtime,
	"bpf_ktime_get_boot_ns":       helperKtime,
	"bpf_ktime_get_coarse_ns":     helperKtime,
	"bpf_get_prandom_u32":         helperPrandom,
	"bpf_get_smp_processor_id":    func(m *Machine, _ [5]uint64) (uint64, error) { return uint64(m.Env.CPU), nil },
	"bpf_get_current_pid_tgid":    func(m *Machine, _ [5]uint64) (uint64, error) { return uint64(m.Env.TGID)<<32 | uint64(m.Env.PID), nil },
	"bpf_get_current_uid_gid":     func(m *Machine, _ [5]uint64) (uint64, error) { return uint64(m.Env.GID)<<32 | uint64(m.Env.UID), nil },
	"bpf_get_current_comm":        helperComm,
	"bpf_trace_printk":            helperTracePrintk,
	"bpf_probe_read":              helperProbeRead,
	"bpf_probe_read_kernel":       helperProbeRead,
	"bpf_probe_read_kernel_str":   helperProbeReadStr,
	"bpf_tail_call":               helperTailCall,
	"bpf_loop":                    helperLoop,
	"bpf_for_each_map_elem":       helperForEachMapElem,
	"bpf_spin_lock":               helperSpinLock,
	"bpf_spin_unlock":             helperSpinLock,
	"bpf_ringbuf_output":          helperRingbufOutput,
	"bpf_ringbuf_reserve":         helperRingbufReserve,
	"bpf_ringbuf_submit":          helperRingbufSubmit,
	"bpf_ringbuf_discard":         helperRingbufDiscard,
	"bpf_ringbuf_query":           helperRingbufQuery,
	"bpf_csum_diff":               helperCsumDiff,
	"bpf_xdp_adjust_head":         helperXdpAdjustHead,
	"bpf_xdp_adjust_tail":         helperXdpAdjustTail,
	"bpf_xdp_adjust_meta":         helperXdpAdjustMeta,
	"bpf_skb_load_bytes":          helperSkbLoadBytes,
	"bpf_skb_store_bytes":         helperSkbStoreBytes,
	"bpf_l3_csum_replace":         helperL3CsumReplace,
	"bpf_l4_csum_replace":         helperL4CsumReplace,
	"bpf_redirect":                helperRedirect,
	"bpf_redirect_map":            helperRedirectMap,
	"bpf_timer_init":              helperTimerInit,
	"bpf_timer_set_callback":      helperTimerSetCallback,
	"bpf_timer_start":             helperTimerStart,
	"bpf_timer_cancel":            helperTimerCancel,
	"bpf_get_numa_node_id":        func(*Machine, [5]uint64) (uint64, error) { return 0, nil },
	"bpf_ktime_get_tai_ns":        helperKtime,
	"bpf_jiffies64":               helperKtime,
	"bpf_skb_load_bytes_relative": helperSkbLoadBytesRelative,
	"bpf_perf_event_output":       helperPerfEventOutput,
	"bpf_xdp_get_buff_len":        helperXdpGetBuffLen,
	"bpf_xdp_load_bytes":          helperXdpLoadBytes,
	"bpf_xdp_store_bytes":         helperXdpStoreBytes,
}

// UseStandardHelpers gives m the helpers the interpreter models (see the
// package documentation and README's list).
func (m *Machine) UseStandardHelpers() {
	for name, h := range standardHelpers {
		if d, ok := helper.Lookup(name); ok {
			m.SetHelper(d.ID, h)
		}
	}
}

func helperMapLookup(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := m.mapArg(a[0])
	if err != nil {
		return 0, err
	}
	if mp.Type == MapRingbuf || mp.Type == MapQueue || mp.Type == MapStack || mp.Type == MapProgArray {
		return 0, faultf(ErrHelper, "bpf_map_lookup_elem on %s map %s", mp.TypeName(), mp.Name)
	}
	key, err := m.Read(a[1], int(mp.KeySize))
	if err != nil {
		return 0, err
	}
	return mp.lookup(key), nil
}

func helperMapUpdate(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := m.mapArg(a[0])
	if err != nil {
		return 0, err
	}
	if mp.Type == MapProgArray || mp.Type == MapArrayOfMaps || mp.Type == MapHashOfMaps || mp.Type == MapRingbuf {
		return 0, faultf(ErrHelper, "bpf_map_update_elem on %s map %s", mp.TypeName(), mp.Name)
	}
	key, err := m.Read(a[1], int(mp.KeySize))
	if err != nil {
		return 0, err
	}
	val, err := m.Read(a[2], int(mp.ValueSize))
	if err != nil {
		return 0, err
	}
	return mp.update(bytes.Clone(key), bytes.Clone(val), a[3], false), nil
}

func helperMapDelete(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := m.mapArg(a[0])
	if err != nil {
		return 0, err
	}
	key, err := m.Read(a[1], int(mp.KeySize))
	if err != nil {
		return 0, err
	}
	return mp.delete(bytes.Clone(key)), nil
}

func queueMap(m *Machine, v uint64, name string) (*Map, error) {
	mp, err := m.mapArg(v)
	if err != nil {
		return nil, err
	}
	if mp.Type != MapQueue && mp.Type != MapStack {
		return nil, faultf(ErrHelper, "%s on %s map %s", name, mp.TypeName(), mp.Name)
	}
	return mp, nil
}

func helperMapPush(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := queueMap(m, a[0], "bpf_map_push_elem")
	if err != nil {
		return 0, err
	}
	val, err := m.Read(a[1], int(mp.ValueSize))
	if err != nil {
		return 0, err
	}
	return mp.update(nil, bytes.Clone(val), a[2], false), nil
}

// popPeek takes (pop) or copies (peek) the next value of a queue (the
// oldest) or stack (the newest) to a[1].
func popPeek(m *Machine, a [5]uint64, pop bool) (uint64, error) {
	mp, err := queueMap(m, a[0], "bpf_map_pop_elem")
	if err != nil {
		return 0, err
	}
	if len(mp.queue) == 0 {
		return errno(enoent), nil
	}
	i := 0
	if mp.Type == MapStack {
		i = len(mp.queue) - 1
	}
	if err := m.Write(a[1], mp.queue[i]); err != nil {
		return 0, err
	}
	if pop {
		mp.queue = append(mp.queue[:i], mp.queue[i+1:]...)
	}
	return 0, nil
}

func helperMapPop(m *Machine, a [5]uint64) (uint64, error)  { return popPeek(m, a, true) }
func helperMapPeek(m *Machine, a [5]uint64) (uint64, error) { return popPeek(m, a, false) }

func helperKtime(m *Machine, _ [5]uint64) (uint64, error) {
	t := m.Env.Time
	m.Env.Time += m.Env.TimeStep
	return t, nil
}

// helperPrandom is splitmix64 over the seed: deterministic for a seed.
func helperPrandom(m *Machine, _ [5]uint64) (uint64, error) {
	m.Env.Seed += 0x9e3779b97f4a7c15
	z := m.Env.Seed
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return uint64(uint32(z ^ (z >> 31))), nil
}

func helperComm(m *Machine, a [5]uint64) (uint64, error) {
	n := int(uint32(a[1]))
	if n == 0 {
		return errno(einval), nil
	}
	if err := m.Zero(a[0], n); err != nil {
		return 0, err
	}
	comm := m.Env.Comm
	if len(comm) > n-1 {
		comm = comm[:n-1]
	}
	return 0, m.Write(a[0], []byte(comm))
}

// helperProbeRead reads memory the machine has (there is no kernel
// memory); like the kernel, it zeroes the destination and returns -EFAULT
// when the source cannot be read.
func helperProbeRead(m *Machine, a [5]uint64) (uint64, error) {
	n := int(uint32(a[1]))
	if err := m.Zero(a[0], n); err != nil {
		return 0, err
	}
	src, err := m.Read(a[2], n)
	if err != nil {
		return errno(14), nil // -EFAULT, the destination cleared
	}
	return 0, m.Write(a[0], bytes.Clone(src))
}

func helperProbeReadStr(m *Machine, a [5]uint64) (uint64, error) {
	n := int(uint32(a[1]))
	if n == 0 {
		return 0, nil
	}
	if _, _, err := m.span(a[0], uint32(min(n, 1<<30)), true); err != nil {
		return 0, err
	}
	var out []byte
	for i := 0; i < n-1; i++ {
		b, err := m.Read(a[2]+uint64(i), 1)
		if err != nil {
			// A fault before the NUL, at the start or not: -EFAULT,
			// the destination cleared.
			if err := m.Zero(a[0], n); err != nil {
				return 0, err
			}
			return errno(14), nil
		}
		if b[0] == 0 {
			break
		}
		out = append(out, b[0])
	}
	out = append(out, 0)
	return uint64(len(out)), m.Write(a[0], out)
}

func helperTailCall(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := m.mapArg(a[1])
	if err != nil {
		return 0, err
	}
	if mp.Type != MapProgArray {
		return 0, faultf(ErrHelper, "bpf_tail_call on %s map %s", mp.TypeName(), mp.Name)
	}
	i := uint32(a[2])
	if i >= uint32(len(mp.slots)) || mp.slots[i] < 0 || m.tailCalls >= maxTailCalls {
		return errno(enoent), nil // the program goes on
	}
	m.tailCalls++
	m.tail = mp.slots[i]
	return 0, nil
}

// callback runs the function fn (a value of a 64-bit function load) in a
// new frame with the given arguments.
func (m *Machine) callback(fn uint64, args ...uint64) (uint64, error) {
	if fn&tagMask != funcTag || fn&^tagMask >= uint64(m.prog.Len()) {
		return 0, faultf(ErrHelper, "callback %s is not a function", m.describe(fn))
	}
	var a [5]uint64
	copy(a[:], args)
	pc := m.pc
	m.depth++
	r, err := m.exec(int(fn&^tagMask), &a)
	m.depth--
	m.pc = pc
	return r, err
}

func helperLoop(m *Machine, a [5]uint64) (uint64, error) {
	if a[3] != 0 {
		return errno(einval), nil
	}
	if a[0] > 1<<23 {
		return errno(e2big), nil
	}
	for i := uint64(0); i < a[0]; i++ {
		r, err := m.callback(a[1], i, a[2])
		if err != nil {
			return 0, err
		}
		if r != 0 {
			return i + 1, nil
		}
	}
	return a[0], nil
}

func helperForEachMapElem(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := m.mapArg(a[0])
	if err != nil {
		return 0, err
	}
	if a[3] != 0 {
		return errno(einval), nil
	}
	keyRegion := m.allocRegion("key of map "+mp.Name, int(mp.KeySize))
	defer m.freeRegion(keyRegion)
	m.regions[keyRegion].ro = true
	var keys [][]byte
	entries := uint32(0)
	switch {
	case isArray(mp.Type):
		entries = mp.MaxEntries
	case mp.index != nil:
		for _, e := range mp.elems {
			keys = append(keys, e.key)
		}
		entries = uint32(len(keys))
	default:
		return 0, faultf(ErrHelper, "bpf_for_each_map_elem on %s map %s", mp.TypeName(), mp.Name)
	}
	n := uint64(0)
	for i := uint32(0); i < entries; i++ {
		var k []byte
		if keys != nil {
			k = keys[i]
		} else {
			k = binary.LittleEndian.AppendUint32(nil, i)
		}
		v := mp.lookup(k)
		if v == 0 {
			continue
		}
		copy(m.regions[keyRegion].data, k)
		n++
		r, err := m.callback(a[1], a[0], addr(keyRegion, 0), v, a[2])
		if err != nil {
			return 0, err
		}
		if r != 0 {
			break
		}
	}
	return n, nil
}

func helperSpinLock(m *Machine, a [5]uint64) (uint64, error) {
	if _, _, err := m.span(a[0], 4, true); err != nil {
		return 0, err
	}
	return 0, nil
}

func ringbufMap(m *Machine, v uint64) (*Map, error) {
	mp, err := m.mapArg(v)
	if err != nil {
		return nil, err
	}
	if mp.Type != MapRingbuf {
		return nil, faultf(ErrHelper, "ring buffer helper on %s map %s", mp.TypeName(), mp.Name)
	}
	return mp, nil
}

// ringUsed is the room a ring buffer's records take, submitted or
// reserved, with their 8-byte headers.
func (mp *Map) ringUsed() int {
	n := 0
	for _, r := range mp.records {
		n += 8 + (len(r)+7)&^7
	}
	for _, r := range mp.m.reserved {
		if r.mp == mp {
			n += 8 + (len(mp.m.regions[r.region].data)+7)&^7
		}
	}
	return n
}

// ringFits reports whether a record of n bytes fits: the kernel keeps
// its producer less than the ring's size ahead of its consumer.
func (mp *Map) ringFits(n int) bool {
	return mp.ringUsed()+8+(n+7)&^7 < int(mp.MaxEntries)
}

func helperRingbufOutput(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := ringbufMap(m, a[0])
	if err != nil {
		return 0, err
	}
	const noWakeup, forceWakeup = 1, 2
	if a[3]&^(noWakeup|forceWakeup) != 0 {
		return errno(einval), nil
	}
	data, err := m.Read(a[1], int(uint32(a[2])))
	if err != nil {
		return 0, err
	}
	if !mp.ringFits(len(data)) {
		return errno(11), nil // -EAGAIN
	}
	mp.records = append(mp.records, bytes.Clone(data))
	return 0, nil
}

func helperRingbufReserve(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := ringbufMap(m, a[0])
	if err != nil {
		return 0, err
	}
	n := int(a[1])
	if a[2] != 0 || a[1] > uint64(mp.MaxEntries) || !mp.ringFits(n) {
		return 0, nil // NULL: flags, or no room
	}
	id := m.allocRegion("ring buffer record of "+mp.Name, n)
	m.reserved = append(m.reserved, reservation{region: id, mp: mp})
	return addr(id, 0), nil
}

func (m *Machine) release(a uint64, submit bool) error {
	id, off := split(a)
	for i, r := range m.reserved {
		if uint64(r.region) == id && off == 0 {
			if submit {
				r.mp.records = append(r.mp.records, bytes.Clone(m.regions[id].data))
			}
			m.freeRegion(r.region)
			m.reserved = append(m.reserved[:i], m.reserved[i+1:]...)
			return nil
		}
	}
	return faultf(ErrHelper, "%s is not a reserved ring buffer record", m.describe(a))
}

func helperRingbufSubmit(m *Machine, a [5]uint64) (uint64, error) {
	return 0, m.release(a[0], true)
}

func helperRingbufDiscard(m *Machine, a [5]uint64) (uint64, error) {
	return 0, m.release(a[0], false)
}

func helperRingbufQuery(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := ringbufMap(m, a[0])
	if err != nil {
		return 0, err
	}
	switch a[1] {
	case 0: // BPF_RB_AVAIL_DATA
		return uint64(mp.ringUsed()), nil
	case 1: // BPF_RB_RING_SIZE
		return uint64(mp.MaxEntries), nil
	}
	return 0, nil
}

// reservation is a ring buffer record reserved but not yet submitted.
type reservation struct {
	region int
	mp     *Map
}

// csumAdd adds b to the 32-bit one's complement sum s, 16 bits at a time
// in the machine's (little-endian) order, as the kernel's csum_partial.
func csumAdd(s uint64, b []byte) uint64 {
	for len(b) >= 4 {
		s += uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0])
	}
	return s
}

func fold32(s uint64) uint32 {
	for s>>32 != 0 {
		s = s&0xffffffff + s>>32
	}
	return uint32(s)
}

func helperCsumDiff(m *Machine, a [5]uint64) (uint64, error) {
	// Linux 6.12 and later check no sizes (older kernels wanted multiples
	// of 4, at most 512 bytes in all); the verifier checks the memory.
	fromSize, toSize := uint32(a[1]), uint32(a[3])
	from, err := m.Read(a[0], int(fromSize))
	if err != nil {
		return 0, err
	}
	to, err := m.Read(a[2], int(toSize))
	if err != nil {
		return 0, err
	}
	// As Linux 6.12 and later compute it, the same on every
	// architecture: one's complement sums, the difference folded to 16
	// bits.
	seed := uint32(a[4])
	var ret uint32
	switch {
	case fromSize > 0 && toSize > 0:
		ret = csumAdd32(fold32(csumAdd(uint64(seed), to)), ^fold32(csumAdd(0, from)))
	case toSize > 0:
		ret = fold32(csumAdd(uint64(seed), to))
	case fromSize > 0:
		ret = ^fold32(csumAdd(uint64(^seed), from))
	default:
		ret = seed
	}
	ret += ret>>16 | ret<<16
	return uint64(ret >> 16), nil
}

// csumAdd32 adds two 32-bit one's complement sums.
func csumAdd32(a, b uint32) uint32 {
	s := a + b
	if s < a {
		s++
	}
	return s
}

// helperTracePrintk formats like the kernel's bpf_trace_printk (%d %i %u
// %x %X with l/ll, %p, %s, %c, %%) and captures the line.
func helperTracePrintk(m *Machine, a [5]uint64) (uint64, error) {
	n := int(uint32(a[1]))
	if n == 0 {
		return errno(einval), nil
	}
	f, err := m.Read(a[0], n)
	if err != nil {
		return 0, err
	}
	if i := bytes.IndexByte(f, 0); i >= 0 {
		f = f[:i]
	} else {
		return errno(einval), nil
	}
	args := a[2:5]
	var out []byte
	used := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			out = append(out, c)
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			out = append(out, '%')
			continue
		}
		long := 0
		for i < len(f) && f[i] == 'l' {
			long++
			i++
		}
		if i >= len(f) || used >= len(args) {
			return errno(einval), nil
		}
		v := args[used]
		used++
		if long == 0 && f[i] != 'p' && f[i] != 's' {
			v = uint64(uint32(v))
		}
		switch f[i] {
		case 'd', 'i':
			if long == 0 {
				out = strconv.AppendInt(out, int64(int32(v)), 10)
			} else {
				out = strconv.AppendInt(out, int64(v), 10)
			}
		case 'u':
			out = strconv.AppendUint(out, v, 10)
		case 'x':
			out = strconv.AppendUint(out, v, 16)
		case 'X':
			out = fmt.Appendf(out, "%X", v)
		case 'p':
			out = fmt.Appendf(out, "%016x", v)
		case 'c':
			out = append(out, byte(v))
		case 's':
			for k := uint64(0); k < 1024; k++ {
				b, err := m.Read(v+k, 1)
				if err != nil || b[0] == 0 {
					break
				}
				out = append(out, b[0])
			}
		default:
			return errno(einval), nil
		}
	}
	if len(m.trace) > maxTrace {
		return uint64(len(out)), nil // the capture is full: drop the line
	}
	m.trace = append(m.trace, out...)
	if len(out) == 0 || out[len(out)-1] != '\n' {
		m.trace = append(m.trace, '\n')
	}
	return uint64(len(out)), nil
}

// maxTrace bounds the captured bpf_trace_printk output of a machine.
const maxTrace = 1 << 20

// TraceOutput returns what bpf_trace_printk printed, one line a call (up
// to about a mebibyte).
func (m *Machine) TraceOutput() string { return string(m.trace) }

// Timers: bpf_timer_init, _set_callback, _start and _cancel keep the
// state of each struct bpf_timer (by address) in the machine. A timer
// never fires during a run, as in a kernel test run, which returns before
// any timer could expire.
type timer struct {
	callback uint64
	started  bool
}

func (m *Machine) timerAt(a uint64) (*timer, error) {
	if _, _, err := m.span(a, 16, true); err != nil {
		return nil, err
	}
	return m.timers[a], nil
}

func helperTimerInit(m *Machine, a [5]uint64) (uint64, error) {
	t, err := m.timerAt(a[0])
	if err != nil {
		return 0, err
	}
	if _, err := m.mapArg(a[1]); err != nil {
		return 0, err
	}
	switch a[2] {
	case 0, 1, 7: // CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME
	default:
		return errno(einval), nil
	}
	if t != nil {
		return errno(ebusy), nil
	}
	if m.timers == nil {
		m.timers = map[uint64]*timer{}
	}
	m.timers[a[0]] = &timer{}
	return 0, nil
}

func helperTimerSetCallback(m *Machine, a [5]uint64) (uint64, error) {
	t, err := m.timerAt(a[0])
	if err != nil {
		return 0, err
	}
	if a[1]&tagMask != funcTag {
		return 0, faultf(ErrHelper, "callback %s is not a function", m.describe(a[1]))
	}
	if t == nil {
		return errno(einval), nil
	}
	t.callback = a[1]
	return 0, nil
}

func helperTimerStart(m *Machine, a [5]uint64) (uint64, error) {
	t, err := m.timerAt(a[0])
	if err != nil {
		return 0, err
	}
	if t == nil || t.callback == 0 || a[2]&^3 != 0 {
		return errno(einval), nil
	}
	t.started = true
	return 0, nil
}

func helperTimerCancel(m *Machine, a [5]uint64) (uint64, error) {
	t, err := m.timerAt(a[0])
	if err != nil {
		return 0, err
	}
	if t == nil {
		return errno(einval), nil
	}
	was := t.started
	t.started = false
	if was {
		return 1, nil
	}
	return 0, nil
}

// helperPerfEventOutput is bpf_perf_event_output (and, for skb and XDP
// programs, the kernel's bpf_skb_event_output and bpf_xdp_event_output,
// the same helper number): it adds a raw sample of size bytes at data,
// followed, for skb and XDP programs, by the first BPF_F_CTXLEN_MASK bytes
// of the packet, to the perf event array's buffer of the current CPU, as
// when user space reads every CPU's buffer (bpfstar test does). An index
// other than the current CPU's gives -EOPNOTSUPP (its event is on another
// CPU), one past the array -E2BIG, flags the program type does not take
// -EINVAL, more packet bytes than the packet has -EFAULT.
func helperPerfEventOutput(m *Machine, a [5]uint64) (uint64, error) {
	mp, err := m.mapArg(a[1])
	if err != nil {
		return 0, err
	}
	if mp.Type != MapPerfEvents {
		return 0, faultf(ErrHelper, "bpf_perf_event_output on %s map %s", mp.TypeName(), mp.Name)
	}
	const indexMask, ctxLenMask = 0xffffffff, 0xfffff << 32
	flags := a[2]
	pkt := m.pkt.typ == TypeXDP || isSkb(m.pkt.typ)
	allowed := uint64(indexMask)
	if pkt {
		allowed |= ctxLenMask
	}
	if a[4] > 1<<31 {
		return 0, faultf(ErrHelper, "bpf_perf_event_output of %d bytes", a[4])
	}
	data, err := m.Read(a[3], int(a[4]))
	if err != nil {
		return 0, err
	}
	if flags&^allowed != 0 {
		return errno(einval), nil
	}
	var extra []byte
	if n := (flags & ctxLenMask) >> 32; pkt && n > 0 {
		// The packet from data: its linear part, then an XDP packet's
		// fragments.
		whole := append(bytes.Clone(m.regions[regionPacket].data[m.pkt.data:m.pkt.end]), m.pkt.frags...)
		if n > uint64(len(whole)) {
			return errno(14), nil // -EFAULT
		}
		extra = whole[:n]
	}
	idx := flags & indexMask
	if idx == indexMask { // BPF_F_CURRENT_CPU
		idx = uint64(m.Env.CPU)
	}
	switch {
	case idx >= uint64(mp.MaxEntries):
		return errno(e2big), nil
	case idx != uint64(m.Env.CPU):
		return errno(95), nil // -EOPNOTSUPP
	}
	n := len(data) + len(extra)
	rec := make([]byte, 0, (n+4+7)&^7-4)
	rec = append(append(rec, data...), extra...)
	rec = rec[:cap(rec)]
	mp.records = append(mp.records, rec)
	return 0, nil
}
