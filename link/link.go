// Package link turns a Unit (the programs, functions, maps and global
// variables of one object) into the sections of a BPF ELF object: it
// assembles each program (package asm), places the code in its sections,
// lays out .maps and the global data sections, turns every reference to a
// map, global or function into a relocation, and describes all of it in
// BTF (.BTF, and .BTF.ext with a func_info record per function and a
// line_info record per instruction). Instructions may carry, as typed
// metadata, a CO-RE relocation (CoreRelo: a record in .BTF.ext against a
// local type pruned to the members used, core.go) or the kernel function
// or variable they refer to (Extern: an undefined symbol and a .ksyms
// DATASEC, extern.go). The result is an objwriter.Object, whose layout
// into bytes is objwriter's business.
//
// A front end (package starlib) fills the Unit; link knows nothing about
// it. Its errors are *Error values (and asm's *asm.Error): a position, a
// kind and a message in the linker's own words.
package link

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/objwriter"
)

// Unit is what one object holds.
type Unit struct {
	File      string        // the name of the file the unit was written in
	Programs  []asm.Program // entry points, in declaration order
	Functions []asm.Program // subprograms for .text, in declaration order
	Maps      []*Map
	Globals   []*Global
	StructOps []*StructOps
	// ContextTypes are the context types programs give themselves, by
	// symbol: where the section's convention has none
	// (progtype.Def.Context ""), the program's prototype takes a pointer
	// to it instead of void *, as a tracepoint's trace_event_raw_NAME.
	ContextTypes map[string]btf.Type
	License      string
	HasLicense   bool
	// Sources holds the text of the files the instructions' positions
	// name, by that name: the line records of .BTF.ext quote their lines.
	Sources map[string]Source
}

// Source is a file that positions name.
type Source struct {
	Name string // the name recorded in the object's debug info (BTF)
	Text []byte
}

// Map is a map definition: a BTF-defined map in the .maps section.
type Map struct {
	Name       string
	Type       string // the kernel's name without BPF_MAP_TYPE_, lower case: "hash"
	TypeID     uint32 // enum bpf_map_type
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	MapExtra   uint32 // map_extra: bloom filter hash count, arena address
	// Key and Value, when not nil, are the types of keys and values (of
	// KeySize and ValueSize bytes): the map's BTF points at them, as
	// __type(key, T) does, instead of giving sizes.
	Key, Value btf.Type
	// Values, when not nil, are the initial contents the loaders put in a
	// prog_array (program symbols) or an array_of_maps or hash_of_maps
	// (names of maps): entry i at key i, "" for none. The definition gets
	// a `values` member, as clang emits `.values = { ... }`: an array of
	// pointers whose elements are relocations.
	Values []string
	// Inner is the template of an array_of_maps' or hash_of_maps' inner
	// maps: the outer map's values member points at its definition.
	Inner *Map
	Pos   asm.Pos
}

// HasValues reports whether the map's definition ends in a values member.
func (m *Map) HasValues() bool { return m.Values != nil || m.Inner != nil }

// Global is a global variable in .rodata, .data or .bss.
type Global struct {
	Name    string
	Section string // ".rodata", ".data" or ".bss"
	Size    uint32
	Align   uint32
	Data    []byte // initial value, Size bytes; nil in .bss
	IsInt   bool   // the value was an int (BTF: an integer type), not bytes
	// Type, when not nil, is the variable's type (of Size bytes), which
	// its BTF VAR gets.
	Type btf.Type
	Pos  asm.Pos
}

// ErrorKind says what an Error is about.
type ErrorKind uint8

// Error kinds.
const (
	ErrNoPrograms      ErrorKind = iota + 1 // the unit declares no program
	ErrUnknownFunction                      // a call of a function the unit does not declare
	ErrRecursion                            // functions that call each other in a cycle
	ErrLayout                               // a section cannot be laid out (a name clash)
	ErrMapValues                            // a map's values entry that is not what the map holds
	ErrUnknownFuncAddr                      // the address of a function the unit does not declare
	ErrStructOps                            // a struct_ops member that is no struct_ops program
	ErrCoreRelo                             // a CO-RE relocation the loaders cannot apply
	ErrExtern                               // a kernel function or variable declared two ways
)

