package vm

import (
	"debug/elf"
	"errors"
	"fmt"
	"sort"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/helper"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/objreader"
)

// Object is a BPF object file made ready to run: every code section of
// the object in one code image (so that BPF-to-BPF calls, callbacks and
// tail calls between its functions are plain slot numbers), with its
// relocations applied, its maps and global data sections described, and
// the source line of each slot from its BTF line information.
//
// The loader does what libbpf does to an object, minus the kernel: a
// 64-bit load of a map becomes the map's reference, of a global variable
// the address of its section's memory plus the offset, of a function a
// function reference; a call relocation becomes a relative call.
//
// The interpreter stands for a kernel whose types are the program's own
// and whose only kernel symbols are the kfuncs it models:
//
//   - A CO-RE relocation keeps the value the instruction holds, which the
//     compiler computed against the object's local types (a field's
//     offset, whether it exists, a type's size, an enumerator's value):
//     the program runs as on a kernel whose types are those the program
//     declares. It is not relocated against another kernel's BTF: the
//     memory a run reads is what the test gives, laid out as the test
//     says, never a kernel's.
//   - A 64-bit load of an extern gives a modelled kfunc's address (not
//     zero, not memory), 0 for a weak kfunc or ksym it does not have (as
//     a loader gives for a weak extern the kernel lacks, so that
//     bpf_ksym_exists is false); a program that needs any other extern
//     (a kconfig value, a strong ksym, the address of a strong kfunc it
//     does not model) does not run, and the error names it.
//   - A call of a modelled kfunc runs its model; of another kfunc, stops
//     the run naming it.
type Object struct {
	code     []insn
	slots    []isa.Instruction
	lines    []Line
	funcs    []funcSym
	sections []funcSym
	progs    map[string]*Program
	names    []string
	maps     []MapSpec
	// bad maps a program to why it cannot run (an extern, a CO-RE
	// relocation), for the programs of sections that need what the
	// interpreter does not model.
	bad    map[string]error
	kfuncs map[int64]string
	// externs classifies the object's undefined symbols.
	externs map[string]externKind
}

// Programs returns the names of the object's programs (functions in a
// section other than .text), sorted.
func (o *Object) Programs() []string { return o.names }

// Program returns the program named name.
func (o *Object) Program(name string) (*Program, error) {
	p, ok := o.progs[name]
	if !ok {
		return nil, fmt.Errorf("the object has no program %q", name)
	}
	if err := o.bad[name]; err != nil {
		return nil, err
	}
	return p, nil
}

// Maps returns the specifications of the object's maps and global data
// sections.
func (o *Object) Maps() []MapSpec { return o.maps }

