package vm

import (
	"encoding/binary"
	"fmt"
)

// StackSize is the size of one stack frame, as in the kernel.
const StackSize = 512

// MaxFrames is the number of stack frames that may exist at once: the
// program's and those of nested BPF-to-BPF calls and callbacks.
const MaxFrames = 8

// Fixed region numbers: the stack frames, then the context and the packet
// of a run; maps, globals and map elements come after.
const (
	regionStack0 = 1
	regionCtx    = regionStack0 + MaxFrames
	regionPacket = regionCtx + 1
	regionFirst  = regionPacket + 1
)

// A region is a piece of memory a program may address: bytes lo to hi of
// data, at the address id<<32 | offset.
type region struct {
	data   []byte
	lo, hi uint32
	name   string
	ro     bool
	// init, for a stack frame, marks the bytes the program has written.
	init []bool
	// ptrs are fields of a context that hold pointers (xdp_md.data and
	// friends): a load of one gives the pointer, whatever its width, as
	// the kernel's verifier rewrites such loads.
	ptrs []ptrField
}

type ptrField struct {
	off uint32
	get func() uint64
}

// regionBias is where offset 0 of a region lies within its 4 GiB window
// of addresses, so that an address a little before a region (a negative
// offset) still names that region in messages.
const regionBias = 1 << 31

func addr(id int, off uint32) uint64 { return uint64(id)<<32 + regionBias + uint64(off) }

// split returns the region number and the offset (which may be negative)
// of address a.
func split(a uint64) (uint64, int64) {
	return a >> 32, int64(uint32(a)) - regionBias
}

// describe names the memory at address a for messages.
func (m *Machine) describe(a uint64) string {
	if a&tagMask == funcTag {
		return "a function reference"
	}
	if a&tagMask == mapTag {
		return "a map reference"
	}
	id, off := split(a)
	if id == 0 || id >= uint64(len(m.regions)) || m.regions[id].data == nil && m.regions[id].name == "" {
		return fmt.Sprintf("%#x, which is in no region", a)
	}
	r := &m.regions[id]
	return fmt.Sprintf("%s%+d", r.name, off-int64(r.lo))
}

// span checks an access of n bytes at a and returns its region and offset.
func (m *Machine) span(a uint64, n uint32, write bool) (*region, uint32, error) {
	id, o := split(a)
	if id == 0 || id >= uint64(len(m.regions)) {
		return nil, 0, m.memFault(a, n, write, "")
	}
	r := &m.regions[id]
	if o < int64(r.lo) || o+int64(n) > int64(r.hi) {
		return nil, 0, m.memFault(a, n, write, fmt.Sprintf(" (%s has %d bytes)", r.name, r.hi-r.lo))
	}
	off := uint32(o)
	if write && r.ro {
		return nil, 0, faultf(ErrMemory, "write of %d bytes at %s, which is read-only", n, m.describe(a))
	}
	if r.init != nil {
		if write {
			for i := off; i < off+n; i++ {
				r.init[i] = true
			}
		} else if !m.AllowUninitStack {
			for i := off; i < off+n; i++ {
				if !r.init[i] {
					return nil, 0, faultf(ErrUninit, "read of %d bytes at %s: byte %s was never written", n, m.describe(a), m.describe(a+uint64(i-off)))
				}
			}
		}
	}
	return r, off, nil
}

func (m *Machine) memFault(a uint64, n uint32, write bool, extra string) error {
	verb := "read"
	if write {
		verb = "write"
	}
	return faultf(ErrMemory, "%s of %d bytes at %s%s", verb, n, m.describe(a), extra)
}

// load reads an n-byte (1, 2, 4 or 8) little-endian value at a.
func (m *Machine) load(a uint64, n uint32) (uint64, error) {
	r, off, err := m.span(a, n, false)
	if err != nil {
		return 0, err
	}
	if r.ptrs != nil {
		for _, f := range r.ptrs {
			if f.off == off {
				return f.get(), nil
			}
		}
	}
	b := r.data[off : off+n]
	switch n {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(b)), nil
	}
	return binary.LittleEndian.Uint64(b), nil
}

// store writes the low n bytes of v at a.
func (m *Machine) store(a uint64, n uint32, v uint64) error {
	r, off, err := m.span(a, n, true)
	if err != nil {
		return err
	}
	for _, f := range r.ptrs {
		if off < f.off+4 && f.off < off+n {
			return faultf(ErrMemory, "write of %d bytes at %s, a pointer field of the context", n, m.describe(a))
		}
	}
	b := r.data[off : off+n]
	switch n {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	default:
		binary.LittleEndian.PutUint64(b, v)
	}
	return nil
}

// Read returns the n bytes at address a, checked as a program's load is.
// The slice aliases the machine's memory.
func (m *Machine) Read(a uint64, n int) ([]byte, error) {
	if n < 0 || n > 1<<30 {
		return nil, faultf(ErrMemory, "read of %d bytes", n)
	}
	if n == 0 {
		return nil, nil
	}
	r, off, err := m.span(a, uint32(n), false)
	if err != nil {
		return nil, err
	}
	return r.data[off : off+uint32(n)], nil
}

// Write copies b to address a, checked as a program's store is.
func (m *Machine) Write(a uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) > 1<<30 {
		return faultf(ErrMemory, "write of %d bytes", len(b))
	}
	r, off, err := m.span(a, uint32(len(b)), true)
	if err != nil {
		return err
	}
	copy(r.data[off:], b)
	return nil
}

// Zero sets the n bytes at address a to zero, checked as a program's
// store is (helpers that fail clear their destination this way).
func (m *Machine) Zero(a uint64, n int) error {
	if n <= 0 {
		return nil
	}
	if n > 1<<30 {
		return faultf(ErrMemory, "write of %d bytes", n)
	}
	r, off, err := m.span(a, uint32(n), true)
	if err != nil {
		return err
	}
	clear(r.data[off : off+uint32(n)])
	return nil
}

// newRegion adds a region and returns its number.
func (m *Machine) newRegion(name string, data []byte, ro bool) int {
	m.regions = append(m.regions, region{data: data, hi: uint32(len(data)), name: name, ro: ro})
	return len(m.regions) - 1
}
