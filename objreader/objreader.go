// Package objreader reads BPF ELF object files, the ones bpfstar writes and
// the ones clang-19 -target bpf compiles, and describes what is in them: the
// programs with their code, the maps, the global variables, the license and
// the BTF with its line and CO-RE records. bpfstar's tools (disasm,
// verify) find their way around an object through it.
//
// # What is in a BPF object
//
// A BPF object is a relocatable ELF file (ET_REL) for machine EM_BPF, 64-bit
// and, on every machine bpfstar runs on, little-endian. Nothing in it is
// linked yet: sections are addressed from zero and symbols are offsets into
// their sections. A loader (libbpf, cilium/ebpf) reads it like this:
//
//   - Executable sections (SHF_EXECINSTR) hold code. Each function symbol
//     (STT_FUNC) in one of them is a function: in a section named after the
//     program type ("xdp", "tracepoint/syscalls/sys_enter_getpid") it is a
//     program, an entry point the loader loads; in ".text" it is a function
//     that programs call (a BPF-to-BPF call), linked into each caller.
//     [File.Programs] lists both.
//   - A REL section (".rel.text", ".relxdp") holds the relocations of the
//     section its sh_info names: at a byte offset in the code, the
//     instruction refers to a symbol — a map (the loader writes the map's
//     file descriptor into a 64-bit load), a global variable or a function.
//     See [File.Relocations].
//   - ".maps" holds one variable per map. Its contents are zeros; the map's
//     parameters are in the variable's BTF type, a struct whose members
//     encode numbers in their types (see [Map]). The older "maps" section,
//     an array of struct bpf_map_def, is not read.
//   - ".rodata", ".data", ".bss" (and variants such as ".rodata.str1.1" or
//     ".data.counters") hold global variables, which the loader turns into
//     array maps of one element. See [File.Globals].
//   - "license" holds the license string, NUL-terminated; the kernel lets
//     only GPL-compatible programs call some helpers. See [File.License].
//   - ".BTF" holds the types (the BPF Type Format): every function's
//     prototype, the layout of maps and variables, and a string table.
//     [File.BTF] parses it with cilium/ebpf's btf package.
//   - ".BTF.ext" holds, per code section, records keyed by instruction
//     offset: func_info (which BTF function starts where), line_info (which
//     source line an instruction comes from, with the line's text) and CO-RE
//     relocations (which field of which type an instruction accesses, so
//     that the loader can adapt the offset to the running kernel). See
//     [File.BTFExt].
//
// # Reading
//
// [Read] checks the ELF header and reads the section headers and the symbol
// table (with the standard library's debug/elf); everything else is decoded
// when asked for, by the methods of [File], so that a tool that needs only
// the code (the disassembler) does not fail on, say, malformed BTF it never
// looks at. Byte slices in the results (Section.Data, Program.Code,
// Global.Data) share memory with the input rather than copying it.
//
// Every offset, size and count in the file is checked against the bytes
// that are really there: a malformed object gives an error, never a panic,
// and FuzzRead keeps it so. The zero File is an empty object, and all
// methods work on it (and on a nil *File).
package objreader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrNotFound is returned (wrapped) when an object lacks a section that a
// method needs, such as .BTF.
var ErrNotFound = errors.New("not found")

// ErrUnsupported is returned (wrapped) for parts of an object this package
// does not decode, such as the legacy "maps" section.
var ErrUnsupported = errors.New("not supported")

// File is a BPF object file.
type File struct {
	// Sections lists the section headers in file order; the index of a
	// section here is its ELF section index, so Sections[0] is the null
	// section.
	Sections []Section
	// Symbols is the symbol table in file order, starting with the null
	// symbol at index 0, so that the symbol index of a relocation is an
	// index into Symbols. It is empty when the object has no symbol table.
	Symbols []Symbol
}

// Section is one section header with its contents.
type Section struct {
	Name    string
	Type    elf.SectionType
	Flags   elf.SectionFlag
	Addr    uint64 // sh_addr: zero in a relocatable object, in practice
	Size    uint64 // sh_size: the bytes in the file, or the zeros a SHT_NOBITS section stands for
	Link    uint32 // sh_link: for a REL section, the index of its symbol table
	Info    uint32 // sh_info: for a REL section, the index of the section it relocates
	Align   uint64
	EntSize uint64
	// Data is the section's bytes in the file (sh_size of them, from
	// sh_offset), nil for SHT_NOBITS and SHT_NULL sections. It aliases the
	// input of Read. A compressed section (SHF_COMPRESSED) is given as it
	// is stored, not decompressed.
	Data []byte
}

// Executable reports whether the section holds code.
func (s *Section) Executable() bool { return s.Flags&elf.SHF_EXECINSTR != 0 }