// Error is a link error at a source position.
type Error struct {
	Pos  asm.Pos
	Kind ErrorKind
	Msg  string
	// Name is the function called (or whose address is taken), for
	// ErrUnknownFunction and ErrUnknownFuncAddr; Names the
	// functions the unit declares, sorted.
	Name  string
	Names []string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Link assembles the programs and functions of a unit and lays out the
// object: code sections, .text for functions, license, .maps, global data,
// relocations, and the BTF (.BTF, .BTF.ext) that describes all of it.
//
// Sections come in a fixed order (programs in first-declared order, .text,
// license, .maps, .rodata, .data, .bss, .struct_ops, .struct_ops.link,
// .BTF, .BTF.ext), so the object is a
// function of the unit alone.
func Link(u *Unit) (*objwriter.Object, error) {
	if len(u.Programs) == 0 {
		return nil, &Error{Pos: asm.Pos{File: u.File, Line: 1, Col: 1}, Kind: ErrNoPrograms, Msg: "no programs: the object needs at least one"}
	}
	l := &linker{u: u, obj: objwriter.New(), funcOff: map[string]uint64{}, globals: map[string]*placed{}}
	if err := l.code(); err != nil {
		return nil, err
	}
	if u.HasLicense {
		if err := l.obj.SetLicense(u.License); err != nil {
			return nil, err
		}
	}
	if err := l.mapsSection(); err != nil {
		return nil, err
	}
	if err := l.dataSections(); err != nil {
		return nil, err
	}
	if err := l.structOpsSections(); err != nil {
		return nil, err
	}
	if err := l.externs(); err != nil {
		return nil, err
	}
	if err := l.relocate(); err != nil {
		return nil, err
	}
	if err := l.checkRecursion(); err != nil {
		return nil, err
	}
	if err := l.btf(); err != nil {
		return nil, err
	}
	return l.obj, nil
}

type linker struct {
	u   *Unit
	obj *objwriter.Object

	// code placed in sections, in order
	placed  []placedCode
	funcOff map[string]uint64 // offset of each function in .text

	mapOff  []uint32 // offset of each map in .maps
	mapSize []uint32
	globals map[string]*placed

	structOpsOff map[*StructOps]uint32 // offset of each struct_ops map in its section

	externList []externDecl // kfuncs and ksyms, in order of first use
}

type placedCode struct {
	prog    *asm.Program
	res     *asm.Result
	section string
	off     uint64 // offset in the section
}

type placed struct {
	g   *Global
	off uint32
}

// code assembles every program and function into its section.
func (l *linker) code() error {
	for i := range l.u.Programs {
		p := &l.u.Programs[i]
		res, err := asm.Assemble(p)
		if err != nil {
			return err
		}
		off, err := l.obj.AddProgram(p.Section, p.Symbol, res.Code)
		if err != nil {
			return &Error{Pos: p.Pos, Kind: ErrLayout, Msg: err.Error()}
		}
		l.placed = append(l.placed, placedCode{p, res, p.Section, off})
	}
	if len(l.u.Functions) == 0 {
		return nil
	}
	text := &objwriter.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Align: 8}
	for i := range l.u.Functions {
		f := &l.u.Functions[i]
		res, err := asm.Assemble(f)
		if err != nil {
			return err
		}
		off := uint64(len(text.Data))
		text.Data = append(text.Data, res.Code...)
		text.Symbols = append(text.Symbols, objwriter.Symbol{Name: f.Symbol, Value: off, Size: uint64(len(res.Code)), Type: elf.STT_FUNC, Bind: elf.STB_LOCAL})
		l.funcOff[f.Symbol] = off
		l.placed = append(l.placed, placedCode{f, res, ".text", off})
	}
	return l.obj.AddSection(text)
}

// mapFields lists the members of a map's BTF definition, in order: only
// the ones that are set, as clang emits them for __uint(...) fields. Local
// storage maps get typed `key` and `value` members instead of sizes (as
// __type(key, int) would give): the kernel creates them only with BTF key
// and value types.
func mapFields(m *Map) []mapField {
	fs := []mapField{{name: "type", value: m.TypeID}}
	typed := localStorage[m.Type]
	if m.KeySize != 0 {
		fs = append(fs, mapField{name: "key_size", value: m.KeySize, typed: typed})
	}
	if m.ValueSize != 0 {
		fs = append(fs, mapField{name: "value_size", value: m.ValueSize, typed: typed})
	}
	fs = append(fs, mapField{name: "max_entries", value: m.MaxEntries})
	if m.Flags != 0 {
		fs = append(fs, mapField{name: "map_flags", value: m.Flags})
	}
	if m.MapExtra != 0 {
		fs = append(fs, mapField{name: "map_extra", value: m.MapExtra})
	}
	return fs
}

var localStorage = map[string]bool{"sk_storage": true, "inode_storage": true, "task_storage": true, "cgrp_storage": true}

