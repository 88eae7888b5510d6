package build

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/objwriter"
	"github.com/bpfstar/bpfstar/starlib"
)

// btf describes the object in BTF: a FUNC for every program (global) and
// function (static), the BTF-defined maps as libbpf and cilium/ebpf parse
// them, a DATASEC with a VAR for every global, and in .BTF.ext a func_info
// record for every function and a line_info record for every instruction,
// pointing at the Starlark line that made it.
func (l *linker) btf() error {
	b := btf.NewBuilder()
	intT := b.Int("int", 4, true)
	sizeT := b.Int("__ARRAY_SIZE_TYPE__", 4, false)
	ctxT := b.Ptr(0) // void *
	progProto := b.FuncProto(intT, []btf.Param{{Name: "ctx", Type: ctxT}})
	funcProto := b.FuncProto(intT, nil)

	var byteT btf.TypeID // unsigned char, added on first use
	funcID := make(map[string]btf.TypeID)
	for _, pc := range l.placed {
		if pc.section == ".text" {
			funcID[pc.prog.Symbol] = b.Func(pc.prog.Symbol, funcProto, btf.FuncStatic)
		} else {
			funcID[pc.prog.Symbol] = b.Func(pc.prog.Symbol, progProto, btf.FuncGlobal)
		}
	}

	if len(l.u.Maps) > 0 {
		var vars []btf.VarSecinfo
		for i, m := range l.u.Maps {
			var members []btf.Member
			for j, f := range mapFields(m) {
				var member btf.Member
				switch {
				case f.typed && f.name == "key_size" && f.value == 4:
					member = btf.Member{Name: "key", Type: b.Ptr(intT)}
				case f.typed:
					if byteT == 0 {
						byteT = b.Int("unsigned char", 1, false)
					}
					member = btf.Member{Name: strings.TrimSuffix(f.name, "_size"), Type: b.Ptr(b.Array(byteT, sizeT, f.value))}
				case f.value > math.MaxUint32/4:
					// int (*name)[value] would be larger than the kernel's
					// 4 GiB limit on type sizes; the loaders read only the
					// element count.
					if byteT == 0 {
						byteT = b.Int("unsigned char", 1, false)
					}
					member = btf.Member{Name: f.name, Type: b.Ptr(b.Array(byteT, sizeT, f.value))}
				default:
					member = btf.Member{Name: f.name, Type: b.Ptr(b.Array(intT, sizeT, f.value))}
				}
				member.BitOffset = uint32(64 * j)
				members = append(members, member)
			}
			st := b.Struct("", l.mapSize[i], members)
			v := b.Var(m.Name, st, btf.VarGlobalAllocated)
			vars = append(vars, btf.VarSecinfo{Type: v, Offset: l.mapOff[i], Size: l.mapSize[i]})
		}
		b.Datasec(".maps", uint32(len(l.obj.Section(".maps").Data)), vars)
	}

	intByBytes := map[uint32]btf.TypeID{}
	for _, name := range dataSections {
		s := l.obj.Section(name)
		if s == nil {
			continue
		}
		var vars []btf.VarSecinfo
		for _, g := range l.u.Globals {
			if g.Section != name {
				continue
			}
			var t btf.TypeID
			if g.IsInt {
				if t = intByBytes[g.Size]; t == 0 {
					t = b.Int(fmt.Sprintf("__u%d", 8*g.Size), g.Size, false)
					intByBytes[g.Size] = t
				}
			} else {
				if byteT == 0 {
					byteT = b.Int("unsigned char", 1, false)
				}
				t = b.Array(byteT, sizeT, g.Size)
			}
			v := b.Var(g.Name, t, btf.VarGlobalAllocated)
			vars = append(vars, btf.VarSecinfo{Type: v, Offset: l.globals[g.Name].off, Size: g.Size})
		}
		size := uint32(len(s.Data))
		if s.Type == elf.SHT_NOBITS {
			size = uint32(s.Size)
		}
		b.Datasec(name, size, vars)
	}

	// .BTF.ext: sections in object order, functions in offset order. The
	// line records are in place; here they get their final form.
	ext := make([]btf.ExtSection, len(l.extSecs))
	lines := newLineTable(l.u, b)
	le := binary.LittleEndian
	bySection := make([][]*placedCode, len(l.extSecs)) // placed code, in order
	for k := range l.placed {
		i := l.extIndex[l.placed[k].section]
		bySection[i] = append(bySection[i], &l.placed[k])
	}
	for i, name := range l.extSecs {
		ext[i].Name = name
		for _, pc := range bySection[i] {
			ext[i].Funcs = append(ext[i].Funcs, btf.FuncInfo{InsnOff: uint32(pc.off), Type: funcID[pc.prog.Symbol]})
			off := uint32(pc.off)
			for r := pc.lines; len(r) > 0; r = r[btf.LineRecLen:] {
				line := le.Uint32(r[8:])
				fileOff, lineOff := lines.lookup(asm.Pos{File: l.files[le.Uint32(r[4:])], Line: int32(line)})
				rec := btf.LineInfo{InsnOff: le.Uint32(r) + off, FileNameOff: fileOff, LineOff: lineOff, Line: line, Col: le.Uint32(r[12:])}
				if err := btf.PutLine(r, rec); err != nil {
					return fmt.Errorf("encoding BTF: %v", err)
				}
			}
		}
	}
	btfData, extData, err := b.FinishBuffer(ext, l.ext, l.extLines)
	if err != nil {
		return fmt.Errorf("encoding BTF: %v", err)
	}
	if err := l.obj.AddSection(&objwriter.Section{Name: ".BTF", Type: elf.SHT_PROGBITS, Align: 4, Data: btfData}); err != nil {
		return err
	}
	return l.obj.AddSection(&objwriter.Section{Name: ".BTF.ext", Type: elf.SHT_PROGBITS, Align: 4, Data: extData})
}

// lineTable finds the BTF strings of source positions: the file's name as
// recorded in the object and the text of the line. A lookup is two slice
// indexes when the file is the one of the last lookup (it is called once
// per instruction).
type lineTable struct {
	u     *starlib.Unit
	b     *btf.Builder
	files map[string]*fileLines
	last  *fileLines
}

type fileLines struct {
	file  string // the name positions use
	name  uint32
	lines [][]byte
	offs  []uint32 // string offset of line i+1's text, plus one; 0: not added yet
}

func newLineTable(u *starlib.Unit, b *btf.Builder) *lineTable {
	return &lineTable{u: u, b: b, files: make(map[string]*fileLines)}
}

func (t *lineTable) lookup(pos asm.Pos) (file, line uint32) {
	f := t.last
	if f == nil || f.file != pos.File {
		if f = t.files[pos.File]; f == nil {
			f = &fileLines{file: pos.File}
			if src, ok := t.u.Sources[pos.File]; ok {
				f.name = t.b.String(src.Name)
				f.lines = bytes.Split(src.Text, []byte("\n"))
			} else {
				f.name = t.b.String(pos.File)
			}
			f.offs = make([]uint32, len(f.lines))
			t.files[pos.File] = f
		}
		t.last = f
	}
	i := int(pos.Line) - 1
	if i < 0 || i >= len(f.lines) {
		return f.name, t.b.String("") // a position outside the file: no text
	}
	if f.offs[i] == 0 {
		f.offs[i] = t.b.String(string(bytes.TrimRight(f.lines[i], "\r"))) + 1
	}
	return f.name, f.offs[i] - 1
}
