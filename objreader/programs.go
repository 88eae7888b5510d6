package objreader

import (
	"debug/elf"
	"fmt"
	"sort"

	"github.com/bpfstar/bpfstar/isa"
)

// Program is a function in an executable section: a program the loader
// loads (in a section named after its program type, such as "xdp"), or a
// function in ".text" that programs call.
type Program struct {
	Name         string // the function's symbol
	Section      string // the name of its section: "xdp", "tracepoint/syscalls/sys_enter_getpid", ".text"
	SectionIndex int    // the index of its section in File.Sections
	Symbol       int    // the index of its symbol in File.Symbols
	Offset       uint64 // of its first instruction, in bytes from the start of the section
	Size         uint64 // in bytes
	Global       bool   // bound STB_GLOBAL or STB_WEAK rather than STB_LOCAL (static)
	Code         []byte // the instruction bytes; they alias the input of Read
}

// Entry reports whether the loader loads the function as a program of its
// own: it is one unless it lives in .text, where the functions that
// programs call (BPF-to-BPF calls) live.
func (p *Program) Entry() bool { return p.Section != ".text" }

// Instructions decodes the program's code (see isa.DecodeAll). Bytes that
// do not fill a slot at the end are an error.
func (p *Program) Instructions() ([]isa.Instruction, error) {
	return isa.DecodeAll(p.Code)
}

// Programs returns every function symbol (STT_FUNC) defined in an
// executable section, in symbol table order, which for bpfstar's objects is
// the order the file declared them in. A program's size is its symbol's
// size; a symbol of size 0 (hand-written assembly leaves sizes out) extends
// to the next function symbol in its section, or to the section's end. A
// program that does not fit in its section is an error.
func (f *File) Programs() ([]Program, error) {
	if f == nil {
		return nil, nil
	}
	// The starts of the functions of each section, sorted, for the
	// symbols without a size.
	var starts map[int][]uint64
	var out []Program
	for i, sym := range f.Symbols {
		si, ok := f.sectionOf(&sym)
		if sym.Type != elf.STT_FUNC || !ok {
			continue
		}
		sec := &f.Sections[si]
		if !sec.Executable() {
			continue
		}
		// Bounds come from the bytes there are: a SHT_NOBITS (or SHT_NULL)
		// section has none, whatever its size says.
		secSize := uint64(len(sec.Data))
		if sym.Value > secSize {
			return nil, fmt.Errorf("objreader: function %q starts at %#x, beyond the end of section %q (%#x bytes)", sym.Name, sym.Value, sec.Name, secSize)
		}
		size := sym.Size
		if size == 0 {
			if starts == nil {
				starts = f.functionStarts()
			}
			end := secSize
			s := starts[si]
			if j := sort.Search(len(s), func(j int) bool { return s[j] > sym.Value }); j < len(s) {
				end = s[j]
			}
			size = end - sym.Value
		}
		if size > secSize-sym.Value {
			return nil, fmt.Errorf("objreader: function %q (%#x bytes at %#x) does not fit in section %q (%#x bytes)", sym.Name, size, sym.Value, sec.Name, secSize)
		}
		out = append(out, Program{
			Name:         sym.Name,
			Section:      sec.Name,
			SectionIndex: si,
			Symbol:       i,
			Offset:       sym.Value,
			Size:         size,
			Global:       sym.Bind == elf.STB_GLOBAL || sym.Bind == elf.STB_WEAK,
			Code:         sec.Data[sym.Value : sym.Value+size : sym.Value+size],
		})
	}
	return out, nil
}

// functionStarts returns, per section index, the sorted offsets of the
// function symbols defined in it.
func (f *File) functionStarts() map[int][]uint64 {
	starts := make(map[int][]uint64)
	for _, sym := range f.Symbols {
		if si, ok := f.sectionOf(&sym); ok && sym.Type == elf.STT_FUNC {
			starts[si] = append(starts[si], sym.Value)
		}
	}
	for _, s := range starts {
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	}
	return starts
}