// mapField is a member of a map definition: an integer (a pointer to an
// array of value elements) or, when typed, a key_size or value_size given
// as a `key` or `value` member pointing at a type of that size.
type mapField struct {
	name  string
	value uint32
	typed bool
}

func (l *linker) mapsSection() error {
	if len(l.u.Maps) == 0 {
		return nil
	}
	s := &objwriter.Section{Name: ".maps", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 8}
	for _, m := range l.u.Maps {
		off, size := uint32(len(s.Data)), uint32(8*len(mapFields(m)))
		// The values follow the definition's fields: 8 bytes each,
		// zero, with a relocation naming the symbol of each entry.
		for i, v := range m.Values {
			if v == "" {
				continue
			}
			if err := l.checkValue(m, i, v); err != nil {
				return err
			}
			s.Relocs = append(s.Relocs, objwriter.Reloc{Offset: uint64(off + size + 8*uint32(i)), Symbol: v, Type: objwriter.R_BPF_64_ABS64})
		}
		size += 8 * uint32(len(m.Values))
		s.Data = append(s.Data, make([]byte, size)...)
		s.Symbols = append(s.Symbols, objwriter.Symbol{Name: m.Name, Value: uint64(off), Size: uint64(size), Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL})
		l.mapOff, l.mapSize = append(l.mapOff, off), append(l.mapSize, size)
	}
	return l.obj.AddSection(s)
}

// checkValue checks the i-th values entry of a map: a program of the unit
// for a prog_array, a map like the inner template for a map of maps.
func (l *linker) checkValue(m *Map, i int, name string) error {
	fail := func(format string, args ...any) error {
		return &Error{Pos: m.Pos, Kind: ErrMapValues, Msg: fmt.Sprintf("map %q: values[%d]: ", m.Name, i) + fmt.Sprintf(format, args...)}
	}
	if m.Inner == nil {
		for j := range l.u.Programs {
			if l.u.Programs[j].Symbol == name {
				return nil
			}
		}
		if _, ok := l.funcOff[name]; ok {
			return fail("%q is a function, not a program: a tail call enters a program", name)
		}
		return fail("no program %q (programs: %v)", name, l.programNames())
	}
	for _, in := range l.u.Maps {
		if in.Name != name {
			continue
		}
		if in.HasValues() {
			return fail("map %q holds maps or programs itself: the kernel does not nest maps of maps", name)
		}
		t := m.Inner
		if in.Type != t.Type || in.KeySize != t.KeySize || in.ValueSize != t.ValueSize || in.Flags != t.Flags || in.MaxEntries != t.MaxEntries {
			return fail("map %q (%s, key %d, value %d, max_entries %d, flags %d) is not like the inner template %q (%s, key %d, value %d, max_entries %d, flags %d)", name, in.Type, in.KeySize, in.ValueSize, in.MaxEntries, in.Flags, t.Name, t.Type, t.KeySize, t.ValueSize, t.MaxEntries, t.Flags)
		}
		return nil
	}
	return fail("no map %q", name)
}

// programNames returns the symbols of the unit's programs, sorted.
func (l *linker) programNames() []string {
	names := make([]string, 0, len(l.u.Programs))
	for i := range l.u.Programs {
		names = append(names, l.u.Programs[i].Symbol)
	}
	sort.Strings(names)
	return names
}

var dataSections = []string{".rodata", ".data", ".bss"}

func (l *linker) dataSections() error {
	for _, name := range dataSections {
		s := &objwriter.Section{Name: name, Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 1}
		switch name {
		case ".rodata":
			s.Flags = elf.SHF_ALLOC
		case ".bss":
			s.Type = elf.SHT_NOBITS
		}
		var size uint32
		for _, g := range l.u.Globals {
			if g.Section != name {
				continue
			}
			size = (size + g.Align - 1) / g.Align * g.Align
			s.Align = max(s.Align, uint64(g.Align))
			if s.Type == elf.SHT_PROGBITS {
				s.Data = append(s.Data, make([]byte, int(size)-len(s.Data))...)
				s.Data = append(s.Data, g.Data...)
			}
			s.Symbols = append(s.Symbols, objwriter.Symbol{Name: g.Name, Value: uint64(size), Size: uint64(g.Size), Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL})
			l.globals[g.Name] = &placed{g, size}
			size += g.Size
		}
		if size == 0 {
			continue // never emit empty data sections
		}
		s.Size = uint64(size)
		if err := l.obj.AddSection(s); err != nil {
			return err
		}
	}
	return nil
}

