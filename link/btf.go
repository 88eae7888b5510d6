package link

import (
	"bytes"
	"debug/elf"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/objwriter"
)

// btf describes the object in BTF: a FUNC for every program (global) and
// function (static), the BTF-defined maps as libbpf and cilium/ebpf parse
// them, a DATASEC with a VAR for every global, and in .BTF.ext a func_info
// record for every function and a line_info record for every instruction,
// pointing at the source line that made it.
func (l *linker) btf() error {
	b := btf.NewBuilder()
	intT := b.Int("int", 4, true)
	sizeT := b.Int("__ARRAY_SIZE_TYPE__", 4, false)
	var byteT btf.TypeID // unsigned char, added on first use
	// The types of typed maps and globals, added on first use after the
	// types above, which they share.
	var enc *btf.Encoder
	addType := func(t btf.Type) (btf.TypeID, error) {
		if enc == nil {
			enc = btf.NewEncoder(b)
			enc.Known(&btf.Int{Name: "int", Bytes: 4, Encoding: btf.IntSigned}, intT)
			enc.Known(&btf.Int{Name: "__ARRAY_SIZE_TYPE__", Bytes: 4}, sizeT)
			if byteT != 0 {
				enc.Known(&btf.Int{Name: "unsigned char", Bytes: 1}, byteT)
			}
		}
		return enc.Add(t)
	}
	funcID := make(map[string]btf.TypeID)
	// Prototypes, added on first use: int (void) for functions; for
	// programs int (T *ctx), where T is the type the program gives
	// (Unit.ContextTypes), else the struct of linux/bpf.h that the
	// section's program type gets as context (uapi.go), or void.
	var funcProto btf.TypeID
	ctxProto := map[string]btf.TypeID{}
	for _, pc := range l.placed {
		if pc.section == ".text" {
			if funcProto == 0 {
				funcProto = b.FuncProto(intT, nil)
			}
			funcID[pc.prog.Symbol] = b.Func(pc.prog.Symbol, funcProto, btf.FuncStatic)
			continue
		}
		if t := l.u.ContextTypes[pc.prog.Symbol]; t != nil {
			ctx, err := addType(&btf.Ptr{Target: t})
			if err != nil {
				return fmt.Errorf("encoding BTF: context of %s: %v", pc.prog.Symbol, err)
			}
			proto := b.FuncProto(intT, []btf.Param{{Name: "ctx", Type: ctx}})
			funcID[pc.prog.Symbol] = b.Func(pc.prog.Symbol, proto, btf.FuncGlobal)
			continue
		}
		name := contextStruct(pc.section)
		proto, ok := ctxProto[name]
		if !ok {
			var ctx btf.TypeID
			var err error
			switch name {
			case "":
				ctx = b.Ptr(0) // void *
			case tracingContext:
				ctx, err = addType(&btf.Ptr{Target: &btf.Int{Name: name, Bytes: 8}})
			default:
				ctx, err = addType(&btf.Ptr{Target: contextType(name)})
			}
			if err != nil {
				return fmt.Errorf("encoding BTF: context of %s: %v", pc.prog.Symbol, err)
			}
			proto = b.FuncProto(intT, []btf.Param{{Name: "ctx", Type: ctx}})
			ctxProto[name] = proto
		}
		funcID[pc.prog.Symbol] = b.Func(pc.prog.Symbol, proto, btf.FuncGlobal)
	}

	if len(l.u.Maps) > 0 {
		var vars []btf.VarSecinfo
		structID := map[string]btf.TypeID{} // each map's definition
		var progProto btf.TypeID
		for i, m := range l.u.Maps {
			var members []btf.Member
			for j, f := range mapFields(m) {
				var member btf.Member
				var typ btf.Type // the key's or value's type, if given
				switch f.name {
				case "key_size":
					typ = m.Key
				case "value_size":
					typ = m.Value
				}
				switch {
				case typ != nil:
					id, err := addType(&btf.Ptr{Target: typ})
					if err != nil {
						return fmt.Errorf("encoding BTF: map %q: %s: %v", m.Name, strings.TrimSuffix(f.name, "_size"), err)
					}
					member = btf.Member{Name: strings.TrimSuffix(f.name, "_size"), Type: id}
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
			// The definition's struct ends before its values (a flexible
			// array, as in C); the variable's size takes them in.
			size := uint32(8 * len(members))
			if m.HasValues() {
				var elem btf.TypeID
				if m.Inner != nil {
					elem = b.Ptr(structID[m.Inner.Name])
				} else {
					// int (*)(void *), as __array(values, int (void *))
					if progProto == 0 {
						progProto = b.FuncProto(intT, []btf.Param{{Type: b.Ptr(0)}})
					}
					elem = b.Ptr(progProto)
				}
				members = append(members, btf.Member{Name: "values", Type: b.Array(elem, sizeT, 0), BitOffset: 8 * size})
			}
			st := b.Struct("", size, members)
			structID[m.Name] = st
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
			if g.Type != nil {
				var err error
				if t, err = addType(g.Type); err != nil {
					return fmt.Errorf("encoding BTF: global %q: %v", g.Name, err)
				}
			} else if g.IsInt {
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
	if err := l.structOpsBTF(b, addType); err != nil {
		return err
	}
	if err := l.externsBTF(b, addType); err != nil {
		return err
	}

	// .BTF.ext: code sections in object order (the programs' sections in
	// the order they first appear, then .text), functions in offset order,
	// a line record for each instruction. The file names and line texts
	// enter the string table after the types' names, in the order the
	// records first use them: a first pass over the positions adds them;
	// the records are made from the positions again as Finish encodes
	// them (at a million instructions they would be 20 MB to keep).
	lines := newLineTable(l.u, b)
	sections := bySection(len(l.placed), func(k int) string { return l.placed[k].section })
	ext := make([]btf.ExtSection, len(sections))
	for i, placed := range sections {
		progs := make([]*placedCode, len(placed))
		for j, k := range placed {
			progs[j] = &l.placed[k]
		}
		ext[i].Name = progs[0].section
		for _, pc := range progs {
			ext[i].Funcs = append(ext[i].Funcs, btf.FuncInfo{InsnOff: uint32(pc.off), Type: funcID[pc.prog.Symbol]})
			ext[i].LineCount += len(pc.prog.Insns)
			for j := range pc.prog.Insns {
				pos := pc.prog.Insns[j].Pos()
				if pos.Line > btf.MaxLine {
					return fmt.Errorf("encoding BTF: line %d does not fit in BTF line info (at most %d)", pos.Line, btf.MaxLine)
				}
				lines.lookup(pos)
			}
		}
		ext[i].EachLine = func(yield func(btf.LineInfo) bool) {
			for _, pc := range progs {
				off := uint32(pc.off)
				for j := range pc.prog.Insns {
					ins := &pc.prog.Insns[j]
					pos := ins.Pos()
					fileOff, lineOff := lines.lookup(pos)
					if !yield(btf.LineInfo{InsnOff: off, FileNameOff: fileOff, LineOff: lineOff, Line: uint32(pos.Line), Col: uint32(pos.Col)}) {
						return
					}
					off += uint32(ins.Slots()) * isa.SlotSize
				}
			}
		}
	}
	core, err := l.coreRelos(sections, addType)
	if err != nil {
		return err
	}
	for i := range core {
		ext[i].CoreRelos = core[i]
	}
	btfData, extData, err := b.Finish(ext)
	if err != nil {
		return fmt.Errorf("encoding BTF: %v", err)
	}
	if err := l.obj.AddSection(&objwriter.Section{Name: ".BTF", Type: elf.SHT_PROGBITS, Align: 4, Data: btfData}); err != nil {
		return err
	}
	return l.obj.AddSection(&objwriter.Section{Name: ".BTF.ext", Type: elf.SHT_PROGBITS, Align: 4, Data: extData})
}

// lineTable finds the BTF strings of source positions: the file's name as
// recorded in the object and the text of the line, each added to the
// string table the first time a position uses it. A lookup is two slice
// indexes when the file is the one of the last lookup (it is made once
// per instruction).
type lineTable struct {
	u     *Unit
	b     *btf.Builder
	files map[string]*fileLines
	last  *fileLines
}

type fileLines struct {
	file  string // the name positions use
	name  uint32 // its string offset
	lines [][]byte
	offs  []uint32 // string offset of line i+1's text, 0 until used
}

func newLineTable(u *Unit, b *btf.Builder) *lineTable {
	return &lineTable{u: u, b: b, files: make(map[string]*fileLines)}
}

func (t *lineTable) file(name string) *fileLines {
	if f := t.last; f != nil && f.file == name {
		return f
	}
	f := t.files[name]
	if f == nil {
		f = &fileLines{file: name}
		if src, ok := t.u.Sources[name]; ok {
			f.lines = bytes.Split(src.Text, []byte("\n"))
			f.name = t.b.String(src.Name)
		} else {
			f.name = t.b.String(name)
		}
		f.offs = make([]uint32, len(f.lines))
		t.files[name] = f
	}
	t.last = f
	return f
}

// lookup returns the string offsets of the file name and line text of
// pos, adding them to the string table on first use.
func (t *lineTable) lookup(pos asm.Pos) (file, line uint32) {
	f := t.file(pos.File)
	i := int(pos.Line) - 1
	if i < 0 || i >= len(f.lines) {
		return f.name, 0 // a position outside the file: no text ("")
	}
	if f.offs[i] == 0 {
		f.offs[i] = t.b.String(lineText(f.lines[i]))
	}
	return f.name, f.offs[i]
}

// bySection groups n pieces of code, the k-th in section(k), by section:
// sections in the order they first appear, each with its pieces in order.
// It is the order of .BTF.ext's records.
func bySection(n int, section func(k int) string) [][]int {
	var groups [][]int
	index := make(map[string]int)
	for k := 0; k < n; k++ {
		i, ok := index[section(k)]
		if !ok {
			i = len(groups)
			index[section(k)] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], k)
	}
	return groups
}

// maxLineText is the most bytes of a source line the line records quote:
// the kernel refuses BTF of more than 16 MiB, which one long line of a
// generated file would otherwise make (E2BIG when loading).
const maxLineText = 1024

// lineText returns the text of a source line as the line records quote
// it: without its \r, cut (at a character boundary) to maxLineText bytes.
func lineText(line []byte) string {
	line = bytes.TrimRight(line, "\r")
	if len(line) <= maxLineText {
		return string(line)
	}
	n := maxLineText
	for n > 0 && !utf8.RuneStart(line[n]) {
		n--
	}
	return string(line[:n])
}
