package objreader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cilium/ebpf/btf"
)

// btfMagic starts .BTF and .BTF.ext, in the byte order of the object.
const btfMagic = 0xeb9f

// BTF parses the .BTF section with cilium/ebpf's btf package. It returns an
// error wrapping ErrNotFound when there is none.
//
// Like libbpf and cilium/ebpf, it completes the data sections (DATASEC
// types) that LLVM leaves unfinished: clang does not know where the linker
// will put a variable, so in its objects a DATASEC has size 0 and every
// variable offset 0. BTF sets the size to the ELF section's and each offset
// to the value of the variable's symbol. bpfstar writes finished DATASECs,
// which stay as they are. Each call parses the section anew, so callers may
// change the returned types.
func (f *File) BTF() (*btf.Spec, error) {
	raw, err := f.btfSection()
	if err != nil {
		return nil, err
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("objreader: .BTF: %w", err)
	}
	for typ, err := range spec.All() {
		if err != nil {
			return nil, fmt.Errorf("objreader: .BTF: %w", err)
		}
		if ds, ok := typ.(*btf.Datasec); ok {
			if err := f.completeDatasec(ds); err != nil {
				return nil, err
			}
		}
	}
	return spec, nil
}

// btfSection returns the bytes of .BTF after checking that they start with
// a little-endian BTF header.
func (f *File) btfSection() ([]byte, error) {
	s := f.Section(".BTF")
	if s == nil {
		return nil, fmt.Errorf("objreader: .BTF: %w", ErrNotFound)
	}
	if len(s.Data) < 2 || binary.LittleEndian.Uint16(s.Data) != btfMagic {
		return nil, errors.New("objreader: .BTF: no little-endian BTF header")
	}
	return s.Data, nil
}

// completeDatasec fills in the size and variable offsets of a DATASEC that
// has size 0, from the ELF section of the same name and the symbols in it.
// DATASECs without an ELF section (.ksyms and .kconfig, which describe
// externs the loader resolves) are left alone.
func (f *File) completeDatasec(ds *btf.Datasec) error {
	if ds.Size != 0 {
		return nil
	}
	si := f.sectionIndex(ds.Name)
	if si < 0 {
		return nil
	}
	size := f.Sections[si].Size
	if size > math.MaxUint32 {
		return fmt.Errorf("objreader: .BTF: section %q is too large for BTF (%d bytes)", ds.Name, size)
	}
	ds.Size = uint32(size)
	for i := range ds.Vars {
		if ds.Vars[i].Type == nil || ds.Vars[i].Type.TypeName() == "" {
			return fmt.Errorf("objreader: .BTF: DATASEC %q: variable %d has no name", ds.Name, i)
		}
		name := ds.Vars[i].Type.TypeName()
		sym := f.definedSymbol(si, name)
		if sym == nil {
			return fmt.Errorf("objreader: .BTF: DATASEC %q: no symbol for %q in the section", ds.Name, name)
		}
		if sym.Value > math.MaxUint32 {
			return fmt.Errorf("objreader: .BTF: DATASEC %q: %q is at offset %#x, too far for BTF", ds.Name, name, sym.Value)
		}
		ds.Vars[i].Offset = uint32(sym.Value)
	}
	return nil
}

// definedSymbol returns the first symbol named name defined in section si,
// ignoring section and file symbols, or nil.
func (f *File) definedSymbol(si int, name string) *Symbol {
	for i := range f.Symbols {
		s := &f.Symbols[i]
		if s.Name == name && s.InSection(si) && s.Type != elf.STT_SECTION && s.Type != elf.STT_FILE {
			return s
		}
	}
	return nil
}

