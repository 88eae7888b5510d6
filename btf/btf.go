// Package btf encodes BPF Type Format: the .BTF section (types and their
// string table) and the .BTF.ext section (func_info and line_info records
// per code section).
//
// A Builder collects types in the order they are added and gives each the
// next TypeID; strings are deduplicated in first-use order. Nothing in the
// encoding depends on map order or the host, so equal calls give equal
// bytes. The encoding is the one described in the kernel's
// Documentation/bpf/btf.rst: a 24-byte header, then types, then strings;
// .BTF.ext has a 32-byte header (with an empty CO-RE relocation part).
//
// Only the kinds an assembler needs are here: INT, PTR, ARRAY, STRUCT,
// FUNC_PROTO, FUNC, VAR and DATASEC.
package btf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// TypeID identifies a type; 0 is void.
type TypeID uint32

// Kinds, as in the kernel's BTF_KIND_*.
const (
	kindInt       = 1
	kindPtr       = 2
	kindArray     = 3
	kindStruct    = 4
	kindFunc      = 12
	kindFuncProto = 13
	kindVar       = 14
	kindDatasec   = 15
)

// FuncLinkage is a FUNC's linkage (BTF_FUNC_*).
type FuncLinkage uint16

const (
	FuncStatic FuncLinkage = 0
	FuncGlobal FuncLinkage = 1
	FuncExtern FuncLinkage = 2
)

// VarLinkage is a VAR's linkage (BTF_VAR_*).
type VarLinkage uint32

const (
	VarStatic          VarLinkage = 0
	VarGlobalAllocated VarLinkage = 1
	VarGlobalExtern    VarLinkage = 2
)

// Member is a STRUCT member.
type Member struct {
	Name      string
	Type      TypeID
	BitOffset uint32
}

// Param is a FUNC_PROTO parameter.
type Param struct {
	Name string
	Type TypeID
}

// VarSecinfo places a VAR in a DATASEC.
type VarSecinfo struct {
	Type   TypeID
	Offset uint32
	Size   uint32
}

// FuncInfo is a func_info record: the function whose first instruction is
// at byte offset InsnOff of its section.
type FuncInfo struct {
	InsnOff uint32
	Type    TypeID
}

// LineInfo is a line_info record. FileNameOff and LineOff are string
// offsets from Builder.String. Line must fit in 22 bits; columns past 1023
// are recorded as 1023 (the format has 10 bits for them).
type LineInfo struct {
	InsnOff     uint32
	FileNameOff uint32
	LineOff     uint32
	Line        uint32
	Col         uint32
}

// ExtSection holds the .BTF.ext records of one code section.
type ExtSection struct {
	Name  string
	Funcs []FuncInfo
	Lines []LineInfo
}

// Builder accumulates types and strings.
type Builder struct {
	types   []byte
	n       TypeID // number of types so far
	strings []byte
	strOff  map[string]uint32
	err     error
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{strings: []byte{0}, strOff: map[string]uint32{"": 0}}
}

// String adds s to the string table (once) and returns its offset.
func (b *Builder) String(s string) uint32 {
	if off, ok := b.strOff[s]; ok {
		return off
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 && b.err == nil {
			b.err = fmt.Errorf("string %q contains a NUL byte", s)
		}
	}
	off := uint32(len(b.strings))
	b.strings = append(b.strings, s...)
	b.strings = append(b.strings, 0)
	b.strOff[s] = off
	return off
}

func (b *Builder) add(name string, kind uint32, vlen int, kindFlag bool, sizeOrType uint32, extra ...uint32) TypeID {
	if vlen > 0xffff && b.err == nil {
		b.err = fmt.Errorf("type %q has %d members, more than BTF's 65535", name, vlen)
	}
	info := kind<<24 | uint32(vlen)&0xffff
	if kindFlag {
		info |= 1 << 31
	}
	b.types = binary.LittleEndian.AppendUint32(b.types, b.String(name))
	b.types = binary.LittleEndian.AppendUint32(b.types, info)
	b.types = binary.LittleEndian.AppendUint32(b.types, sizeOrType)
	for _, x := range extra {
		b.types = binary.LittleEndian.AppendUint32(b.types, x)
	}
	b.n++
	return b.n
}

// Int adds an integer type of size bytes (1, 2, 4, 8 or 16).
func (b *Builder) Int(name string, size uint32, signed bool) TypeID {
	var enc uint32
	if signed {
		enc = 1
	}
	return b.add(name, kindInt, 0, false, size, enc<<24|size*8)
}

// Ptr adds a pointer to target (0 for void *).
func (b *Builder) Ptr(target TypeID) TypeID {
	return b.add("", kindPtr, 0, false, uint32(target))
}

