// Package objwriter writes BPF ELF relocatable objects: 64-bit,
// little-endian, ET_REL, EM_BPF, with the sections, symbols and relocations
// that the loaders (libbpf, cilium/ebpf) read.
//
// The writer lays out the bytes it is given and makes none of its own but
// the ELF structures: a section's contents are its Data, or for
// SHT_NOBITS, which occupies no space in the file, its Size.
//
// The output is a pure function of the Object: sections appear in the order
// they were added, each followed by its relocation section; symbols are
// ordered locals first, then globals in section and insertion order; every
// padding byte is zero. No time, host or map iteration order reaches it.
//
// A minimal object holds one program and a license:
//
//	obj := objwriter.New()
//	obj.AddProgram("socket", "accept_all", code)
//	obj.SetLicense("GPL")
//	b, err := obj.Bytes()
package objwriter

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Section is one ELF section with its symbols and relocations.
type Section struct {
	Name  string
	Type  elf.SectionType // elf.SHT_PROGBITS or elf.SHT_NOBITS
	Flags elf.SectionFlag
	Align uint64
	Data  []byte // contents of an SHT_PROGBITS section; empty for SHT_NOBITS
	// Size is the size of an SHT_NOBITS section. An SHT_PROGBITS section's
	// size is len(Data); its Size is 0 or that.
	Size uint64

	Symbols []Symbol
	Relocs  []Reloc
}

// Symbol is a symbol defined in a section.
type Symbol struct {
	Name  string
	Value uint64 // offset in the section
	Size  uint64
	Type  elf.SymType // elf.STT_FUNC, elf.STT_OBJECT, elf.STT_NOTYPE
	Bind  elf.SymBind // elf.STB_GLOBAL or elf.STB_LOCAL
}

// Reloc is a relocation entry (SHT_REL, no addend) in a section.
type Reloc struct {
	Offset uint64 // byte offset of the instruction or data word
	// Symbol names the symbol the entry refers to; when ToSection is set it
	// names a section instead, and the entry refers to that section's
	// STT_SECTION symbol.
	Symbol    string
	ToSection bool
	Type      RelocType
}

// RelocType is the type of a BPF relocation entry.
type RelocType uint32

// BPF relocation types, as LLVM emits them.
const (
	R_BPF_NONE        RelocType = 0
	R_BPF_64_64       RelocType = 1  // 64-bit immediate load (ld_imm64)
	R_BPF_64_ABS64    RelocType = 2  // 8-byte data word
	R_BPF_64_ABS32    RelocType = 3  // 4-byte data word
	R_BPF_64_NODYLD32 RelocType = 4  // 4-byte word in .BTF/.BTF.ext
	R_BPF_64_32       RelocType = 10 // call instruction
)

// Object is an ELF relocatable object under construction. The zero Object
// is an empty object, ready to use. A nil *Object reads as an empty one
// (Section, Sections, Layout and Bytes work on it), and the methods that
// add to it return an error.
type Object struct {
	sections []*Section
	byName   map[string]*Section // made by the first add
	externs  []Extern
}

// Extern is an undefined symbol (SHN_UNDEF, STT_NOTYPE) that relocations
// refer to: a kernel function or variable (__ksym in C), which the loaders
// resolve against the kernel. Weak ones may be missing from it.
type Extern struct {
	Name string
	Weak bool
}

// AddExtern adds an undefined symbol; the symbol table lists externs
// after the defined globals, in the order they were added.
func (o *Object) AddExtern(e Extern) error {
	switch {
	case o == nil:
		return errors.New(nilObject)
	case e.Name == "":
		return errors.New("objwriter: an extern without a name")
	}
	for _, x := range o.externs {
		if x.Name == e.Name {
			return fmt.Errorf("duplicate extern %q", e.Name)
		}
	}
	o.externs = append(o.externs, e)
	return nil
}

// New returns an empty object: the same as new(Object).
func New() *Object { return new(Object) }

// nilObject is what the methods that add to an object say on a nil
// *Object.
const nilObject = "objwriter: adding to a nil *Object"

// Section returns the section with the given name, or nil.
func (o *Object) Section(name string) *Section {
	if o == nil {
		return nil
	}
	return o.byName[name]
}

// Sections returns the sections in output order.
func (o *Object) Sections() []*Section {
	if o == nil {
		return nil
	}
	return o.sections
}

// add appends s, which no section of o is named like.
func (o *Object) add(s *Section) {
	if o.byName == nil {
		o.byName = make(map[string]*Section)
	}
	o.sections = append(o.sections, s)
	o.byName[s.Name] = s
}