// LoadObject reads a BPF object (see package objreader) and prepares it to
// run.
func LoadObject(data []byte) (*Object, error) {
	f, err := objreader.Read(data)
	if err != nil {
		return nil, err
	}
	progs, err := f.Programs()
	if err != nil {
		return nil, err
	}
	omaps, err := f.Maps()
	if err != nil {
		return nil, err
	}
	o := &Object{progs: map[string]*Program{}, bad: map[string]error{}, kfuncs: map[int64]string{}, externs: externKinds(f)}
	// Maps first, then one array map per global data section, in
	// section order: their indexes fix their region numbers.
	mapIndex := map[uint64]int{} // .maps offset -> map
	for _, mp := range omaps {
		mapIndex[mp.Offset] = len(o.maps)
		o.maps = append(o.maps, MapSpec{Name: mp.Name, Type: mp.Type, KeySize: mp.KeySize, ValueSize: mp.ValueSize, MaxEntries: mp.MaxEntries, Flags: mp.Flags})
	}
	dataMap := map[int]int{} // section index -> map
	for i, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_EXECINSTR != 0 || s.Type == elf.SHT_NULL {
			continue
		}
		if s.Type != elf.SHT_PROGBITS && s.Type != elf.SHT_NOBITS || s.Name == ".maps" || s.Name == "license" || s.Name == "version" || s.Name == "maps" {
			continue
		}
		if s.Size > maxMapBytes {
			return nil, fmt.Errorf("%w: section %s has %d bytes", ErrUnsupported, s.Name, s.Size)
		}
		d := make([]byte, s.Size)
		copy(d, s.Data)
		dataMap[i] = len(o.maps)
		o.maps = append(o.maps, MapSpec{Name: s.Name, Type: MapArray, KeySize: 4, ValueSize: uint32(s.Size), MaxEntries: 1, Data: d, ReadOnly: s.Flags&elf.SHF_WRITE == 0})
	}
	// The code image: every executable section, in section order.
	base := map[int]int{}
	var slots []isa.Instruction
	for i, s := range f.Sections {
		if s.Flags&elf.SHF_EXECINSTR == 0 || s.Type != elf.SHT_PROGBITS || len(s.Data) == 0 {
			continue
		}
		sl, err := decodeSlots(s.Data)
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Name, err)
		}
		base[i] = len(slots)
		o.sections = append(o.sections, funcSym{pc: len(slots), name: s.Name})
		slots = append(slots, sl...)
	}
	// badSlots are the slots whose relocation the interpreter cannot
	// apply (an extern it does not have): the programs that may reach
	// them do not run.
	badSlots := map[int]error{}
	for sec, b := range base {
		relocs, err := f.Relocations(sec)
		if err != nil {
			return nil, err
		}
		for _, rel := range relocs {
			if rel.Symbol <= 0 || rel.Symbol >= len(f.Symbols) || rel.Offset%isa.SlotSize != 0 || int(rel.Offset/isa.SlotSize) >= len(slots)-b {
				return nil, fmt.Errorf("section %s: bad relocation at %#x", f.Sections[sec].Name, rel.Offset)
			}
			pc := b + int(rel.Offset/isa.SlotSize)
			sym := f.Symbols[rel.Symbol]
			if err := o.relocate(f, slots, pc, sym, base, mapIndex, dataMap); err != nil {
				if errors.Is(err, ErrUnsupported) {
					badSlots[pc] = err
					continue
				}
				return nil, fmt.Errorf("section %s: %w", f.Sections[sec].Name, err)
			}
		}
	}
	o.slots = slots
	o.code, err = compileSlots(slots)
	if err != nil {
		return nil, err
	}
	o.lines = make([]Line, len(o.code))
	if ext, err := f.BTFExt(); err == nil {
		for sec, b := range base {
			es := ext.Section(f.Sections[sec].Name)
			if es == nil {
				continue
			}
			lines := append([]objreader.LineInfo(nil), es.Lines...)
			sort.SliceStable(lines, func(i, j int) bool { return lines[i].InsnOffset < lines[j].InsnOffset })
			end := b + len(f.Sections[sec].Data)/isa.SlotSize
			for i, l := range lines {
				from := b + int(l.InsnOffset/isa.SlotSize)
				to := end
				if i+1 < len(lines) {
					to = b + int(lines[i+1].InsnOffset/isa.SlotSize)
				}
				for pc := from; pc < to && pc < end; pc++ {
					o.lines[pc] = Line{File: l.File, Line: int(l.Line), Col: int(l.Column), Text: l.Text}
				}
			}
		}
	}
	if err := o.initSlots(f, omaps, base); err != nil {
		return nil, err
	}
	for _, p := range progs {
		b, ok := base[p.SectionIndex]
		if !ok {
			continue
		}
		entry := b + int(p.Offset/isa.SlotSize)
		o.funcs = append(o.funcs, funcSym{pc: entry, name: p.Name})
		if p.Section == ".text" {
			continue
		}
		o.progs[p.Name] = &Program{code: o.code, slots: o.slots, entry: entry, lines: o.lines, name: p.Name, section: p.Section}
		o.names = append(o.names, p.Name)
	}
	sort.Slice(o.funcs, func(i, j int) bool { return o.funcs[i].pc < o.funcs[j].pc })
	for _, p := range o.progs {
		p.funcs = o.funcs
		p.sections = o.sections
	}
	sort.Strings(o.names)
	cache := map[int]*codeFunc{}
	lic := f.License()
	for _, name := range o.names {
		o.bad[name] = o.loadCheck(o.progs[name], lic, badSlots, cache)
	}
	return o, nil
}

// codeFunc is what the load checks need of one function: the functions
// it calls or passes as callbacks, its first call of a GPL-only helper or
// kfunc and its first slot whose relocation failed (-1 for none).
type codeFunc struct {
	callees []int
	gpl     int
	bad     int
}

// funcAt returns what the function starting at slot start calls,
// computing it once.
func (o *Object) funcAt(start int, badSlots map[int]error, cache map[int]*codeFunc) *codeFunc {
	if f, ok := cache[start]; ok {
		return f
	}
	f := &codeFunc{gpl: -1, bad: -1}
	for pc, end := start, o.funcEnd(start); pc < end; pc++ {
		if _, ok := badSlots[pc]; ok && f.bad < 0 {
			f.bad = pc
		}
		in := o.code[pc]
		switch {
		case in.op == 0x85 && in.src == uint8(isa.CallPseudo):
			f.callees = append(f.callees, int(in.off))
		case in.op == 0x18 && uint64(in.imm)&tagMask == funcTag:
			f.callees = append(f.callees, int(uint64(in.imm)&^tagMask))
		case f.gpl < 0 && in.op == 0x85 && (in.src == uint8(isa.CallHelper) && helper.GPLOnly(int32(in.imm)) || in.src == uint8(isa.CallKfunc)):
			f.gpl = pc
		}
	}
	cache[start] = f
	return f
}