// Symbol is one entry of the symbol table.
type Symbol struct {
	Name       string
	Value      uint64 // the offset in its section, for a symbol defined in one
	Size       uint64
	Type       elf.SymType // STT_FUNC for functions, STT_OBJECT for variables and maps, ...
	Bind       elf.SymBind // STB_GLOBAL or STB_LOCAL (static in C), ...
	Visibility elf.SymVis
	// Section is the index in File.Sections of the section the symbol is
	// defined in, or one of the special indexes SHN_UNDEF (an extern),
	// SHN_ABS or SHN_COMMON. Read has checked that an ordinary index is in
	// range.
	Section elf.SectionIndex
}

// InSection reports whether the symbol is defined in the section with
// index i of File.Sections.
func (s *Symbol) InSection(i int) bool {
	return s.Section != elf.SHN_UNDEF && s.Section < elf.SHN_LORESERVE && int(s.Section) == i
}

// Read parses the BPF object data: it checks that it is a 64-bit,
// little-endian, relocatable ELF file for EM_BPF and reads its section
// headers and symbol table. The File refers to data, which must not change
// while the File is in use.
func Read(data []byte) (*File, error) {
	const ehdr = 64 // the size of an ELF64 header
	switch {
	case len(data) == 0:
		return nil, errors.New("objreader: not an ELF object: the file is empty")
	case len(data) < 4 || string(data[:4]) != "\x7fELF":
		return nil, errors.New("objreader: not an ELF object (no ELF magic number at its start)")
	case len(data) < ehdr:
		return nil, fmt.Errorf("objreader: not an ELF object: %d bytes, fewer than an ELF header's %d (a truncated file?)", len(data), ehdr)
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("objreader: the ELF object ends before its headers say (a truncated file?)")
		}
		return nil, fmt.Errorf("objreader: %w", err)
	}
	switch {
	case ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_BPF:
		return nil, fmt.Errorf("objreader: not a 64-bit BPF ELF file (%v, %v)", ef.Class, ef.Machine)
	case ef.Data != elf.ELFDATA2LSB:
		return nil, errors.New("objreader: big-endian BPF objects are not supported")
	case ef.Type != elf.ET_REL:
		return nil, fmt.Errorf("objreader: %v: only relocatable objects are supported", ef.Type)
	}

	f := &File{Sections: make([]Section, len(ef.Sections))}
	symtab := -1
	for i, es := range ef.Sections {
		// FileSize is sh_size as stored; Size differs from it for a
		// compressed section.
		s := Section{
			Name: es.Name, Type: es.Type, Flags: es.Flags, Addr: es.Addr,
			Size: es.FileSize, Link: es.Link, Info: es.Info,
			Align: es.Addralign, EntSize: es.Entsize,
		}
		if es.Type != elf.SHT_NOBITS && es.Type != elf.SHT_NULL {
			if es.Offset > uint64(len(data)) || s.Size > uint64(len(data))-es.Offset {
				return nil, fmt.Errorf("objreader: section %d (%q) lies outside the file", i, es.Name)
			}
			s.Data = data[es.Offset : es.Offset+s.Size : es.Offset+s.Size]
		}
		if es.Type == elf.SHT_SYMTAB {
			if symtab >= 0 {
				return nil, errors.New("objreader: more than one symbol table")
			}
			symtab = i
		}
		f.Sections[i] = s
	}

	if symtab < 0 {
		return f, nil
	}
	syms, err := ef.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf("objreader: symbol table: %w", err)
	}
	f.Symbols = make([]Symbol, 1, len(syms)+1)
	for _, s := range syms {
		sym := Symbol{
			Name: s.Name, Value: s.Value, Size: s.Size,
			Type: elf.ST_TYPE(s.Info), Bind: elf.ST_BIND(s.Info), Visibility: elf.ST_VISIBILITY(s.Other),
			Section: s.Section,
		}
		switch idx := s.Section; {
		case idx == elf.SHN_XINDEX:
			return nil, fmt.Errorf("objreader: symbol %d (%q): extended section indexes are not supported", len(f.Symbols), s.Name)
		case idx != elf.SHN_UNDEF && idx < elf.SHN_LORESERVE && int(idx) >= len(f.Sections):
			return nil, fmt.Errorf("objreader: symbol %d (%q): invalid section index %d", len(f.Symbols), s.Name, idx)
		}
		f.Symbols = append(f.Symbols, sym)
	}
	return f, nil
}

// sectionOf returns the index in f.Sections of the section sym is defined
// in, and false for a symbol defined in none (an extern, an absolute or
// common symbol) or in one that does not exist.
func (f *File) sectionOf(sym *Symbol) (int, bool) {
	if sym.Section == elf.SHN_UNDEF || sym.Section >= elf.SHN_LORESERVE || int(sym.Section) >= len(f.Sections) {
		return 0, false
	}
	return int(sym.Section), true
}