// Array adds an array of n elements of elem, indexed by the integer type index.
func (b *Builder) Array(elem, index TypeID, n uint32) TypeID {
	return b.add("", kindArray, 0, false, 0, uint32(elem), uint32(index), n)
}

// Struct adds a struct of size bytes ("" for an anonymous one).
func (b *Builder) Struct(name string, size uint32, members []Member) TypeID {
	extra := make([]uint32, 0, 3*len(members))
	for _, m := range members {
		extra = append(extra, b.String(m.Name), uint32(m.Type), m.BitOffset)
	}
	return b.add(name, kindStruct, len(members), false, size, extra...)
}

// FuncProto adds a function prototype.
func (b *Builder) FuncProto(ret TypeID, params []Param) TypeID {
	extra := make([]uint32, 0, 2*len(params))
	for _, p := range params {
		extra = append(extra, b.String(p.Name), uint32(p.Type))
	}
	return b.add("", kindFuncProto, len(params), false, uint32(ret), extra...)
}

// Func adds a function of prototype proto.
func (b *Builder) Func(name string, proto TypeID, linkage FuncLinkage) TypeID {
	return b.add(name, kindFunc, int(linkage), false, uint32(proto))
}

// Var adds a variable of type t.
func (b *Builder) Var(name string, t TypeID, linkage VarLinkage) TypeID {
	return b.add(name, kindVar, 0, false, uint32(t), uint32(linkage))
}

// Datasec adds a data section of size bytes holding vars (in offset order).
func (b *Builder) Datasec(name string, size uint32, vars []VarSecinfo) TypeID {
	extra := make([]uint32, 0, 3*len(vars))
	for _, v := range vars {
		extra = append(extra, uint32(v.Type), v.Offset, v.Size)
	}
	return b.add(name, kindDatasec, len(vars), false, size, extra...)
}

const (
	magic      = 0xeb9f
	version    = 1
	hdrLen     = 24
	extHdrLen  = 32
	funcRecLen = 8
	lineRecLen = 16
	maxLine    = 1<<22 - 1
	maxCol     = 1<<10 - 1
)

// Finish encodes .BTF and, from ext, .BTF.ext. The names of ext's sections
// are added to the string table first, so call Finish once, last.
func (b *Builder) Finish(ext []ExtSection) (btfData, extData []byte, err error) {
	if ext == nil {
		return b.FinishBuffer(nil, nil, nil)
	}
	funcs, lines := make([]int, len(ext)), make([]int, len(ext))
	for i, s := range ext {
		funcs[i], lines[i] = len(s.Funcs), len(s.Lines)
	}
	e := NewExtBuffer(funcs, lines)
	for i, s := range ext {
		room := e.Lines(i)
		for j, l := range s.Lines {
			if err := PutLine(room[j*LineRecLen:], l); err != nil {
				return nil, nil, err
			}
		}
	}
	return b.FinishBuffer(ext, e, lines)
}

// LineRecLen is the size of an encoded line_info record.
const LineRecLen = lineRecLen

// PutLine encodes l as a line_info record in the first LineRecLen bytes of
// rec. It fails when l.Line does not fit in the record.
func PutLine(rec []byte, l LineInfo) error {
	if l.Line > maxLine {
		return fmt.Errorf("line %d does not fit in BTF line info (at most %d)", l.Line, maxLine)
	}
	rec = rec[:LineRecLen]
	binary.LittleEndian.PutUint32(rec, l.InsnOff)
	binary.LittleEndian.PutUint32(rec[4:], l.FileNameOff)
	binary.LittleEndian.PutUint32(rec[8:], l.LineOff)
	binary.LittleEndian.PutUint32(rec[12:], l.Line<<10|min(l.Col, maxCol))
	return nil
}

// ExtBuffer is .BTF.ext under construction, in the one buffer it is
// encoded in: room for the header, for a known number of func_info records
// per code section and for at most a given number of line_info records per
// section, which the caller encodes in place (PutLine). For a million
// instructions the records take 16 MB; they are not made first and copied
// after.
type ExtBuffer struct {
	data   []byte
	prefix int   // header, func_info part and the line record size
	start  []int // offset of each section's line records
	max    []int // room for records, per section
}

// NewExtBuffer reserves .BTF.ext for code sections where section i has
// funcs[i] func_info records and at most maxLines[i] line_info records.
func NewExtBuffer(funcs, maxLines []int) *ExtBuffer {
	e := &ExtBuffer{prefix: extHdrLen + 4 + 4, start: make([]int, len(funcs)), max: maxLines}
	for _, n := range funcs {
		if n > 0 {
			e.prefix += 8 + funcRecLen*n
		}
	}
	off := e.prefix
	for i, n := range maxLines {
		off += 8 // the section's name and record count
		e.start[i] = off
		off += lineRecLen * n
	}
	e.data = make([]byte, off)
	return e
}