// funcEnd returns the slot past the function that starts at slot pc: the
// next function's or code section's first slot, or the end of the code.
func (o *Object) funcEnd(pc int) int {
	end := len(o.slots)
	if i := sort.Search(len(o.funcs), func(i int) bool { return o.funcs[i].pc > pc }); i < len(o.funcs) {
		end = o.funcs[i].pc
	}
	if i := sort.Search(len(o.sections), func(i int) bool { return o.sections[i].pc > pc }); i < len(o.sections) {
		end = min(end, o.sections[i].pc)
	}
	return end
}

// loadCheck returns why program p cannot run, looking at it and every
// function it calls or passes as a callback: a relocation the interpreter
// could not apply (badSlots: an extern it does not have), or, when the
// object's license (lic) is not GPL-compatible, a call of a GPL-only
// helper (helper.GPLOnly) or of any kfunc, which the kernel refuses to
// load. nil when it can run.
func (o *Object) loadCheck(p *Program, lic string, badSlots map[int]error, cache map[int]*codeFunc) error {
	gpl := helper.GPLCompatible(lic)
	seen := map[int]bool{p.entry: true}
	for queue := []int{p.entry}; len(queue) > 0; queue = queue[1:] {
		f := o.funcAt(queue[0], badSlots, cache)
		if f.bad >= 0 {
			return fmt.Errorf("program %s: %w", p.name, badSlots[f.bad])
		}
		if pc := f.gpl; pc >= 0 && !gpl {
			in := o.code[pc]
			where := ""
			if l := o.lines[pc]; l.File != "" {
				where = fmt.Sprintf(" (%s:%d)", l.File, l.Line)
			}
			if in.src == uint8(isa.CallKfunc) {
				return fmt.Errorf("program %s: %w: it calls kfunc %s at slot %d%s, and its license %q is not GPL-compatible (the kernel refuses to load it: cannot call kernel function from non-GPL compatible program)", p.name, ErrGPL, o.kfuncs[in.imm], pc, where, lic)
			}
			return fmt.Errorf("program %s: %w: it calls helper %s at slot %d%s, which is GPL-only, and its license %q is not GPL-compatible (the kernel refuses to load it: cannot call GPL-restricted function from non-GPL compatible program)", p.name, ErrGPL, helperName(int32(in.imm)), pc, where, lic)
		}
		for _, t := range f.callees {
			if !seen[t] {
				seen[t] = true
				queue = append(queue, t)
			}
		}
	}
	return nil
}

// relocate applies the relocation of slot pc, which refers to sym.
func (o *Object) relocate(f *objreader.File, slots []isa.Instruction, pc int, sym objreader.Symbol, base map[int]int, mapIndex map[uint64]int, dataMap map[int]int) error {
	ins := &slots[pc]
	sec := int(sym.Section)
	inSection := sym.Section != elf.SHN_UNDEF && sym.Section < elf.SHN_LORESERVE
	switch {
	case ins.Op == isa.Opcode(isa.ClassJMP)|isa.Opcode(isa.JumpCall) && ins.Src == isa.CallKfunc || ins.Op == isa.Opcode(isa.ClassJMP)|isa.Opcode(isa.JumpCall) && !inSection:
		id := int64(-1 - pc)
		ins.Imm, ins.Src = id, isa.CallKfunc
		o.kfuncs[id] = sym.Name
		return nil
	case ins.Op == isa.Opcode(isa.ClassJMP)|isa.Opcode(isa.JumpCall):
		b, ok := base[sec]
		if !ok {
			return fmt.Errorf("call at slot %d to %s, which is not code", pc, sym.Name)
		}
		t := int64(b) + int64(sym.Value/isa.SlotSize) + ins.Imm + 1
		ins.Imm, ins.Src = t-int64(pc)-1, isa.CallPseudo
		return nil
	case ins.IsLoadImm64():
	default:
		return fmt.Errorf("relocation of slot %d, which is neither a 64-bit load nor a call", pc)
	}
	if !inSection {
		v, err := externValue(sym.Name, o.externs[sym.Name], sym.Bind == elf.STB_WEAK)
		if err != nil {
			return err
		}
		ins.Imm, ins.Src = int64(v), 0
		return nil
	}
	addend := uint64(uint32(ins.Imm))
	if s := f.Sections[sec]; s.Name == ".maps" {
		i, ok := mapIndex[sym.Value]
		if !ok {
			return fmt.Errorf("%s at slot %d is not a map", sym.Name, pc)
		}
		ins.Imm, ins.Src = int64(mapTag|uint64(i)), 0
		return nil
	}
	if b, ok := base[sec]; ok {
		t := int64(b) + int64((sym.Value+addend)/isa.SlotSize)
		ins.Imm, ins.Src = t-int64(pc)-1, isa.PseudoFunc
		return nil
	}
	i, ok := dataMap[sec]
	if !ok {
		return fmt.Errorf("%s at slot %d is in section %s, which holds no data", sym.Name, pc, f.Sections[sec].Name)
	}
	off := sym.Value + addend
	if off > uint64(len(o.maps[i].Data)) {
		return fmt.Errorf("%s%+d at slot %d is outside its section", sym.Name, addend, pc)
	}
	ins.Imm, ins.Src = int64(addr(regionFirst+i, uint32(off))), 0
	return nil
}