// datasec returns the DATASEC named name in spec, or nil.
func datasec(spec *btf.Spec, name string) (*btf.Datasec, error) {
	var ds *btf.Datasec
	if err := spec.TypeByName(name, &ds); err != nil {
		if errors.Is(err, btf.ErrNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("objreader: .BTF: DATASEC %q: %w", name, err)
	}
	return ds, nil
}

// Map is a map declared in the .maps section.
//
// libbpf's bpf_helpers.h, and bpfstar, declare a map as a variable in .maps
// whose type is a struct that carries each parameter in the type of a
// member, since the variable's bytes are not read:
//
//	struct {
//		__uint(type, BPF_MAP_TYPE_ARRAY);  // int (*type)[2]
//		__uint(max_entries, 16);           // int (*max_entries)[16]
//		__type(key, __u32);                // __u32 *key
//		__type(value, __u64);              // __u64 *value
//	} counts SEC(".maps");
//
// A number is the element count of the array that a pointer member points
// to (__uint), or the value of an enum's only member (__ulong, for
// map_extra); key and value are pointers to the types whose sizes are the
// key and value sizes, which key_size and value_size may also give as
// numbers.
type Map struct {
	Name       string   // the variable's name, which is the map's name
	Offset     uint64   // of the variable in .maps
	Size       uint64   // of the variable
	Type       uint32   // BPF_MAP_TYPE_*: 1 hash, 2 array, ...
	KeySize    uint32   // from key_size or the size of key
	ValueSize  uint32   // from value_size or the size of value
	MaxEntries uint32   // max_entries
	Flags      uint32   // map_flags: BPF_F_*
	Extra      uint64   // map_extra: the bloom filter's hash count, an arena's address
	NumaNode   uint32   // numa_node
	Pinning    uint32   // pinning: LIBBPF_PIN_*
	Key, Value btf.Type // the types of key and value, when given (nil otherwise)
	// Other lists the members this package does not decode, such as
	// values, the initial contents of a program array or map of maps.
	Other []string
}

// Maps returns the maps of the .maps section, in the order of its DATASEC.
// An object without .maps has none. An object with the legacy "maps"
// section (an array of struct bpf_map_def, without BTF) gives an error
// wrapping ErrUnsupported.
func (f *File) Maps() ([]Map, error) {
	if f.Section("maps") != nil {
		return nil, fmt.Errorf("objreader: the legacy \"maps\" section: %w", ErrUnsupported)
	}
	si := f.sectionIndex(".maps")
	if si < 0 {
		return nil, nil
	}
	spec, err := f.BTF()
	if err != nil {
		return nil, fmt.Errorf("objreader: .maps needs BTF: %w", err)
	}
	ds, err := datasec(spec, ".maps")
	if err != nil {
		return nil, err
	}
	if ds == nil {
		return nil, errors.New("objreader: .BTF has no DATASEC for .maps")
	}
	var out []Map
	for _, vsi := range ds.Vars {
		v, ok := vsi.Type.(*btf.Var)
		if !ok {
			return nil, fmt.Errorf("objreader: .maps: %s is not a variable", vsi.Type)
		}
		m, err := decodeMap(v)
		if err != nil {
			return nil, fmt.Errorf("objreader: map %q: %w", v.Name, err)
		}
		m.Offset, m.Size = uint64(vsi.Offset), uint64(vsi.Size)
		out = append(out, m)
	}
	return out, nil
}

// decodeMap reads a map's parameters from the members of its struct.
func decodeMap(v *btf.Var) (Map, error) {
	m := Map{Name: v.Name}
	def, ok := btf.UnderlyingType(v.Type).(*btf.Struct)
	if !ok {
		return m, fmt.Errorf("type %s is not a struct", v.Type)
	}
	for _, mem := range def.Members {
		var dst *uint32
		switch mem.Name {
		case "type":
			dst = &m.Type
		case "key_size":
			dst = &m.KeySize
		case "value_size":
			dst = &m.ValueSize
		case "max_entries":
			dst = &m.MaxEntries
		case "map_flags":
			dst = &m.Flags
		case "numa_node":
			dst = &m.NumaNode
		case "pinning":
			dst = &m.Pinning
		case "map_extra":
			n, err := number(mem.Type)
			if err != nil {
				return m, fmt.Errorf("map_extra: %w", err)
			}
			m.Extra = n
			continue
		case "key", "value":
			ptr, ok := btf.UnderlyingType(mem.Type).(*btf.Pointer)
			if !ok {
				return m, fmt.Errorf("%s: %s is not a pointer", mem.Name, mem.Type)
			}
			size, err := btf.Sizeof(ptr.Target)
			if err != nil {
				return m, fmt.Errorf("%s: %w", mem.Name, err)
			}
			if size < 0 || int64(size) > math.MaxUint32 {
				return m, fmt.Errorf("%s: size %d out of range", mem.Name, size)
			}
			if mem.Name == "key" {
				m.Key, m.KeySize = ptr.Target, uint32(size)
			} else {
				m.Value, m.ValueSize = ptr.Target, uint32(size)
			}
			continue
		default:
			m.Other = append(m.Other, mem.Name)
			continue
		}
		n, err := number(mem.Type)
		if err != nil {
			return m, fmt.Errorf("%s: %w", mem.Name, err)
		}
		if n > math.MaxUint32 {
			return m, fmt.Errorf("%s: %d does not fit in 32 bits", mem.Name, n)
		}
		*dst = uint32(n)
	}
	return m, nil
}

// number returns the number a map member's type encodes: the element count
// of the array a pointer points to (libbpf's __uint), or the value of an
// enum with one member (libbpf's __ulong).
func number(t btf.Type) (uint64, error) {
	switch t := btf.UnderlyingType(t).(type) {
	case *btf.Pointer:
		arr, ok := btf.UnderlyingType(t.Target).(*btf.Array)
		if !ok {
			return 0, fmt.Errorf("a pointer to %s, not to an array", t.Target)
		}
		return uint64(arr.Nelems), nil
	case *btf.Enum:
		if len(t.Values) != 1 {
			return 0, fmt.Errorf("an enum with %d values, not 1", len(t.Values))
		}
		return t.Values[0].Value, nil
	}
	return 0, fmt.Errorf("%s is neither a pointer to an array nor an enum", t)
}

// Global is a global variable: a variable in .rodata, .data, .bss or
// another data section, which the loader turns into an array map of one
// element per section.
type Global struct {
	Name     string
	Section  string // ".rodata", ".data", ".bss", ".data.counters", ...
	Offset   uint64 // in bytes from the start of the section
	Size     uint64
	ReadOnly bool // the section is not writable (SHF_WRITE unset): .rodata
	// Data is the initial value, which aliases the input of Read; it is
	// nil for a variable in a SHT_NOBITS section (.bss), which starts as
	// zeros.
	Data []byte
	Type btf.Type // the variable's type; nil when the object has no BTF
}

// Globals returns the global variables. With BTF they are the variables of
// every DATASEC whose ELF section exists and is neither code nor .maps,
// license or version, in the order of the BTF; without BTF (clang without
// -g) they are the object symbols (STT_OBJECT) of the allocated, non-code
// sections other than those, in symbol table order. A variable that does
// not fit in its section is an error.
func (f *File) Globals() ([]Global, error) {
	spec, err := f.BTF()
	if errors.Is(err, ErrNotFound) {
		return f.globalsFromSymbols()
	}
	if err != nil {
		return nil, err
	}
	var out []Global
	for typ, err := range spec.All() {
		if err != nil {
			return nil, fmt.Errorf("objreader: .BTF: %w", err)
		}
		ds, ok := typ.(*btf.Datasec)
		if !ok {
			continue
		}
		si := f.sectionIndex(ds.Name)
		if si < 0 || !f.dataSection(si) {
			continue
		}
		for _, vsi := range ds.Vars {
			if vsi.Type == nil {
				return nil, fmt.Errorf("objreader: .BTF: DATASEC %q: a variable without a type", ds.Name)
			}
			g, err := f.global(si, vsi.Type.TypeName(), uint64(vsi.Offset), uint64(vsi.Size))
			if err != nil {
				return nil, err
			}
			if v, ok := vsi.Type.(*btf.Var); ok {
				g.Type = v.Type
			}
			out = append(out, g)
		}
	}
	return out, nil
}

func (f *File) globalsFromSymbols() ([]Global, error) {
	if f == nil {
		return nil, nil
	}
	var out []Global
	for _, sym := range f.Symbols {
		si, ok := f.sectionOf(&sym)
		if sym.Type != elf.STT_OBJECT || !ok {
			continue
		}
		if f.Sections[si].Flags&elf.SHF_ALLOC == 0 || !f.dataSection(si) {
			continue
		}
		g, err := f.global(si, sym.Name, sym.Value, sym.Size)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// dataSection reports whether section si can hold global variables.
func (f *File) dataSection(si int) bool {
	s := &f.Sections[si]
	switch {
	case s.Executable(), s.Type != elf.SHT_PROGBITS && s.Type != elf.SHT_NOBITS:
		return false
	case s.Name == ".maps", s.Name == "license", s.Name == "version", s.Name == "maps":
		return false
	}
	return true
}

// global describes the variable name of size bytes at offset in section si.
func (f *File) global(si int, name string, offset, size uint64) (Global, error) {
	s := &f.Sections[si]
	// A SHT_NOBITS section has no bytes in the file but its size; any
	// other has the bytes there are.
	avail := uint64(len(s.Data))
	if s.Type == elf.SHT_NOBITS {
		avail = s.Size
	}
	if offset > avail || size > avail-offset {
		return Global{}, fmt.Errorf("objreader: variable %q (%d bytes at %#x) does not fit in section %q (%d bytes)", name, size, offset, s.Name, avail)
	}
	g := Global{
		Name: name, Section: s.Name, Offset: offset, Size: size,
		ReadOnly: s.Flags&elf.SHF_WRITE == 0,
	}
	if s.Type != elf.SHT_NOBITS {
		g.Data = s.Data[offset : offset+size : offset+size]
	}
	return g, nil
}
