package vm

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/bpfstar/bpfstar/maptype"
)

// Map types (BPF_MAP_TYPE_*) the interpreter models.
const (
	MapHash        = 1
	MapArray       = 2
	MapProgArray   = 3
	MapPerfEvents  = 4 // BPF_MAP_TYPE_PERF_EVENT_ARRAY
	MapPerCPUHash  = 5
	MapPerCPUArray = 6
	MapLRUHash     = 9
	MapLRUPerCPU   = 10
	MapLPMTrie     = 11
	MapArrayOfMaps = 12
	MapHashOfMaps  = 13
	MapDevmap      = 14
	MapCPUMap      = 16
	MapXSKMap      = 17
	MapQueue       = 22
	MapStack       = 23
	MapDevmapHash  = 25
	MapRingbuf     = 27
)

// modeled reports whether the interpreter models maps of type t (one of
// the constants above).
func modeled(t uint32) bool {
	switch t {
	case MapHash, MapArray, MapProgArray, MapPerfEvents, MapPerCPUHash, MapPerCPUArray,
		MapLRUHash, MapLRUPerCPU, MapLPMTrie, MapArrayOfMaps, MapHashOfMaps, MapDevmap,
		MapCPUMap, MapXSKMap, MapQueue, MapStack, MapDevmapHash, MapRingbuf:
		return true
	}
	return false
}

// isArray reports whether maps of type t keep their values in one array
// region (the redirect maps hold interface indexes, queue sizes or
// sockets as plain values).
func isArray(t uint32) bool {
	switch t {
	case MapArray, MapPerCPUArray, MapDevmap, MapCPUMap, MapXSKMap:
		return true
	}
	return false
}

// MapSpec describes a map: its BPF_MAP_TYPE, sizes and flags.
type MapSpec struct {
	Name       string
	Type       uint32
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	// Data is the initial value of a global data section (an array of one
	// element), nil otherwise.
	Data     []byte
	ReadOnly bool
	// Init are the initial slots of a prog_array (program entry slots)
	// or map of maps (map indexes), -1 for none.
	Init []int
}

// Errno values helpers return (negated).
const (
	enoent = 2
	e2big  = 7
	eexist = 17
	einval = 22
	ebusy  = 16
	enomem = 12
	enospc = 28
	eacces = 13
)

func errno(e int) uint64 { return uint64(-int64(e)) }

// Map is a map's contents in a machine.
type Map struct {
	MapSpec
	m   *Machine
	idx int
	// region holds the values of an array (each CPU's copy, for a
	// per-CPU array, one after the other).
	region int
	// elems are the elements of a hash-like map, in insertion order.
	elems []*elem
	index map[string]*elem
	// clock orders LRU uses.
	clock uint64
	// slots are the values of a prog_array or map of maps (-1: empty).
	slots []int
	// queue holds the values of a queue or stack.
	queue [][]byte
	// records are a ring buffer's submitted records, or the raw samples
	// of a perf event array.
	records [][]byte
	// ncpu is the number of CPUs a per-CPU map has a copy for: the
	// machine's when the map was made.
	ncpu int
}

type elem struct {
	key     []byte
	regions []int // one per CPU (one for a map that is not per-CPU)
	used    uint64
}

// TypeName returns the map type's name ("hash"), as package maptype
// names it, for the types the interpreter models.
func (s *MapSpec) TypeName() string {
	if n, ok := maptype.Name(s.Type); ok && modeled(s.Type) {
		return n
	}
	return fmt.Sprintf("type %d", s.Type)
}

func (s *MapSpec) perCPU() bool {
	return s.Type == MapPerCPUArray || s.Type == MapPerCPUHash || s.Type == MapLRUPerCPU
}

func (s *MapSpec) hashLike() bool {
	switch s.Type {
	case MapHash, MapPerCPUHash, MapLRUHash, MapLRUPerCPU, MapLPMTrie, MapHashOfMaps, MapDevmapHash:
		return true
	}
	return false
}

