package btf

import (
	"encoding/binary"
	"fmt"
	"iter"
	"math"
	"slices"
)

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

// CoreReloKind is what a CO-RE relocation computes, the kernel's enum
// bpf_core_relo_kind (include/uapi/linux/bpf.h).
type CoreReloKind uint32

const (
	CoreFieldByteOffset CoreReloKind = 0  // BPF_CORE_FIELD_BYTE_OFFSET: field byte offset
	CoreFieldByteSize   CoreReloKind = 1  // BPF_CORE_FIELD_BYTE_SIZE: field size in bytes
	CoreFieldExists     CoreReloKind = 2  // BPF_CORE_FIELD_EXISTS: field existence in the target kernel
	CoreFieldSigned     CoreReloKind = 3  // BPF_CORE_FIELD_SIGNED: field signedness (0 unsigned, 1 signed)
	CoreFieldLShiftU64  CoreReloKind = 4  // BPF_CORE_FIELD_LSHIFT_U64: bitfield-specific left bitshift
	CoreFieldRShiftU64  CoreReloKind = 5  // BPF_CORE_FIELD_RSHIFT_U64: bitfield-specific right bitshift
	CoreTypeIDLocal     CoreReloKind = 6  // BPF_CORE_TYPE_ID_LOCAL: type ID in the local object
	CoreTypeIDTarget    CoreReloKind = 7  // BPF_CORE_TYPE_ID_TARGET: type ID in the target kernel
	CoreTypeExists      CoreReloKind = 8  // BPF_CORE_TYPE_EXISTS: type existence in the target kernel
	CoreTypeSize        CoreReloKind = 9  // BPF_CORE_TYPE_SIZE: type size in bytes
	CoreEnumvalExists   CoreReloKind = 10 // BPF_CORE_ENUMVAL_EXISTS: enum value existence in the target kernel
	CoreEnumvalValue    CoreReloKind = 11 // BPF_CORE_ENUMVAL_VALUE: enum value's integer value
	CoreTypeMatches     CoreReloKind = 12 // BPF_CORE_TYPE_MATCHES: type match in the target kernel
)

var coreReloKindNames = [...]string{
	"FIELD_BYTE_OFFSET", "FIELD_BYTE_SIZE", "FIELD_EXISTS", "FIELD_SIGNED",
	"FIELD_LSHIFT_U64", "FIELD_RSHIFT_U64", "TYPE_ID_LOCAL", "TYPE_ID_TARGET",
	"TYPE_EXISTS", "TYPE_SIZE", "ENUMVAL_EXISTS", "ENUMVAL_VALUE", "TYPE_MATCHES",
}

// String returns the kind's name without BPF_CORE_, e.g. FIELD_BYTE_OFFSET.
func (k CoreReloKind) String() string {
	if int(k) < len(coreReloKindNames) {
		return coreReloKindNames[k]
	}
	return fmt.Sprintf("CoreReloKind(%d)", uint32(k))
}

// CoreRelo is a CO-RE relocation record (struct bpf_core_relo): the
// instruction at byte offset InsnOff of its section gets, when the object
// is loaded, the Kind of value computed for the local type Type, or for
// the field or enumerator of it that Access names, against the running
// kernel's types.
//
// Access is the access string: for field relocations, colon-separated
// indexes from Type ("0:1:2" is the third member of the second member of
// Type[0]); for type relocations "0"; for enum value relocations the
// enumerator's index. It goes into the string table.
type CoreRelo struct {
	InsnOff uint32
	Type    TypeID
	Access  string
	Kind    CoreReloKind
}

// ExtSection holds the .BTF.ext records of one code section.
//
// Its line records are Lines or, when EachLine is set, the LineCount
// records EachLine yields, in order, while Finish encodes them: a program
// of a million instructions has a million records, 20 MB as LineInfos,
// which then need not all be kept at once. EachLine may not add strings to
// the Builder (Finish has encoded .BTF by then).
type ExtSection struct {
	Name      string
	Funcs     []FuncInfo
	Lines     []LineInfo
	LineCount int
	EachLine  iter.Seq[LineInfo]
	CoreRelos []CoreRelo
}

// lineCount returns the number of line records of s.
func (s *ExtSection) lineCount() int {
	if s.EachLine != nil {
		return s.LineCount
	}
	return len(s.Lines)
}

// lines returns the line records of s.
func (s *ExtSection) lines() iter.Seq[LineInfo] {
	if s.EachLine != nil {
		return s.EachLine
	}
	return slices.Values(s.Lines)
}

// LineRecLen is the size of an encoded line_info record.
const LineRecLen = lineRecLen

// MaxLine is the largest line number a line_info record holds.
const MaxLine = maxLine

// validAccess reports whether s is an access string libbpf parses:
// decimal indexes separated by colons.
func validAccess(s string) bool {
	if s == "" {
		return false
	}
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case c == ':' && digits > 0:
			digits = 0
		default:
			return false
		}
	}
	return digits > 0
}

