package btffile

// # Why the file is read the way it is
//
// A CO-RE build against a kernel's whole BTF must cost a small fraction
// of clang compiling the same program against vmlinux.h (issue 12: at
// most 0.05 of its wall time, some 15 ms of 300). The program names two
// or three types of the 126,585 in a 5.5 MB file (3.2 MB of type records,
// 2.3 MB of strings) and uses a few dozen records behind them. So the
// work that does not depend on the program must be one cheap pass, and
// the rest must touch only what the program names. What is done, and
// what was measured (docs/perf.md, "CO-RE"):
//
//   - One walk over the type records, in Parse, finds where each starts
//     (a type ID is an index into them) and checks that each has a known
//     kind and ends inside the section. Nothing else is decoded: a
//     record's name, members and targets are read when a conversion
//     reaches it. The walk reads a record's length from its kind and vlen
//     with no switch on the kind (recordLen, two packed tables) and
//     appends to a slice sized once, by the most records the section can
//     hold (a record is at least 12 bytes): it never grows, so the
//     offsets are not copied, and the pages of the capacity the walk does
//     not reach are never touched, so never faulted in (a page fault
//     costs some 3 µs here, and the growing slice this replaces faulted
//     in about twice the pages it kept). It takes 1.2-1.4 ms for a
//     vmlinux, bound by each record's start depending on the length of
//     the one before it.
//
//   - A name is found by looking at the names the records have, not at
//     the string table. Each record's name is an offset into the table; a
//     record is named name when the table holds name at that offset and a
//     NUL right after it. Testing the byte len(name) past the offset
//     first (it must be the NUL) and then the first byte rejects almost
//     every record with two loads, and the offsets grow with the type IDs
//     in a kernel's file (98.5% of consecutive named records), so the
//     table is read front to back, as the hardware prefetches it. A scan
//     takes 0.4-0.7 ms (BenchmarkVmlinuxParts), bound by reading the
//     memory. The search it replaces ran bytes.Index of name+NUL over the
//     whole 2.3 MB table (the table need not be deduplicated, so every
//     place the string starts counted) and then matched the records
//     against the places found: for a name starting with a common letter
//     the first byte matches every few bytes of the table, and a lookup
//     took about 1.5 ms, over half of the package's time in a build.
//     Parse, two lookups and the conversions went from 3.9-4.4 ms to
//     2.0-2.4 ms (BenchmarkVmlinux, interleaved runs). The search also
//     differed from what a record's name is: a name offset into the
//     middle of a string ("int" inside "xyint") names its tail, as a
//     conversion reads it and as the index below finds it, but the search
//     of whole strings did not find it.
//
//   - After scanLookups lookups a map from every name to its types
//     replaces the scans (a build with many names pays for the map once;
//     it costs about ten scans).
//
// What stays is mostly not this package's: reading the 5.5 MB into memory
// (internal/inputfile, one buffer of the file's size) and faulting in its
// pages. Mapping the file instead (mmap) would share the page cache's
// pages, but the file is untrusted and can change or shrink under the
// mapping: a shrunk file kills the process with SIGBUS, and a record
// rewritten between the walk and its conversion would break the checks
// the walk made. A copy read once cannot change. inputfile faults the
// copy's pages in with one call rather than a trap per page
// (populate_linux.go). And the copy, 5.5 MB of heap at once, passes the
// collector's first goal (4 MB times GOGC/100: 6 MB at the 150 a build
// runs at), so a build collects once (some 1.5 ms of CPU; docs/perf.md).

import (
	"fmt"
	"strings"
)

// walk returns where each type record of types starts: offs[id-1] for
// type id.
func walk(types []byte) ([]uint32, error) {
	// The most records types can hold: the slice never grows, and the
	// pages past the last record are never touched.
	offs := make([]uint32, 0, len(types)/12+1)
	for off := 0; off < len(types); {
		if len(types)-off < 12 {
			return nil, fmt.Errorf("type record at byte %d is cut short", off)
		}
		info := le.Uint32(types[off+4:])
		n := recordLen(info)
		if n == 0 {
			return nil, fmt.Errorf("type [%d]: unknown kind %d", len(offs)+1, info>>24&0x1f)
		}
		if n > len(types)-off {
			return nil, fmt.Errorf("type [%d] extends past the type section", len(offs)+1)
		}
		offs = append(offs, uint32(off))
		off += n
	}
	return offs, nil
}

// The length of a record of each kind, as two tables packed in constants
// (3 bits a kind, kind k at bits 3k): fixedLen holds the length of the
// record's fixed part in 4-byte words (0 for an unknown kind), vlenLen
// the length of each of its vlen items in 4-byte words.
const (
	fixedLen = 4<<(3*kindInt) | 3<<(3*kindPtr) | 6<<(3*kindArray) | 3<<(3*kindStruct) |
		3<<(3*kindUnion) | 3<<(3*kindEnum) | 3<<(3*kindFwd) | 3<<(3*kindTypedef) |
		3<<(3*kindVolatile) | 3<<(3*kindConst) | 3<<(3*kindRestrict) | 3<<(3*kindFunc) |
		3<<(3*kindFuncProto) | 4<<(3*kindVar) | 3<<(3*kindDatasec) | 3<<(3*kindFloat) |
		4<<(3*kindDeclTag) | 3<<(3*kindTypeTag) | 3<<(3*kindEnum64)
	vlenLen = 3<<(3*kindStruct) | 3<<(3*kindUnion) | 2<<(3*kindEnum) | 2<<(3*kindFuncProto) |
		3<<(3*kindDatasec) | 3<<(3*kindEnum64)
)

// recordLen returns the length of a type record from its info word, or 0
// for a record of an unknown kind.
func recordLen(info uint32) int {
	kind := info >> 24 & 0x1f
	if kind > kindEnum64 {
		return 0
	}
	return int(4 * (fixedLen>>(3*kind)&7 + (vlenLen>>(3*kind)&7)*uint64(info&0xffff)))
}

// scanLookups is the number of name lookups made by scanning the type
// records (about half a millisecond each for a vmlinux); a program makes a few. Later
// ones use an index, which costs some ten scans to build.
const scanLookups = 16

// byName returns the IDs of the types named name, in file order.
func (f *File) byName(name string) []uint32 {
	if name == "" || len(f.strs) == 0 || strings.IndexByte(name, 0) >= 0 {
		return nil // (the zero File has no strings; no name has a NUL)
	}
	if f.lookups++; f.lookups > scanLookups {
		if f.index == nil {
			f.index = make(map[string][]uint32)
			for i, off := range f.offs {
				if n, err := f.str(le.Uint32(f.types[off:])); err == nil && n != "" {
					f.index[n] = append(f.index[n], uint32(i+1))
				}
			}
		}
		return f.index[name]
	}
	strs, n, first := f.strs, uint64(len(name)), name[0]
	var ids []uint32
	for i, off := range f.offs {
		at := uint64(le.Uint32(f.types[off:]))
		// (at+n < len(strs): the NUL after the name is in the table.)
		if at+n >= uint64(len(strs)) || strs[at+n] != 0 || strs[at] != first || string(strs[at:at+n]) != name {
			continue
		}
		ids = append(ids, uint32(i+1))
	}
	return ids
}