// check applies the kernel's rules on the sizes of a map of s's type
// (what BPF_MAP_CREATE refuses with EINVAL), with the interpreter's bounds
// on sizes.
func (s *MapSpec) check() error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrHelper, what) }
	switch {
	case s.MaxEntries == 0 && s.Type != MapRingbuf && s.Type != MapPerfEvents:
		return bad("max_entries is 0")
	case s.KeySize > 512:
		return bad("keys of more than 512 bytes")
	case s.ValueSize > 1<<20:
		return bad("values of more than 1 MiB")
	}
	switch s.Type {
	case MapArray, MapPerCPUArray, MapProgArray, MapArrayOfMaps:
		if s.KeySize != 4 || s.ValueSize == 0 {
			return bad("an array needs 4-byte keys and values")
		}
	case MapDevmap, MapDevmapHash, MapCPUMap, MapXSKMap:
		if s.KeySize != 4 || (s.ValueSize != 4 && s.ValueSize != 8) {
			return bad("a redirect map needs 4-byte keys and 4- or 8-byte values")
		}
	case MapHash, MapPerCPUHash, MapLRUHash, MapLRUPerCPU, MapHashOfMaps:
		if s.KeySize == 0 || s.ValueSize == 0 {
			return bad("a hash needs keys and values")
		}
	case MapLPMTrie:
		if s.KeySize < 5 || s.KeySize > 4+256 || s.ValueSize == 0 {
			return bad("an LPM trie needs keys of 5 to 260 bytes and values")
		}
	case MapPerfEvents:
		if s.KeySize != 4 || s.ValueSize != 4 {
			return bad("a perf event array needs 4-byte keys and values")
		}
	case MapQueue, MapStack:
		if s.KeySize != 0 || s.ValueSize == 0 {
			return bad("a queue or stack has no keys and needs values")
		}
	case MapRingbuf:
		if s.KeySize != 0 || s.ValueSize != 0 || s.MaxEntries == 0 || s.MaxEntries&(s.MaxEntries-1) != 0 || s.MaxEntries%4096 != 0 {
			return bad("a ring buffer's size is a power of 2 and a multiple of 4096, without keys or values")
		}
	}
	if s.MaxEntries > 1<<24 && s.Type != MapRingbuf {
		return bad("more than 16777216 entries")
	}
	return nil
}

// maxMapBytes bounds the memory of one map or data section.
const maxMapBytes = 1 << 28

// newMap adds the map s to m.
func (m *Machine) newMap(s MapSpec) (*Map, error) {
	mp := &Map{MapSpec: s, m: m, idx: len(m.maps), region: -1, ncpu: m.cpus()}
	if !modeled(s.Type) && s.Data == nil {
		return nil, fmt.Errorf("%w: map %s has type %d, which the interpreter does not model", ErrUnsupported, s.Name, s.Type)
	}
	if s.Data == nil {
		if err := s.check(); err != nil {
			return nil, fmt.Errorf("map %s (%s): %w", s.Name, s.TypeName(), err)
		}
	}
	limit := m.mapLimit()
	switch {
	case s.Data != nil:
		if m.mapBytes += uint64(len(s.Data)); m.mapBytes > limit {
			return nil, fmt.Errorf("%w: section %s takes the maps past %d bytes", ErrUnsupported, s.Name, limit)
		}
		mp.region = m.newRegion(s.Name, bytes.Clone(s.Data), s.ReadOnly)
	case isArray(s.Type):
		n := uint64(s.ValueSize) * uint64(s.MaxEntries) * uint64(mp.copies())
		if m.mapBytes += n; n > maxMapBytes || m.mapBytes > limit {
			return nil, fmt.Errorf("%w: map %s needs %d bytes, past the limit of %d", ErrUnsupported, s.Name, n, min(limit, maxMapBytes))
		}
		mp.region = m.newRegion("map "+s.Name, make([]byte, n), false)
	case s.Type == MapPerfEvents:
		if mp.MaxEntries == 0 {
			// As the loaders do: one entry per possible CPU.
			mp.MaxEntries = uint32(m.cpus())
		}
	case s.Type == MapProgArray || s.Type == MapArrayOfMaps:
		if s.MaxEntries > 1<<20 {
			return nil, fmt.Errorf("%w: map %s has %d entries", ErrUnsupported, s.Name, s.MaxEntries)
		}
		mp.slots = make([]int, s.MaxEntries)
		for i := range mp.slots {
			mp.slots[i] = -1
			if i < len(s.Init) {
				mp.slots[i] = s.Init[i]
			}
		}
	case s.hashLike():
		mp.index = map[string]*elem{}
		for i, inner := range s.Init {
			if inner >= 0 {
				mp.update(binary.LittleEndian.AppendUint32(nil, uint32(i)), binary.LittleEndian.AppendUint32(nil, uint32(inner)), 0, true)
			}
		}
	}
	if mp.region < 0 {
		// Every map has a region, so that map i's is regionFirst+i;
		// only arrays and data sections have bytes in theirs.
		mp.region = m.newRegion("map "+s.Name, nil, true)
	}
	m.maps = append(m.maps, mp)
	return mp, nil
}