// encodeExt encodes .BTF.ext. It adds the sections' names and then the
// CO-RE records' access strings to the string table.
func (b *Builder) encodeExt(ext []ExtSection) ([]byte, error) {
	names := make([]uint32, len(ext))
	for i, s := range ext {
		names[i] = b.String(s.Name)
	}
	access := make([][]uint32, len(ext))
	for i, s := range ext {
		for _, r := range s.CoreRelos {
			access[i] = append(access[i], b.String(r.Access))
		}
	}

	// Each part is its record size, then per section with records a
	// btf_ext_info_sec (name, count) and the records.
	funcsLen, linesLen, coreLen := uint64(4), uint64(4), uint64(4)
	hasCore := false
	for _, s := range ext {
		if s.Name == "" && (len(s.Funcs) > 0 || s.lineCount() > 0 || len(s.CoreRelos) > 0) {
			return nil, fmt.Errorf(".BTF.ext: records for a section without a name")
		}
		if n := len(s.Funcs); n > 0 {
			funcsLen += 8 + funcRecLen*uint64(n)
		}
		if n := s.lineCount(); n > 0 {
			linesLen += 8 + lineRecLen*uint64(n)
		}
		for _, l := range s.Lines {
			if l.Line > maxLine {
				return nil, fmt.Errorf("line %d does not fit in BTF line info (at most %d)", l.Line, maxLine)
			}
		}
		if n := len(s.CoreRelos); n > 0 {
			hasCore = true
			coreLen += 8 + coreRecLen*uint64(n)
		}
		for _, r := range s.CoreRelos {
			switch {
			case r.InsnOff%8 != 0:
				return nil, fmt.Errorf(".BTF.ext: section %s: CO-RE relocation at byte %d, not at an instruction", s.Name, r.InsnOff)
			case !validAccess(r.Access):
				return nil, fmt.Errorf(".BTF.ext: section %s: CO-RE relocation at byte %d: access string %q is not colon-separated indexes", s.Name, r.InsnOff, r.Access)
			case int(r.Kind) >= len(coreReloKindNames):
				return nil, fmt.Errorf(".BTF.ext: section %s: CO-RE relocation at byte %d: unknown kind %d", s.Name, r.InsnOff, r.Kind)
			case r.Type > TypeID(len(b.meta)):
				return nil, fmt.Errorf(".BTF.ext: section %s: CO-RE relocation at byte %d: type [%d] does not exist", s.Name, r.InsnOff, r.Type)
			}
		}
	}
	if !hasCore {
		coreLen = 0 // no part at all, not even its record size
	}
	total := extHdrLen + funcsLen + linesLen + coreLen
	if total > math.MaxUint32 {
		return nil, fmt.Errorf("BTF too large")
	}

	le := binary.LittleEndian
	out := make([]byte, 0, total)
	out = le.AppendUint16(out, magic)
	out = append(out, version, 0)
	out = le.AppendUint32(out, extHdrLen)
	out = le.AppendUint32(out, 0) // func_info_off
	out = le.AppendUint32(out, uint32(funcsLen))
	out = le.AppendUint32(out, uint32(funcsLen)) // line_info_off
	out = le.AppendUint32(out, uint32(linesLen))
	out = le.AppendUint32(out, uint32(funcsLen+linesLen)) // core_relo_off
	out = le.AppendUint32(out, uint32(coreLen))

	out = le.AppendUint32(out, funcRecLen)
	for i, s := range ext {
		if len(s.Funcs) == 0 {
			continue
		}
		out = le.AppendUint32(out, names[i])
		out = le.AppendUint32(out, uint32(len(s.Funcs)))
		for _, f := range s.Funcs {
			out = le.AppendUint32(out, f.InsnOff)
			out = le.AppendUint32(out, uint32(f.Type))
		}
	}

	out = le.AppendUint32(out, lineRecLen)
	for i, s := range ext {
		n := s.lineCount()
		if n == 0 {
			continue
		}
		out = le.AppendUint32(out, names[i])
		out = le.AppendUint32(out, uint32(n))
		made := 0
		for l := range s.lines() {
			if made++; made > n {
				break
			}
			if l.Line > maxLine {
				return nil, fmt.Errorf("line %d does not fit in BTF line info (at most %d)", l.Line, maxLine)
			}
			out = le.AppendUint32(out, l.InsnOff)
			out = le.AppendUint32(out, l.FileNameOff)
			out = le.AppendUint32(out, l.LineOff)
			out = le.AppendUint32(out, l.Line<<10|min(l.Col, maxCol))
		}
		switch {
		case made > n:
			return nil, fmt.Errorf(".BTF.ext: section %s: more than the %d line records announced", s.Name, n)
		case made < n:
			return nil, fmt.Errorf(".BTF.ext: section %s: %d line records made, %d announced", s.Name, made, n)
		}
	}

	if hasCore {
		out = le.AppendUint32(out, coreRecLen)
		for i, s := range ext {
			if len(s.CoreRelos) == 0 {
				continue
			}
			out = le.AppendUint32(out, names[i])
			out = le.AppendUint32(out, uint32(len(s.CoreRelos)))
			for j, r := range s.CoreRelos {
				out = le.AppendUint32(out, r.InsnOff)
				out = le.AppendUint32(out, uint32(r.Type))
				out = le.AppendUint32(out, access[i][j])
				out = le.AppendUint32(out, uint32(r.Kind))
			}
		}
	}
	return out, nil
}
