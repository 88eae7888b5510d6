package objreader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf/btf"
)

// BTFExt is the contents of the .BTF.ext section: records about the code,
// grouped by the code section they describe.
type BTFExt struct {
	Version, Flags uint8
	// Sections lists each code section that has records, in the order in
	// which the section first appears in .BTF.ext.
	Sections []ExtSection
}

// Section returns the records of the code section named name, or nil.
func (e *BTFExt) Section(name string) *ExtSection {
	if e == nil {
		return nil
	}
	for i := range e.Sections {
		if e.Sections[i].Name == name {
			return &e.Sections[i]
		}
	}
	return nil
}

// ExtSection holds the .BTF.ext records of one code section. Instruction
// offsets are in bytes from the start of the section, as in every object
// file (the loader divides them by 8 for the kernel, and makes them
// relative to the program).
type ExtSection struct {
	Name  string
	Funcs []FuncInfo
	Lines []LineInfo
	CORE  []CORERelocation
}

// FuncInfo says that the function whose BTF type (a FUNC) is TypeID starts
// at InsnOffset. Every function of the section has one.
type FuncInfo struct {
	InsnOffset uint32
	TypeID     btf.TypeID
}

// LineInfo says that the instructions from InsnOffset up to the next record
// come from line Line, column Column, of file File, whose text is Text.
type LineInfo struct {
	InsnOffset uint32
	File       string
	Text       string
	Line       uint32
	Column     uint32
}

// CORERelocation asks the loader to adapt the instruction at InsnOffset to
// the running kernel's types (Compile Once, Run Everywhere): the instruction
// uses, of the type with id TypeID, what Access and Kind say.
type CORERelocation struct {
	InsnOffset uint32
	TypeID     btf.TypeID
	// Access is the access string: for a field relocation, the indexes of
	// the path from TypeID to the field, separated by colons ("0:1" is
	// member 1 of the first element, as in &p->tgid); for an enum value
	// relocation, the value's index; for a type relocation, "0".
	Access string
	Kind   COREKind
}

// COREKind is the kind of a CO-RE relocation: what the loader computes
// for the instruction.
type COREKind uint32

// The kinds of CO-RE relocation (enum bpf_core_relo_kind in the kernel's
// include/uapi/linux/bpf.h).
const (
	COREFieldByteOffset COREKind = 0  // the field's offset in bytes
	COREFieldByteSize   COREKind = 1  // the field's size in bytes
	COREFieldExists     COREKind = 2  // whether the field exists
	COREFieldSigned     COREKind = 3  // whether the field is signed
	COREFieldLShiftU64  COREKind = 4  // the left shift that extracts a bitfield
	COREFieldRShiftU64  COREKind = 5  // the right shift that extracts a bitfield
	CORETypeIDLocal     COREKind = 6  // the type's id in the program's BTF
	CORETypeIDTarget    COREKind = 7  // the type's id in the kernel's BTF
	CORETypeExists      COREKind = 8  // whether the type exists
	CORETypeSize        COREKind = 9  // the type's size in bytes
	COREEnumvalExists   COREKind = 10 // whether the enum value exists
	COREEnumvalValue    COREKind = 11 // the enum value's value
	CORETypeMatches     COREKind = 12 // whether the type matches the kernel's
)

var coreKindNames = [...]string{
	"byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64",
	"local_type_id", "target_type_id", "type_exists", "type_size",
	"enumval_exists", "enumval_value", "type_matches",
}

// String returns the kind's name as libbpf and llvm-objdump print it, such
// as "byte_off", or a number for an unknown kind.
func (k COREKind) String() string {
	if int(k) < len(coreKindNames) {
		return coreKindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint32(k))
}