func (m *Machine) mapLimit() uint64 {
	if m.Env.MapMemory == 0 {
		return DefaultMapMemory
	}
	return m.Env.MapMemory
}

func (m *Machine) cpus() int { return max(m.Env.NumCPU, m.Env.CPU+1, 1) }

// Maps returns the machine's maps, in the order of the object.
func (m *Machine) Maps() []*Map { return m.maps }

// Map returns the map named name, or nil.
func (m *Machine) Map(name string) *Map {
	for _, mp := range m.maps {
		if mp.Name == name {
			return mp
		}
	}
	return nil
}

// mapArg returns the map a helper argument refers to.
func (m *Machine) mapArg(v uint64) (*Map, error) {
	if v&tagMask != mapTag || v&^tagMask >= uint64(len(m.maps)) {
		return nil, faultf(ErrHelper, "argument %s is not a map", m.describe(v))
	}
	return m.maps[v&^tagMask], nil
}

// valueAddr returns the address of the current CPU's value of e.
func (mp *Map) elemAddr(e *elem) uint64 {
	r := e.regions[0]
	if len(e.regions) > 1 {
		r = e.regions[mp.m.Env.CPU]
	}
	return addr(r, 0)
}

// arrayIndex reads an array key.
func (mp *Map) arrayIndex(key []byte) (uint32, bool) {
	if len(key) != 4 {
		return 0, false
	}
	i := binary.LittleEndian.Uint32(key)
	return i, i < mp.MaxEntries
}

// lookup returns the address of the value for key (as the program sees
// it: the current CPU's), or 0.
func (mp *Map) lookup(key []byte) uint64 {
	if len(key) != int(mp.KeySize) && mp.Type != MapLPMTrie {
		return 0
	}
	switch mp.Type {
	case MapArray, MapPerCPUArray, MapDevmap, MapCPUMap, MapXSKMap:
		i, ok := mp.arrayIndex(key)
		if !ok {
			return 0
		}
		off := uint64(i) * uint64(mp.ValueSize)
		if mp.Type == MapPerCPUArray {
			off += uint64(mp.m.Env.CPU) * uint64(mp.ValueSize) * uint64(mp.MaxEntries)
		}
		return addr(mp.region, uint32(off))
	case MapArrayOfMaps:
		i, ok := mp.arrayIndex(key)
		if !ok || mp.slots[i] < 0 {
			return 0
		}
		return mapTag | uint64(mp.slots[i])
	case MapLPMTrie:
		e := mp.lpmMatch(key)
		if e == nil {
			return 0
		}
		return mp.elemAddr(e)
	}
	if mp.index == nil {
		return 0
	}
	e := mp.index[string(key)]
	if e == nil {
		return 0
	}
	mp.clock++
	e.used = mp.clock
	if mp.Type == MapHashOfMaps {
		// The value is the inner map's index.
		i := binary.LittleEndian.Uint32(mp.m.regions[e.regions[0]].data)
		if int(i) >= len(mp.m.maps) {
			return 0
		}
		return mapTag | uint64(i)
	}
	return mp.elemAddr(e)
}