// AddSection adds a section. Section names must be unique.
func (o *Object) AddSection(s *Section) error {
	switch {
	case o == nil:
		return errors.New(nilObject)
	case s == nil:
		return errors.New("objwriter: adding a nil *Section")
	case o.Section(s.Name) != nil:
		return fmt.Errorf("duplicate section %q", s.Name)
	}
	o.add(s)
	return nil
}

// AddProgram appends code to the executable section sec (creating it if
// needed) under a global function symbol, and returns the symbol's offset.
// Programs that share a section are laid out back to back. The first
// program of a section becomes its data without a copy: the caller must not
// change code afterwards.
func (o *Object) AddProgram(sec, symbol string, code []byte) (uint64, error) {
	if o == nil {
		return 0, errors.New(nilObject)
	}
	s := o.Section(sec)
	if s == nil {
		s = &Section{Name: sec, Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Align: 8}
		o.add(s)
	} else if s.Flags&elf.SHF_EXECINSTR == 0 {
		return 0, fmt.Errorf("section %q holds data, not code", sec)
	}
	off := uint64(len(s.Data))
	if s.Data == nil {
		s.Data = code[:len(code):len(code)] // a later append copies
	} else {
		s.Data = append(s.Data, code...)
	}
	s.Symbols = append(s.Symbols, Symbol{Name: symbol, Value: off, Size: uint64(len(code)), Type: elf.STT_FUNC, Bind: elf.STB_GLOBAL})
	return off, nil
}

// SetLicense adds the "license" section: the text and a terminating NUL.
func (o *Object) SetLicense(text string) error {
	return o.AddSection(&Section{Name: "license", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 1, Data: append([]byte(text), 0)})
}

func (s *Section) size() uint64 {
	if s.Type == elf.SHT_NOBITS {
		return s.Size
	}
	return uint64(len(s.Data))
}

// check checks that the section has a name, and contents that agree with
// its type.
func (s *Section) check() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("section without a name")
	case s.Type == elf.SHT_NOBITS && len(s.Data) != 0:
		return fmt.Errorf("section %q is SHT_NOBITS but has %d bytes of Data", s.Name, len(s.Data))
	case s.Type == elf.SHT_NOBITS:
		return nil
	case s.Type != elf.SHT_PROGBITS:
		return fmt.Errorf("section %q has type %v, want SHT_PROGBITS or SHT_NOBITS", s.Name, s.Type)
	case len(s.Data) == 0:
		return fmt.Errorf("section %q is empty", s.Name)
	case s.Size != 0 && s.Size != uint64(len(s.Data)):
		return fmt.Errorf("section %q has Size %d but %d bytes of Data (an SHT_PROGBITS section's size is that of its Data)", s.Name, s.Size, len(s.Data))
	}
	return nil
}

// strtab builds a string table in insertion order, without duplicates.
type strtab struct {
	b   []byte
	off map[string]uint32
}

func (t *strtab) add(s string) uint32 {
	if t.off == nil {
		t.b, t.off = []byte{0}, map[string]uint32{"": 0}
	}
	if o, ok := t.off[s]; ok {
		return o
	}
	o := uint32(len(t.b))
	t.b = append(append(t.b, s...), 0)
	t.off[s] = o
	return o
}

type shdr struct {
	name           uint32
	typ            elf.SectionType
	flags          elf.SectionFlag
	off, size      uint64
	link, info     uint32
	align, entsize uint64
	data           []byte // nil for NOBITS
}

const (
	ehdrSize = 64
	shdrSize = 64
	symSize  = 24
	relSize  = 16
)

// Bytes lays out and encodes the object.
func (o *Object) Bytes() ([]byte, error) {
	im, err := o.Layout()
	if err != nil {
		return nil, err
	}
	return im.Bytes()
}

// Image is a laid-out object: its ELF file, made from the object's
// sections when written. The object must not change while its Image is in
// use. The zero Image, like a nil *Image, is the image of an empty Object.
type Image struct {
	headers []shdr
	shoff   uint64 // offset of the section header table
}