// BTFExt parses the .BTF.ext section, resolving names and line texts through
// the string table of .BTF. It returns an error wrapping ErrNotFound when
// there is no .BTF.ext.
//
// The section starts with a header:
//
//	u16 magic 0xeb9f; u8 version; u8 flags; u32 hdr_len;
//	u32 func_info_off, func_info_len; u32 line_info_off, line_info_len;
//	u32 core_relo_off, core_relo_len   (when hdr_len is at least 32)
//
// The offsets count from the end of the header. Each of the three parts is
// a record size (u32) followed by blocks, one per code section:
//
//	u32 sec_name_off; u32 num_info; num_info records of record size bytes
//
// The records start with (all u32) insn_off, type_id for func_info;
// insn_off, file_name_off, line_off, line << 10 | column for line_info;
// insn_off, type_id, access_str_off, kind for CO-RE relocations. A record
// size larger than that leaves room for fields added later, which are
// skipped.
func (f *File) BTFExt() (*BTFExt, error) {
	s := f.Section(".BTF.ext")
	if s == nil {
		return nil, fmt.Errorf("objreader: .BTF.ext: %w", ErrNotFound)
	}
	raw, err := f.btfSection()
	if err != nil {
		return nil, fmt.Errorf("objreader: .BTF.ext needs .BTF's strings: %w", err)
	}
	strs, err := btfStrings(raw)
	if err != nil {
		return nil, err
	}
	ext, err := parseBTFExt(s.Data, strs)
	if err != nil {
		return nil, fmt.Errorf("objreader: .BTF.ext: %w", err)
	}
	return ext, nil
}

// stringTable is the string section of .BTF: NUL-terminated strings,
// addressed by the offset of their first byte.
type stringTable []byte

// lookup returns the string at offset off.
func (t stringTable) lookup(off uint32) (string, error) {
	if uint64(off) >= uint64(len(t)) {
		return "", fmt.Errorf("string offset %d out of range (%d bytes of strings)", off, len(t))
	}
	end := bytes.IndexByte(t[off:], 0)
	if end < 0 {
		return "", fmt.Errorf("string at offset %d is not NUL-terminated", off)
	}
	return string(t[off : off+uint32(end)]), nil
}

// btfStrings returns the string section of the .BTF data raw, whose header
// is
//
//	u16 magic; u8 version; u8 flags; u32 hdr_len;
//	u32 type_off, type_len; u32 str_off, str_len
//
// with offsets counted from the end of the header.
func btfStrings(raw []byte) (stringTable, error) {
	r := reader{b: raw}
	r.u16() // magic, checked by btfSection
	r.u8()  // version
	r.u8()  // flags
	hdrLen := r.u32()
	r.u32() // type_off
	r.u32() // type_len
	strOff, strLen := r.u32(), r.u32()
	if r.err != nil || hdrLen < 24 {
		return nil, errors.New("objreader: .BTF: header too short")
	}
	start := uint64(hdrLen) + uint64(strOff)
	if start > uint64(len(raw)) || uint64(strLen) > uint64(len(raw))-start {
		return nil, fmt.Errorf("objreader: .BTF: string section (%d bytes at %d) lies outside .BTF (%d bytes)", strLen, start, len(raw))
	}
	return stringTable(raw[start : start+uint64(strLen)]), nil
}