// lpmMatch returns the element whose prefix matches key longest.
func (mp *Map) lpmMatch(key []byte) *elem {
	if len(key) < 4 {
		return nil
	}
	plen := binary.LittleEndian.Uint32(key)
	if plen > uint32(8*(len(key)-4)) {
		return nil // the kernel finds nothing for a prefix past the key
	}
	var best *elem
	var bestLen uint32
	for _, e := range mp.elems {
		l := binary.LittleEndian.Uint32(e.key)
		if l > plen || (best != nil && l <= bestLen) {
			continue
		}
		if prefixEqual(e.key[4:], key[4:], l) {
			best, bestLen = e, l
		}
	}
	return best
}

func prefixEqual(a, b []byte, bits uint32) bool {
	for i := uint32(0); i < bits; i++ {
		if int(i/8) >= len(a) || int(i/8) >= len(b) {
			return false
		}
		mask := byte(0x80) >> (i % 8)
		if a[i/8]&mask != b[i/8]&mask {
			return false
		}
	}
	return true
}

// update sets key to value with the kernel's flags (BPF_ANY, BPF_NOEXIST,
// BPF_EXIST); it returns 0 or a negative errno. For a per-CPU map it sets
// every CPU's copy (allCPUs: user space's update) or, as a program's
// bpf_map_update_elem does, the current CPU's only (a new element is zero
// on the others).
func (mp *Map) update(key, value []byte, flags uint64, allCPUs bool) uint64 {
	if flags > 2 {
		return errno(einval)
	}
	switch mp.Type {
	case MapArray, MapPerCPUArray, MapDevmap, MapCPUMap, MapXSKMap:
		i, ok := mp.arrayIndex(key)
		if !ok {
			return errno(e2big)
		}
		if flags == 1 {
			return errno(eexist)
		}
		r := &mp.m.regions[mp.region]
		for cpu := 0; cpu < mp.copies(); cpu++ {
			if mp.perCPU() && !allCPUs && cpu != mp.m.Env.CPU {
				continue
			}
			off := (uint64(cpu)*uint64(mp.MaxEntries) + uint64(i)) * uint64(mp.ValueSize)
			copy(r.data[off:off+uint64(mp.ValueSize)], value)
		}
		return 0
	case MapQueue, MapStack:
		if flags == 1 { // BPF_NOEXIST means nothing to a queue: refused
			return errno(einval)
		}
		if len(mp.queue) >= int(mp.MaxEntries) {
			if flags != 2 {
				return errno(e2big)
			}
			mp.queue = mp.queue[1:]
		}
		mp.queue = append(mp.queue, bytes.Clone(value))
		return 0
	}
	if mp.index == nil {
		return errno(einval)
	}
	// ikey indexes the element: an LPM trie's key without the bits past
	// its prefix, which do not count (the element keeps the key of its
	// last update as given, bits past the prefix included, as the kernel
	// does).
	ikey := key
	if mp.Type == MapLPMTrie {
		if len(key) < 4 || binary.LittleEndian.Uint32(key) > uint32(8*(len(key)-4)) {
			return errno(einval)
		}
		ikey = canonicalPrefix(key)
	}
	e := mp.index[string(ikey)]
	switch {
	case e != nil && flags == 1:
		return errno(eexist)
	case e == nil && flags == 2:
		return errno(enoent)
	case e == nil:
		if len(mp.elems) >= int(mp.MaxEntries) {
			if mp.Type != MapLRUHash && mp.Type != MapLRUPerCPU {
				return errno(e2big)
			}
			mp.evict()
		}
		need := uint64(mp.ValueSize) * uint64(mp.copies())
		if mp.m.mapBytes+need > mp.m.mapLimit() {
			return errno(enomem)
		}
		mp.m.mapBytes += need
		e = &elem{key: bytes.Clone(key)}
		for cpu := 0; cpu < mp.copies(); cpu++ {
			e.regions = append(e.regions, mp.m.allocRegion(fmt.Sprintf("value of map %s", mp.Name), int(mp.ValueSize)))
		}
		mp.elems = append(mp.elems, e)
		mp.index[string(ikey)] = e
	}
	if mp.Type == MapLPMTrie {
		e.key = bytes.Clone(key)
	}
	mp.clock++
	e.used = mp.clock
	for cpu, r := range e.regions {
		if mp.perCPU() && !allCPUs && cpu != mp.m.Env.CPU {
			continue
		}
		copy(mp.m.regions[r].data, value)
	}
	return 0
}

