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
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
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

// ExtSection holds the .BTF.ext records of one code section. Its line
// records are Lines or, when EachLine is set, the LineCount records that
// EachLine passes to put, in order, each time the section is encoded: a
// large section's records are then made as .BTF.ext is written rather than
// kept (see Ext).
type ExtSection struct {
	Name      string
	Funcs     []FuncInfo
	Lines     []LineInfo
	LineCount int
	EachLine  func(put func(LineInfo))
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
	btfData, e, err := b.FinishExt(ext)
	if err != nil || e == nil {
		return btfData, nil, err
	}
	var buf bytes.Buffer
	buf.Grow(e.Len())
	if _, err := e.WriteTo(&buf); err != nil {
		return nil, nil, err
	}
	return btfData, buf.Bytes(), nil
}

// LineRecLen is the size of an encoded line_info record.
const LineRecLen = lineRecLen

// MaxLine is the largest line number a line_info record holds.
const MaxLine = maxLine

// putLine encodes l as a line_info record in the first LineRecLen bytes of
// rec. It fails when l.Line does not fit in the record.
func putLine(rec []byte, l LineInfo) error {
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

// Ext is an encoded .BTF.ext whose line_info records are made as it is
// written (WriteTo), by the EachLine functions of its sections when they
// have them: for a million instructions the records take 16 MB, which are
// then never all in memory at once.
type Ext struct {
	prefix []byte // header, func_info part and the line record size
	secs   []extLines
	size   int
}

type extLines struct {
	name  uint32
	lines []LineInfo
	count int
	each  func(put func(LineInfo))
}

// FinishExt is Finish that returns .BTF.ext as an Ext (nil when ext is
// nil). A section's records are its Lines, or the LineCount records that
// its EachLine makes when the Ext is written.
func (b *Builder) FinishExt(ext []ExtSection) (btfData []byte, e *Ext, err error) {
	// .BTF.ext first: it may add section names to the string table.
	names := make([]uint32, len(ext))
	funcsLen, linesLen := 4, 4 // the record sizes
	for i, s := range ext {
		names[i] = b.String(s.Name)
		if len(s.Funcs) > 0 {
			funcsLen += 8 + funcRecLen*len(s.Funcs)
		}
		if n := s.lineCount(); n > 0 {
			linesLen += 8 + lineRecLen*n
		}
		for _, l := range s.Lines {
			var rec [lineRecLen]byte
			if err := putLine(rec[:], l); err != nil {
				return nil, nil, err
			}
		}
	}
	if b.err != nil {
		return nil, nil, b.err
	}
	if b.n == 0 {
		return nil, nil, fmt.Errorf("no types: the kernel refuses empty BTF")
	}
	if uint64(len(b.types))+uint64(len(b.strings)) > math.MaxUint32 || uint64(funcsLen)+uint64(linesLen) > math.MaxUint32-extHdrLen {
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
	e = &Ext{size: extHdrLen + funcsLen + linesLen}
	p := make([]byte, 0, extHdrLen+funcsLen+4)
	p = binary.LittleEndian.AppendUint16(p, magic)
	p = append(p, version, 0)
	p = binary.LittleEndian.AppendUint32(p, extHdrLen)
	p = binary.LittleEndian.AppendUint32(p, 0) // func_info_off
	p = binary.LittleEndian.AppendUint32(p, uint32(funcsLen))
	p = binary.LittleEndian.AppendUint32(p, uint32(funcsLen)) // line_info_off
	p = binary.LittleEndian.AppendUint32(p, uint32(linesLen))
	p = binary.LittleEndian.AppendUint32(p, uint32(funcsLen+linesLen)) // core_relo_off
	p = binary.LittleEndian.AppendUint32(p, 0)                         // core_relo_len
	p = binary.LittleEndian.AppendUint32(p, funcRecLen)
	for i, s := range ext {
		if len(s.Funcs) > 0 {
			p = binary.LittleEndian.AppendUint32(p, names[i])
			p = binary.LittleEndian.AppendUint32(p, uint32(len(s.Funcs)))
			for _, f := range s.Funcs {
				p = binary.LittleEndian.AppendUint32(p, f.InsnOff)
				p = binary.LittleEndian.AppendUint32(p, uint32(f.Type))
			}
		}
	}
	e.prefix = binary.LittleEndian.AppendUint32(p, lineRecLen)
	for i, s := range ext {
		if n := s.lineCount(); n > 0 {
			e.secs = append(e.secs, extLines{names[i], s.Lines, n, s.EachLine})
		}
	}
	return btfData, e, nil
}

func (s *ExtSection) lineCount() int {
	if s.EachLine != nil {
		return s.LineCount
	}
	return len(s.Lines)
}

// Len returns the size of the encoded .BTF.ext.
func (e *Ext) Len() int { return e.size }

// WriteTo writes the encoded .BTF.ext to w, making the records of each
// section with an EachLine as it goes. It fails if an EachLine makes more
// or fewer records than its LineCount, or a record does not fit.
func (e *Ext) WriteTo(w io.Writer) (int64, error) {
	var n int64
	buf := make([]byte, 0, 64<<10)
	flush := func() error {
		m, err := w.Write(buf)
		n += int64(m)
		buf = buf[:0]
		return err
	}
	buf = append(buf, e.prefix...)
	for _, s := range e.secs {
		buf = binary.LittleEndian.AppendUint32(buf, s.name)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(s.count))
		var err error
		made := 0
		put := func(l LineInfo) {
			if err != nil {
				return
			}
			if made++; made > s.count {
				err = fmt.Errorf(".BTF.ext: more than the %d line records announced", s.count)
				return
			}
			if len(buf)+lineRecLen > cap(buf) {
				if err = flush(); err != nil {
					return
				}
			}
			buf = buf[:len(buf)+lineRecLen]
			err = putLine(buf[len(buf)-lineRecLen:], l)
		}
		if s.each != nil {
			s.each(put)
		} else {
			for _, l := range s.lines {
				put(l)
			}
		}
		if err == nil && made != s.count {
			err = fmt.Errorf(".BTF.ext: %d line records made, %d announced", made, s.count)
		}
		if err != nil {
			return n, err
		}
	}
	err := flush()
	return n, err
}