// Section returns the first section with the given name, or nil.
func (f *File) Section(name string) *Section {
	if i := f.sectionIndex(name); i >= 0 {
		return &f.Sections[i]
	}
	return nil
}

// sectionIndex returns the index of the first section named name, or -1.
func (f *File) sectionIndex(name string) int {
	if f == nil {
		return -1
	}
	for i := range f.Sections {
		if f.Sections[i].Name == name && f.Sections[i].Type != elf.SHT_NULL {
			return i
		}
	}
	return -1
}

// Reloc is one relocation: the instruction (or data) at Offset in the
// relocated section refers to symbol Symbol.
type Reloc struct {
	Offset uint64 // in bytes from the start of the relocated section
	Type   RelocType
	Symbol int   // index into File.Symbols; 0 (the null symbol) for none
	Addend int64 // from a SHT_RELA section; BPF objects use SHT_REL, whose addend is in the relocated bytes
}

// RelocType is the type of a BPF relocation (the low 32 bits of r_info).
type RelocType uint32

// The relocation types of BPF objects (LLVM's BPF backend, and the kernel's
// Documentation/bpf/llvm_reloc.rst).
const (
	R_BPF_NONE        RelocType = 0
	R_BPF_64_64       RelocType = 1  // a 64-bit immediate load of a map or variable (ld_imm64)
	R_BPF_64_ABS64    RelocType = 2  // a 64-bit address in data (DWARF)
	R_BPF_64_ABS32    RelocType = 3  // a 32-bit address in data (DWARF, BTF)
	R_BPF_64_NODYLD32 RelocType = 4  // a 32-bit address in .BTF or .BTF.ext that loaders do not resolve
	R_BPF_64_32       RelocType = 10 // a BPF-to-BPF call (call with src 1) or a function's address
)

var relocNames = map[RelocType]string{
	R_BPF_NONE: "R_BPF_NONE", R_BPF_64_64: "R_BPF_64_64", R_BPF_64_ABS64: "R_BPF_64_ABS64",
	R_BPF_64_ABS32: "R_BPF_64_ABS32", R_BPF_64_NODYLD32: "R_BPF_64_NODYLD32", R_BPF_64_32: "R_BPF_64_32",
}

// String returns the type's name as llvm-readelf prints it, such as
// "R_BPF_64_64", or a number for an unknown type.
func (t RelocType) String() string {
	if s, ok := relocNames[t]; ok {
		return s
	}
	return fmt.Sprintf("R_BPF_%d", uint32(t))
}

// Relocations returns the relocations that apply to the section with index
// section of f.Sections, from every SHT_REL and SHT_RELA section whose
// sh_info names it, in file order. A section without relocations has none,
// and no error.
func (f *File) Relocations(section int) ([]Reloc, error) {
	if f == nil {
		return nil, nil
	}
	var out []Reloc
	for i := range f.Sections {
		rs := &f.Sections[i]
		if (rs.Type != elf.SHT_REL && rs.Type != elf.SHT_RELA) || int64(rs.Info) != int64(section) {
			continue
		}
		if int(rs.Link) >= len(f.Sections) || f.Sections[rs.Link].Type != elf.SHT_SYMTAB {
			return nil, fmt.Errorf("objreader: relocation section %q: sh_link %d is not the symbol table", rs.Name, rs.Link)
		}
		size := 16 // r_offset, r_info
		if rs.Type == elf.SHT_RELA {
			size = 24 // and r_addend
		}
		if len(rs.Data)%size != 0 {
			return nil, fmt.Errorf("objreader: relocation section %q: %d bytes is not a whole number of %d-byte entries", rs.Name, len(rs.Data), size)
		}
		for b := rs.Data; len(b) > 0; b = b[size:] {
			info := binary.LittleEndian.Uint64(b[8:])
			sym := elf.R_SYM64(info)
			if uint64(sym) >= uint64(len(f.Symbols)) {
				return nil, fmt.Errorf("objreader: relocation section %q: symbol index %d out of range (%d symbols)", rs.Name, sym, len(f.Symbols))
			}
			r := Reloc{
				Offset: binary.LittleEndian.Uint64(b),
				Type:   RelocType(elf.R_TYPE64(info)),
				Symbol: int(sym),
			}
			if size == 24 {
				r.Addend = int64(binary.LittleEndian.Uint64(b[16:]))
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// License returns the contents of the "license" section up to its first NUL
// byte, or "" when there is no such section.
func (f *File) License() string {
	s := f.Section("license")
	if s == nil {
		return ""
	}
	b := s.Data
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