// initSlots reads the initial contents of program arrays and maps of
// maps (the values member, whose pointers are relocations in .maps).
func (o *Object) initSlots(f *objreader.File, omaps []objreader.Map, base map[int]int) error {
	ms := -1
	for i, s := range f.Sections {
		if s.Name == ".maps" {
			ms = i
		}
	}
	if ms < 0 {
		return nil
	}
	relocs, err := f.Relocations(ms)
	if err != nil || len(relocs) == 0 {
		return err
	}
	spec, err := f.BTF()
	if err != nil {
		return err
	}
	valuesOff := map[string]uint64{}
	for t, err := range spec.All() {
		if err != nil {
			return err
		}
		ds, ok := t.(*btf.Datasec)
		if !ok || ds.Name != ".maps" {
			continue
		}
		for _, v := range ds.Vars {
			vr, ok := v.Type.(*btf.Var)
			if !ok {
				continue
			}
			if st, ok := btf.UnderlyingType(vr.Type).(*btf.Struct); ok {
				for _, mem := range st.Members {
					if mem.Name == "values" {
						valuesOff[vr.Name] = uint64(mem.Offset.Bytes())
					}
				}
			}
		}
	}
	for i, mp := range omaps {
		vo, ok := valuesOff[mp.Name]
		if !ok {
			continue
		}
		for _, rel := range relocs {
			if rel.Offset < mp.Offset+vo || rel.Offset >= mp.Offset+mp.Size || rel.Symbol <= 0 || rel.Symbol >= len(f.Symbols) {
				continue
			}
			slot64 := (rel.Offset - mp.Offset - vo) / 8
			if slot64 >= uint64(mp.MaxEntries) || slot64 >= 1<<24 {
				return fmt.Errorf("map %s: a value at index %d, past its %d entries", mp.Name, slot64, mp.MaxEntries)
			}
			slot := int(slot64)
			sym := f.Symbols[rel.Symbol]
			target := -1
			switch mp.Type {
			case MapProgArray:
				if b, ok := base[int(sym.Section)]; ok {
					target = b + int(sym.Value/isa.SlotSize)
				}
			case MapArrayOfMaps, MapHashOfMaps:
				for j, other := range omaps {
					if int(sym.Section) == ms && other.Offset == sym.Value {
						target = j
					}
				}
			}
			if target < 0 {
				return fmt.Errorf("map %s: value %d refers to %s, which is not a %s", mp.Name, slot, sym.Name, map[bool]string{true: "program", false: "map"}[mp.Type == MapProgArray])
			}
			for len(o.maps[i].Init) <= slot {
				o.maps[i].Init = append(o.maps[i].Init, -1)
			}
			o.maps[i].Init[slot] = target
		}
	}
	return nil
}

// NewMachine returns a machine with the object's maps and global data in
// their initial state, the standard helpers and env.
func (o *Object) NewMachine(env Env) (*Machine, error) {
	m := NewMachine()
	m.Env = env
	m.UseStandardHelpers()
	m.kfuncs = o.kfuncs
	for _, s := range o.maps {
		if _, err := m.newMap(s); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RunProgram runs the program as BPF_PROG_TEST_RUN would, on in.
func (m *Machine) RunProgram(p *Program, in Input) (Output, error) {
	if p == nil || len(p.code) == 0 {
		return Output{}, fmt.Errorf("vm: no program to run")
	}
	m.init()
	typ := progType(p.section)
	r1, err := m.setupPacket(typ, in)
	if err != nil {
		return Output{}, err
	}
	m.redirect = 0
	r0, err := m.Run(p, r1)
	m.reserved = m.reserved[:0]
	if err != nil {
		return Output{}, err
	}
	out := Output{Retval: uint32(r0)}
	out.Data, out.Ctx = m.packetOutput()
	return out, nil
}