// Layout lays out the object: symbols, relocations, string table, the
// place of every section in the file. The sections' contents are not
// copied.
func (o *Object) Layout() (*Image, error) {
	sections := o.Sections()
	var str strtab
	// Section indexes: 0 null, 1 .strtab, then each section and its .rel
	// section, then .symtab.
	headers := []shdr{{}, {name: str.add(".strtab"), typ: elf.SHT_STRTAB, align: 1}}
	secIndex := make(map[string]int, len(sections))
	relOf := make(map[int]int) // header index of a section -> its .rel header index
	for _, s := range sections {
		if err := s.check(); err != nil {
			return nil, err
		}
		secIndex[s.Name] = len(headers)
		headers = append(headers, shdr{name: str.add(s.Name), typ: s.Type, flags: s.Flags, size: s.size(), align: max(s.Align, 1), data: s.Data})
		if len(s.Relocs) > 0 {
			relOf[secIndex[s.Name]] = len(headers)
			headers = append(headers, shdr{name: str.add(".rel" + s.Name), typ: elf.SHT_REL, info: uint32(secIndex[s.Name]), align: 8, entsize: relSize})
		}
	}
	if len(headers) >= int(elf.SHN_LORESERVE) {
		return nil, fmt.Errorf("%d sections: ELF numbers at most %d without extended section numbering", len(headers)+1, elf.SHN_LORESERVE-1)
	}
	symtabIndex := len(headers)
	headers = append(headers, shdr{name: str.add(".symtab"), typ: elf.SHT_SYMTAB, link: 1, align: 8, entsize: symSize})
	for i := range headers {
		if headers[i].typ == elf.SHT_REL {
			headers[i].link = uint32(symtabIndex)
			headers[i].flags = elf.SHF_INFO_LINK
		}
	}

	// Symbols: null, STT_SECTION locals for sections that relocations
	// refer to, other locals, then globals.
	type sym struct {
		name        uint32
		info        byte
		shndx       uint16
		value, size uint64
	}
	syms := []sym{{}}
	symIndex := make(map[string]int)
	sectionSym := make(map[string]int)
	for _, s := range sections {
		for _, r := range s.Relocs {
			if !r.ToSection {
				continue
			}
			if _, ok := secIndex[r.Symbol]; !ok {
				return nil, fmt.Errorf("relocation in %q refers to unknown section %q", s.Name, r.Symbol)
			}
			sectionSym[r.Symbol] = -1
		}
	}
	for _, s := range sections {
		if _, ok := sectionSym[s.Name]; ok {
			sectionSym[s.Name] = len(syms)
			syms = append(syms, sym{info: byte(elf.STB_LOCAL)<<4 | byte(elf.STT_SECTION), shndx: uint16(secIndex[s.Name])})
		}
	}
	for _, bind := range []elf.SymBind{elf.STB_LOCAL, elf.STB_GLOBAL} {
		if bind == elf.STB_GLOBAL {
			headers[symtabIndex].info = uint32(len(syms)) // first non-local
		}
		for _, s := range sections {
			for _, y := range s.Symbols {
				if y.Bind != bind {
					continue
				}
				if y.Name == "" {
					return nil, fmt.Errorf("unnamed symbol in section %q", s.Name)
				}
				if _, dup := symIndex[y.Name]; dup {
					return nil, fmt.Errorf("duplicate symbol %q", y.Name)
				}
				if y.Value+y.Size > s.size() {
					return nil, fmt.Errorf("symbol %q extends past the end of section %q", y.Name, s.Name)
				}
				symIndex[y.Name] = len(syms)
				syms = append(syms, sym{name: str.add(y.Name), info: byte(bind)<<4 | byte(y.Type), shndx: uint16(secIndex[s.Name]), value: y.Value, size: y.Size})
			}
		}
	}
	var externs []Extern
	if o != nil {
		externs = o.externs
	}
	for _, e := range externs {
		if _, dup := symIndex[e.Name]; dup {
			return nil, fmt.Errorf("extern %q is also defined", e.Name)
		}
		bind := elf.STB_GLOBAL
		if e.Weak {
			bind = elf.STB_WEAK
		}
		symIndex[e.Name] = len(syms)
		syms = append(syms, sym{name: str.add(e.Name), info: byte(bind)<<4 | byte(elf.STT_NOTYPE)})
	}
	le := binary.LittleEndian
	symtab := make([]byte, 0, len(syms)*symSize)
	for _, y := range syms {
		symtab = le.AppendUint32(symtab, y.name)
		symtab = append(symtab, y.info, 0)
		symtab = le.AppendUint16(symtab, y.shndx)
		symtab = le.AppendUint64(symtab, y.value)
		symtab = le.AppendUint64(symtab, y.size)
	}
	headers[symtabIndex].data = symtab
	headers[symtabIndex].size = uint64(len(symtab))

	for _, s := range sections {
		if len(s.Relocs) == 0 {
			continue
		}
		var rel []byte
		for _, r := range s.Relocs {
			idx, ok := symIndex[r.Symbol]
			if r.ToSection {
				idx, ok = sectionSym[r.Symbol], true
			}
			if !ok {
				return nil, fmt.Errorf("relocation in %q refers to undefined symbol %q", s.Name, r.Symbol)
			}
			if r.Offset+8 > s.size() {
				return nil, fmt.Errorf("relocation at %#x lies outside section %q", r.Offset, s.Name)
			}
			rel = le.AppendUint64(rel, r.Offset)
			rel = le.AppendUint64(rel, uint64(idx)<<32|uint64(r.Type))
		}
		h := &headers[relOf[secIndex[s.Name]]]
		h.data, h.size = rel, uint64(len(rel))
	}
	headers[1].data = str.b
	headers[1].size = uint64(len(str.b))

	// Layout: ELF header, section contents in header order, header table.
	off := uint64(ehdrSize)
	for i := 1; i < len(headers); i++ {
		h := &headers[i]
		off = alignUp(off, h.align)
		h.off = off
		if h.typ != elf.SHT_NOBITS {
			off += h.size
		}
	}
	return &Image{headers: headers, shoff: alignUp(off, 8)}, nil
}