// Lines returns the room for the line records of section i: LineRecLen
// bytes for each record, to fill from the start.
func (e *ExtBuffer) Lines(i int) []byte {
	return e.data[e.start[i] : e.start[i]+lineRecLen*e.max[i]]
}

// FinishBuffer is Finish with the line records in e: ext gives the name and
// the func_info records of each section (its Lines are not read), and
// lines[i] the number of records encoded at the start of e.Lines(i). The
// records were checked by PutLine. The .BTF.ext returned is e's buffer.
func (b *Builder) FinishBuffer(ext []ExtSection, e *ExtBuffer, lines []int) (btfData, extData []byte, err error) {
	// .BTF.ext first: it may add section names to the string table.
	names := make([]uint32, len(ext))
	funcsLen, linesLen := 4, 4 // the record sizes
	for i, s := range ext {
		names[i] = b.String(s.Name)
		if len(s.Funcs) > 0 {
			funcsLen += 8 + funcRecLen*len(s.Funcs)
		}
		if lines[i] > 0 {
			linesLen += 8 + lineRecLen*lines[i]
		}
	}
	if b.err != nil {
		return nil, nil, b.err
	}
	if b.n == 0 {
		return nil, nil, fmt.Errorf("no types: the kernel refuses empty BTF")
	}
	if uint64(len(b.types))+uint64(len(b.strings)) > math.MaxUint32 {
		return nil, nil, fmt.Errorf("BTF too large")
	}

	btfData = make([]byte, 0, hdrLen+len(b.types)+len(b.strings))
	btfData = binary.LittleEndian.AppendUint16(btfData, magic)
	btfData = append(btfData, version, 0)
	btfData = binary.LittleEndian.AppendUint32(btfData, hdrLen)
	btfData = binary.LittleEndian.AppendUint32(btfData, 0)                      // type_off
	btfData = binary.LittleEndian.AppendUint32(btfData, uint32(len(b.types)))   // type_len
	btfData = binary.LittleEndian.AppendUint32(btfData, uint32(len(b.types)))   // str_off
	btfData = binary.LittleEndian.AppendUint32(btfData, uint32(len(b.strings))) // str_len
	btfData = append(btfData, b.types...)
	btfData = append(btfData, b.strings...)

	if ext == nil {
		return btfData, nil, nil
	}
	if extHdrLen+funcsLen+4 != e.prefix {
		return nil, nil, fmt.Errorf("func_info records do not match the room reserved for them")
	}
	extData = e.data[:0]
	extData = binary.LittleEndian.AppendUint16(extData, magic)
	extData = append(extData, version, 0)
	extData = binary.LittleEndian.AppendUint32(extData, extHdrLen)
	extData = binary.LittleEndian.AppendUint32(extData, 0) // func_info_off
	extData = binary.LittleEndian.AppendUint32(extData, uint32(funcsLen))
	extData = binary.LittleEndian.AppendUint32(extData, uint32(funcsLen)) // line_info_off
	extData = binary.LittleEndian.AppendUint32(extData, uint32(linesLen))
	extData = binary.LittleEndian.AppendUint32(extData, uint32(funcsLen+linesLen)) // core_relo_off
	extData = binary.LittleEndian.AppendUint32(extData, 0)                         // core_relo_len
	extData = binary.LittleEndian.AppendUint32(extData, funcRecLen)
	for i, s := range ext {
		if len(s.Funcs) > 0 {
			extData = binary.LittleEndian.AppendUint32(extData, names[i])
			extData = binary.LittleEndian.AppendUint32(extData, uint32(len(s.Funcs)))
			for _, f := range s.Funcs {
				extData = binary.LittleEndian.AppendUint32(extData, f.InsnOff)
				extData = binary.LittleEndian.AppendUint32(extData, uint32(f.Type))
			}
		}
	}
	extData = binary.LittleEndian.AppendUint32(extData, lineRecLen)
	// The records of each section move down next to the previous
	// section's (the room reserved may have been more than was used);
	// the first section's are already in place.
	for i := range ext {
		if lines[i] == 0 {
			continue
		}
		extData = binary.LittleEndian.AppendUint32(extData, names[i])
		extData = binary.LittleEndian.AppendUint32(extData, uint32(lines[i]))
		n := len(extData)
		extData = extData[:n+lineRecLen*lines[i]]
		copy(extData[n:], e.data[e.start[i]:])
	}
	return btfData, extData, nil
}