func parseBTFExt(b []byte, strs stringTable) (*BTFExt, error) {
	r := reader{b: b}
	if magic := r.u16(); r.err == nil && magic != btfMagic {
		return nil, fmt.Errorf("bad magic %#04x (a little-endian header starts with 0xeb9f)", magic)
	}
	ext := &BTFExt{Version: r.u8(), Flags: r.u8()}
	hdrLen := r.u32()
	if r.err != nil {
		return nil, errors.New("header too short")
	}
	if ext.Version != 1 {
		return nil, fmt.Errorf("version %d (only 1 is defined)", ext.Version)
	}
	if hdrLen < 24 || uint64(hdrLen) > uint64(len(b)) {
		return nil, fmt.Errorf("header length %d out of range (24 to %d)", hdrLen, len(b))
	}
	funcOff, funcLen := r.u32(), r.u32()
	lineOff, lineLen := r.u32(), r.u32()
	var coreOff, coreLen uint32
	if hdrLen >= 32 {
		coreOff, coreLen = r.u32(), r.u32()
	}
	if r.err != nil {
		return nil, errors.New("header too short")
	}
	parts := []extPart{
		{"func_info", 8, funcOff, funcLen, func(sec *ExtSection, rec *reader) error {
			sec.Funcs = append(sec.Funcs, FuncInfo{InsnOffset: rec.u32(), TypeID: btf.TypeID(rec.u32())})
			return nil
		}},
		{"line_info", 16, lineOff, lineLen, func(sec *ExtSection, rec *reader) error {
			li := LineInfo{InsnOffset: rec.u32()}
			fileOff, textOff, lineCol := rec.u32(), rec.u32(), rec.u32()
			li.Line, li.Column = lineCol>>10, lineCol&0x3ff
			var err error
			if li.File, err = strs.lookup(fileOff); err != nil {
				return fmt.Errorf("file name: %w", err)
			}
			if li.Text, err = strs.lookup(textOff); err != nil {
				return fmt.Errorf("line text: %w", err)
			}
			sec.Lines = append(sec.Lines, li)
			return nil
		}},
		{"core_relo", 16, coreOff, coreLen, func(sec *ExtSection, rec *reader) error {
			cr := CORERelocation{InsnOffset: rec.u32(), TypeID: btf.TypeID(rec.u32())}
			accessOff := rec.u32()
			cr.Kind = COREKind(rec.u32())
			var err error
			if cr.Access, err = strs.lookup(accessOff); err != nil {
				return fmt.Errorf("access string: %w", err)
			}
			sec.CORE = append(sec.CORE, cr)
			return nil
		}},
	}

	data := b[hdrLen:]
	for _, p := range parts {
		if p.len == 0 {
			continue
		}
		if uint64(p.off) > uint64(len(data)) || uint64(p.len) > uint64(len(data))-uint64(p.off) {
			return nil, fmt.Errorf("%s (%d bytes at %d) lies outside the section (%d bytes after the header)", p.name, p.len, p.off, len(data))
		}
		pr := reader{b: data[p.off : uint64(p.off)+uint64(p.len)]}
		recSize := pr.u32()
		if pr.err != nil || recSize < p.minSize {
			return nil, fmt.Errorf("%s: record size %d, want at least %d", p.name, recSize, p.minSize)
		}
		for len(pr.b) > 0 {
			nameOff, n := pr.u32(), pr.u32()
			if pr.err != nil {
				return nil, fmt.Errorf("%s: truncated block header", p.name)
			}
			name, err := strs.lookup(nameOff)
			if err != nil {
				return nil, fmt.Errorf("%s: section name: %w", p.name, err)
			}
			if uint64(n)*uint64(recSize) > uint64(len(pr.b)) {
				return nil, fmt.Errorf("%s: section %q: %d records of %d bytes, but %d bytes are left", p.name, name, n, recSize, len(pr.b))
			}
			sec := ext.section(name)
			for range n {
				rec := reader{b: pr.next(int(recSize))}
				if err := p.add(sec, &rec); err != nil {
					return nil, fmt.Errorf("%s: section %q: %w", p.name, name, err)
				}
			}
		}
	}
	return ext, nil
}

// extPart describes one of the three parts of .BTF.ext.
type extPart struct {
	name     string
	minSize  uint32 // of a record
	off, len uint32 // of the part, after the header
	// add decodes one record (of at least minSize bytes) into sec.
	add func(sec *ExtSection, rec *reader) error
}

// section returns the ExtSection named name, adding it at the end if it is
// new.
func (e *BTFExt) section(name string) *ExtSection {
	if s := e.Section(name); s != nil {
		return s
	}
	e.Sections = append(e.Sections, ExtSection{Name: name})
	return &e.Sections[len(e.Sections)-1]
}

// reader reads little-endian integers from b. Reading past the end sets err
// and returns zeros, so that a parser can read a whole header and check
// once.
type reader struct {
	b   []byte
	err error
}

// next returns the next n bytes, or nil (and sets err) when fewer are left.
func (r *reader) next(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.err = errors.New("unexpected end of data")
		r.b = nil
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) u8() uint8 {
	if b := r.next(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.next(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.next(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}