// canonicalPrefix zeroes the bits of an LPM key past its prefix.
func canonicalPrefix(key []byte) []byte {
	k := bytes.Clone(key)
	plen := binary.LittleEndian.Uint32(k)
	for i := uint32(0); i < uint32(8*(len(k)-4)); i++ {
		if i >= plen {
			k[4+i/8] &^= byte(0x80) >> (i % 8)
		}
	}
	return k
}

func (mp *Map) copies() int {
	if mp.perCPU() {
		return mp.ncpu
	}
	return 1
}

// checkCPU says why a run cannot be on Env.CPU: a negative CPU, or one
// that a per-CPU map has no copy for (Env changed after it was made).
func (m *Machine) checkCPU() error {
	if m.Env.CPU < 0 {
		return fmt.Errorf("%w: Env.CPU is %d", ErrInput, m.Env.CPU)
	}
	for _, mp := range m.maps {
		if mp.perCPU() && m.Env.CPU >= mp.ncpu {
			return fmt.Errorf("%w: Env.CPU is %d, but per-CPU map %s has copies for %d CPUs (the machine's when it was made)", ErrInput, m.Env.CPU, mp.Name, mp.ncpu)
		}
	}
	return nil
}

// evict removes the least recently used element.
func (mp *Map) evict() {
	oldest := 0
	for i, e := range mp.elems {
		if e.used < mp.elems[oldest].used {
			oldest = i
		}
	}
	mp.remove(oldest)
}

func (mp *Map) remove(i int) {
	e := mp.elems[i]
	mp.m.mapBytes -= uint64(mp.ValueSize) * uint64(len(e.regions))
	for _, r := range e.regions {
		mp.m.freeRegion(r)
	}
	ikey := e.key
	if mp.Type == MapLPMTrie {
		ikey = canonicalPrefix(ikey)
	}
	delete(mp.index, string(ikey))
	mp.elems = append(mp.elems[:i], mp.elems[i+1:]...)
}

// delete removes key; it returns 0 or a negative errno.
func (mp *Map) delete(key []byte) uint64 {
	if mp.index == nil {
		return errno(einval)
	}
	if mp.Type == MapLPMTrie {
		if len(key) < 4 || binary.LittleEndian.Uint32(key) > uint32(8*(len(key)-4)) {
			return errno(einval)
		}
		key = canonicalPrefix(key)
	}
	for i, e := range mp.elems {
		if bytes.Equal(e.key, key) || mp.Type == MapLPMTrie && bytes.Equal(canonicalPrefix(e.key), key) {
			mp.remove(i)
			return 0
		}
	}
	return errno(enoent)
}