// relocate turns the references of every instruction into relocation
// entries, and fills in the immediates they carry.
func (l *linker) relocate() error {
	for _, pc := range l.placed {
		sec := l.obj.Section(pc.section)
		for _, r := range pc.res.Relocs {
			off := pc.off + r.Offset
			imm := sec.Data[off+4 : off+8]
			switch r.Ref.Kind {
			case asm.RefMap:
				sec.Relocs = append(sec.Relocs, objwriter.Reloc{Offset: off, Symbol: r.Ref.Name, Type: objwriter.R_BPF_64_64})
			case asm.RefGlobal:
				g := l.globals[r.Ref.Name]
				binary.LittleEndian.PutUint32(imm, g.off+uint32(r.Ref.Addend))
				sec.Relocs = append(sec.Relocs, objwriter.Reloc{Offset: off, Symbol: g.g.Section, ToSection: true, Type: objwriter.R_BPF_64_64})
			case asm.RefFunc:
				foff, ok := l.funcOff[r.Ref.Name]
				if !ok {
					names := l.funcNames()
					return &Error{Pos: r.Pos, Kind: ErrUnknownFunction, Msg: fmt.Sprintf("call to unknown function %q (functions: %v)", r.Ref.Name, names), Name: r.Ref.Name, Names: names}
				}
				binary.LittleEndian.PutUint32(imm, uint32(int32(foff/isa.SlotSize)-1))
				sec.Relocs = append(sec.Relocs, objwriter.Reloc{Offset: off, Symbol: ".text", ToSection: true, Type: objwriter.R_BPF_64_32})
			case asm.RefFuncAddr:
				// As clang emits &func: an ld_imm64 with src 0 whose
				// immediate is the function's byte offset in .text,
				// relocated against .text; both loaders turn it into
				// src BPF_PSEUDO_FUNC with the offset in instructions.
				foff, ok := l.funcOff[r.Ref.Name]
				if !ok {
					names := l.funcNames()
					return &Error{Pos: r.Pos, Kind: ErrUnknownFuncAddr, Msg: fmt.Sprintf("address of unknown function %q (functions: %v)", r.Ref.Name, names), Name: r.Ref.Name, Names: names}
				}
				binary.LittleEndian.PutUint32(imm, uint32(foff))
				sec.Relocs = append(sec.Relocs, objwriter.Reloc{Offset: off, Symbol: ".text", ToSection: true, Type: objwriter.R_BPF_64_64})
			case asm.RefKfunc:
				// As clang emits a call of an extern __ksym function:
				// call -1 with src 1, against the undefined symbol.
				sec.Relocs = append(sec.Relocs, objwriter.Reloc{Offset: off, Symbol: r.Ref.Name, Type: objwriter.R_BPF_64_32})
			case asm.RefKfuncAddr, asm.RefKsym:
				sec.Relocs = append(sec.Relocs, objwriter.Reloc{Offset: off, Symbol: r.Ref.Name, Type: objwriter.R_BPF_64_64})
			}
		}
	}
	return nil
}

// funcNames returns the names of the unit's functions, sorted.
func (l *linker) funcNames() []string {
	names := make([]string, 0, len(l.funcOff))
	for n := range l.funcOff {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkRecursion refuses call cycles among functions: the verifier rejects
// every recursive call, so the build names the call that closes the cycle.
func (l *linker) checkRecursion() error {
	calls := map[string][]asm.Reloc{} // function -> its calls, in order
	for _, pc := range l.placed {
		if pc.section != ".text" {
			continue
		}
		for _, r := range pc.res.Relocs {
			if r.Ref.Kind == asm.RefFunc {
				calls[pc.prog.Symbol] = append(calls[pc.prog.Symbol], r)
			}
		}
	}
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(fn string) error
	visit = func(fn string) error {
		state[fn] = active
		path = append(path, fn)
		for _, r := range calls[fn] {
			switch state[r.Ref.Name] {
			case active:
				cycle := path[slices.Index(path, r.Ref.Name):]
				return &Error{Pos: r.Pos, Kind: ErrRecursion, Msg: fmt.Sprintf("recursive call (%s -> %s): the verifier rejects recursion", strings.Join(cycle, " -> "), r.Ref.Name)}
			case unseen:
				if err := visit(r.Ref.Name); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[fn] = done
		return nil
	}
	for i := range l.u.Functions {
		if fn := l.u.Functions[i].Symbol; state[fn] == unseen {
			if err := visit(fn); err != nil {
				return err
			}
		}
	}
	return nil
}