// laidOut returns im, or the layout of an empty Object for the zero Image
// and a nil *Image (Layout always has a section table: .strtab and
// .symtab).
func (im *Image) laidOut() *Image {
	if im == nil || im.headers == nil {
		empty, _ := (*Object)(nil).Layout() // cannot fail
		return empty
	}
	return im
}

// Size returns the size of the ELF file in bytes.
func (im *Image) Size() int {
	im = im.laidOut()
	return int(im.shoff) + len(im.headers)*shdrSize
}

// Bytes returns the ELF file.
func (im *Image) Bytes() ([]byte, error) {
	im = im.laidOut()
	b := bytes.NewBuffer(make([]byte, 0, im.Size()))
	if err := im.write(b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteTo writes the ELF file to w, buffered, without first making it in
// memory: for a large program that is as much memory again as the code and
// its line information.
func (im *Image) WriteTo(w io.Writer) (int64, error) {
	im = im.laidOut()
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	err := im.write(bw)
	if err == nil {
		err = bw.Flush()
	}
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// write writes the ELF file: ELF header, section contents in header order
// (with zero padding between them), header table.
func (im *Image) write(w io.Writer) error {
	le := binary.LittleEndian
	var ehdr [ehdrSize]byte
	copy(ehdr[:], []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(elf.ELFOSABI_NONE)})
	le.PutUint16(ehdr[16:], uint16(elf.ET_REL))
	le.PutUint16(ehdr[18:], uint16(elf.EM_BPF))
	le.PutUint32(ehdr[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(ehdr[40:], im.shoff)
	le.PutUint16(ehdr[52:], ehdrSize)
	le.PutUint16(ehdr[58:], shdrSize)
	le.PutUint16(ehdr[60:], uint16(len(im.headers)))
	le.PutUint16(ehdr[62:], 1) // .strtab doubles as the section name table
	if _, err := w.Write(ehdr[:]); err != nil {
		return err
	}
	off := uint64(ehdrSize)
	var zeros [64]byte
	pad := func(to uint64) error {
		for off < to {
			n, err := w.Write(zeros[:min(to-off, uint64(len(zeros)))])
			if err != nil {
				return err
			}
			off += uint64(n)
		}
		return nil
	}
	for _, h := range im.headers {
		if h.typ == elf.SHT_NOBITS || h.typ == elf.SHT_NULL {
			continue
		}
		if err := pad(h.off); err != nil {
			return err
		}
		if _, err := w.Write(h.data); err != nil {
			return err
		}
		off += uint64(len(h.data))
	}
	if err := pad(im.shoff); err != nil {
		return err
	}
	var hdr [shdrSize]byte
	for _, h := range im.headers {
		le.PutUint32(hdr[0:], h.name)
		le.PutUint32(hdr[4:], uint32(h.typ))
		le.PutUint64(hdr[8:], uint64(h.flags))
		le.PutUint64(hdr[16:], 0) // sh_addr
		le.PutUint64(hdr[24:], h.off)
		le.PutUint64(hdr[32:], h.size)
		le.PutUint32(hdr[40:], h.link)
		le.PutUint32(hdr[44:], h.info)
		le.PutUint64(hdr[48:], h.align)
		le.PutUint64(hdr[56:], h.entsize)
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
	}
	return nil
}

func alignUp(v, a uint64) uint64 {
	if a <= 1 {
		return v
	}
	return (v + a - 1) / a * a
}