// Lookup returns the value for key (the value of CPU cpu, for a per-CPU
// map), as user space reads it.
func (mp *Map) Lookup(key []byte, cpu int) ([]byte, bool) {
	if mp.m == nil {
		return nil, false // the zero Map is empty
	}
	if cpu < 0 || cpu >= mp.m.cpus() || mp.perCPU() && cpu >= mp.ncpu {
		return nil, false
	}
	saved := mp.m.Env.CPU
	mp.m.Env.CPU = cpu
	a := mp.lookup(key)
	mp.m.Env.CPU = saved
	if a == 0 || a&tagMask == mapTag {
		return nil, false
	}
	b, err := mp.m.Read(a, int(mp.ValueSize))
	if err != nil && mp.ValueSize > 0 {
		return nil, false
	}
	return bytes.Clone(b), true
}

// Update sets key to value (on every CPU, for a per-CPU map), as user
// space does.
func (mp *Map) Update(key, value []byte) error {
	if mp.m == nil {
		return fmt.Errorf("vm: Update of a map that is not a machine's")
	}
	if uint32(len(key)) != mp.KeySize || uint32(len(value)) != mp.ValueSize {
		return fmt.Errorf("map %s: key of %d bytes and value of %d, want %d and %d", mp.Name, len(key), len(value), mp.KeySize, mp.ValueSize)
	}
	if mp.Data != nil {
		copy(mp.m.regions[mp.region].data, value)
		return nil
	}
	if r := mp.update(key, value, 0, true); r != 0 {
		return fmt.Errorf("map %s: update failed with errno %d", mp.Name, -int64(r))
	}
	return nil
}

// Keys returns the keys of the map: every index of an array, the keys of
// a hash-like map in the order they were added.
func (mp *Map) Keys() [][]byte {
	var keys [][]byte
	switch {
	case mp.Data != nil:
		keys = append(keys, []byte{0, 0, 0, 0})
	case isArray(mp.Type) || mp.Type == MapProgArray || mp.Type == MapArrayOfMaps:
		for i := uint32(0); i < mp.MaxEntries; i++ {
			keys = append(keys, binary.LittleEndian.AppendUint32(nil, i))
		}
	default:
		for _, e := range mp.elems {
			keys = append(keys, bytes.Clone(e.key))
		}
	}
	return keys
}

// Records returns the records submitted to a ring buffer, or output to a
// perf event array (each as a perf reader's raw sample: padded with zeros
// to 4 bytes short of a multiple of 8), in order.
func (mp *Map) Records() [][]byte { return mp.records }

// Queued returns the values of a queue or stack in the order pops take
// them (a queue's oldest first, a stack's newest first), as user space
// reads them with lookup-and-delete.
func (mp *Map) Queued() [][]byte {
	out := make([][]byte, 0, len(mp.queue))
	for i := range mp.queue {
		if mp.Type == MapStack {
			i = len(mp.queue) - 1 - i
		}
		out = append(out, bytes.Clone(mp.queue[i]))
	}
	return out
}

// allocRegion returns a region of n zero bytes, reusing a freed one.
func (m *Machine) allocRegion(name string, n int) int {
	r := region{data: make([]byte, n), hi: uint32(n), name: name}
	if k := len(m.free); k > 0 {
		id := m.free[k-1]
		m.free = m.free[:k-1]
		m.regions[id] = r
		return id
	}
	m.regions = append(m.regions, r)
	return len(m.regions) - 1
}

func (m *Machine) freeRegion(id int) {
	m.regions[id] = region{name: "a freed map element"}
	m.free = append(m.free, id)
}

// AddMap adds a map to m and returns it. Code compiled with Compile refers
// to it by the value a 64-bit load of Ref gives (the loader of an object
// does this for the object's maps).
func (m *Machine) AddMap(s MapSpec) (*Map, error) {
	m.init()
	if s.Data != nil {
		return nil, fmt.Errorf("vm: AddMap takes maps, not data sections")
	}
	return m.newMap(s)
}

// Ref returns the value that stands for the map in a program's registers
// (what the kernel's loader puts in a map's 64-bit load).
func (mp *Map) Ref() uint64 { return mapTag | uint64(mp.idx) }
