// Package disasm prints the instructions of a BPF object file, byte for byte
// as `llvm-objdump-19 -d --mcpu=v4 FILE` prints them, so that its output can
// be compared with (and stand in for) LLVM's.
//
// # What objdump prints
//
// For a relocatable little-endian BPF ELF file the listing looks like this:
//
//	(empty line)
//	prog.o:	file format elf64-bpf
//	(empty line)
//	Disassembly of section xdp:
//	(empty line)
//	0000000000000000 <xdp_prog>:
//	       0:	b7 00 00 00 02 00 00 00	r0 = 0x2
//	       1:	15 01 01 00 00 00 00 00	if r1 == 0x0 goto +0x1 <LBB0_2>
//	       2:	95 00 00 00 00 00 00 00	exit
//	(empty line)
//	0000000000000018 <LBB0_2>:
//	       3:	b7 00 00 00 01 00 00 00	r0 = 0x1
//
// Every section with the SHF_EXECINSTR flag, in section header order, gets a
// "Disassembly of section" header, unless it is empty or SHT_NOBITS. An
// instruction line is the instruction index (the byte offset divided by 8,
// right-aligned in 8 columns), a tab, the bytes in hex, a tab and the text
// of [isa.Instruction.String]. A 64-bit immediate load takes one line with
// all 16 bytes.
//
// # Symbols
//
// objdump splits a section into chunks at every address where a symbol is
// defined and prints a heading for each chunk. The candidates are the
// symbol table's entries with a name that are not STT_SECTION or STT_FILE:
// functions, but also the local labels (LBB0_2) that clang leaves in BPF
// objects, and global variables that happen to live in the section. They are
// sorted by address, then name, then type. When several share an address, the
// heading names the last of them that is not a data symbol (STT_OBJECT or
// STT_COMMON); when all of them are data symbols, the chunk is not
// disassembled at all but dumped as hex and ASCII, 8 bytes to a line,
// addressed in hexadecimal bytes rather than in instructions. When no symbol
// sits at the start of a section, objdump invents one named after the
// section ("<.text>"). Chunks of length zero (a symbol followed by another at
// the same address, or at the very end) print nothing.
//
// A jump is followed by " <sym>" or " <sym+0x18>": the target (the address
// after the jump plus the offset in instructions, wrapping around in 64 bits)
// is named after the last symbol of the section, data symbols included,
// whose address is not above it. Calls, whether to helpers, BPF functions
// ("call -0x1", resolved through a relocation) or kfuncs, get no annotation.
//
// # Odd bytes
//
// Bytes that do not decode print as "<unknown>" and take 8 bytes, with two
// exceptions: fewer than 8 bytes before the end of the section, or a 64-bit
// load whose second slot is cut off by the end of the section, print one
// "<unknown>" line per byte (all numbered with the same index when they fall
// into one slot). A run of at least 8 zero bytes, at the start of an
// instruction, is replaced by a "\t\t..." line that skips the run rounded down
// to a multiple of 4; this never happens inside real code, whose opcodes are
// never zero, but is visible in padding. Since a 64-bit load only needs its
// second slot to follow, it may run across a symbol boundary; the next chunk
// then starts in its middle.
//
// Object never panics, whatever the bytes. It reads the file with package
// objreader and returns an error for files that are not 64-bit
// little-endian relocatable BPF ELF files or that are malformed, and writes
// nothing in that case. It does not print relocations
// (-r), source lines (-S) or anything else objdump can add.
package disasm

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/objreader"
)

// Object writes the disassembly of the ELF object data to w, as
// `llvm-objdump-19 -d --mcpu=v4 NAME` would print it for a file named name.
func Object(w io.Writer, name string, data []byte) (err error) {
	defer func() {
		// A safety net only: the fuzz test runs object directly, so that a
		// panic is found rather than hidden.
		if r := recover(); r != nil {
			err = fmt.Errorf("disasm: %s: internal error: %v", name, r)
		}
	}()
	var buf bytes.Buffer
	if err := object(&buf, name, data); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// symbol is what objdump keeps of a symbol table entry.
type symbol struct {
	addr uint64
	name string
	typ  elf.SymType
}

// compareSymbols orders symbols as llvm-objdump does: by address, name, type.
func compareSymbols(a, b symbol) int {
	if a.addr != b.addr {
		if a.addr < b.addr {
			return -1
		}
		return 1
	}
	if c := strings.Compare(a.name, b.name); c != 0 {
		return c
	}
	return int(a.typ) - int(b.typ)
}

func object(out *bytes.Buffer, name string, data []byte) error {
	// objreader checks that the file is a 64-bit little-endian relocatable
	// BPF object whose sections lie inside it and whose symbols name
	// sections that exist.
	f, err := objreader.Read(data)
	if err != nil {
		return fmt.Errorf("disasm: %s: %w", name, err)
	}

	// Collect the symbols per section, and those that belong to none.
	perSection := make(map[int][]symbol)
	var absolute []symbol
	for _, s := range f.Symbols {
		if s.Name == "" || s.Type == elf.STT_SECTION || s.Type == elf.STT_FILE {
			continue
		}
		sym := symbol{addr: s.Value, name: s.Name, typ: s.Type}
		switch {
		case s.Section == elf.SHN_UNDEF:
			sym.addr = 0
		case s.Type == elf.STT_COMMON || s.Section == elf.SHN_COMMON:
			// LLVM takes the "value" of a common symbol to be its size.
			sym.addr = s.Size
		}
		if idx := s.Section; idx == elf.SHN_UNDEF || idx >= elf.SHN_LORESERVE {
			absolute = append(absolute, sym)
		} else {
			// In a relocatable file a symbol's value is an offset into its
			// section.
			sym.addr += f.Sections[idx].Addr
			perSection[int(idx)] = append(perSection[int(idx)], sym)
		}
	}
	slices.SortStableFunc(absolute, compareSymbols)

	fmt.Fprintf(out, "\n%s:\tfile format elf64-bpf\n", name)
	for i, sec := range f.Sections {
		// Data is nil for SHT_NOBITS (and SHT_NULL) sections.
		if !sec.Executable() || len(sec.Data) == 0 {
			continue
		}
		symbols := perSection[i]
		slices.SortStableFunc(symbols, compareSymbols)
		d := &section{out: out, name: sec.Name, addr: sec.Addr, data: sec.Data, symbols: symbols, absolute: absolute}
		d.disassemble()
	}
	return nil
}

// section disassembles one executable section.
type section struct {
	out      *bytes.Buffer
	name     string
	addr     uint64 // sh_addr, zero in practice
	data     []byte
	symbols  []symbol // sorted, including the invented section symbol
	absolute []symbol // sorted symbols outside any section
	printed  bool     // the "Disassembly of section" header
}

func (s *section) disassemble() {
	// Invent a symbol named after the section unless one starts it.
	if len(s.symbols) == 0 || s.symbols[0].addr != s.addr {
		dummy := symbol{addr: s.addr, name: s.name, typ: elf.STT_FUNC}
		at, _ := slices.BinarySearchFunc(s.symbols, dummy, compareSymbols)
		s.symbols = slices.Insert(s.symbols, at, dummy)
	}
	size := uint64(len(s.data))
	for si := 0; si < len(s.symbols); {
		first := si
		start := s.symbols[si].addr
		for si < len(s.symbols) && s.symbols[si].addr == start {
			si++
		}
		here := s.symbols[first:si]

		// Code symbols win over data symbols; the last one is shown.
		asData, show := true, len(here)-1
		for i, sym := range here {
			if sym.typ != elf.STT_OBJECT && sym.typ != elf.STT_COMMON {
				asData, show = false, i
			}
		}
		if start < s.addr || start == math.MaxUint64 {
			continue
		}
		end := s.addr + size
		if si < len(s.symbols) {
			end = min(end, s.symbols[si].addr)
		}
		if start >= end || end == 0 {
			continue
		}
		start -= s.addr
		end -= s.addr
		if end > size { // only when the section's end address wraps around
			continue
		}
		if !s.printed {
			s.printed = true
			fmt.Fprintf(s.out, "\nDisassembly of section %s:\n", s.name)
		}
		fmt.Fprintf(s.out, "\n%016x <%s>:\n", s.addr+start, here[show].name)
		if asData {
			s.dumpData(start, end)
			continue
		}
		s.code(start, end)
	}
}

// code prints the instructions from byte offset index up to end.
func (s *section) code(index, end uint64) {
	for index < end {
		if n := skippableZeros(s.data[index:end]); n > 0 {
			s.out.WriteString("\t\t...\n")
			index += n
			continue
		}
		rest := s.data[index:]
		ins, text, n := isa.DecodeLLVM(rest)
		addr := s.addr + index
		fmt.Fprintf(s.out, "%8d:\t", int64(addr/8))
		for i, c := range rest[:n] {
			if i > 0 {
				s.out.WriteByte(' ')
			}
			fmt.Fprintf(s.out, "%02x", c)
		}
		s.out.WriteByte('\t')
		s.out.WriteString(text)
		if text != isa.Unknown {
			// A jump is one slot: its target, counted in slots from this
			// one, wraps around in 64 bits as objdump's does.
			if target, ok := ins.JumpTarget(0); ok {
				s.annotate(addr + uint64(target)*isa.SlotSize)
			}
		}
		s.out.WriteByte('\n')
		index += uint64(n)
	}
}

// annotate names a jump target after the nearest symbol at or below it.
func (s *section) annotate(target uint64) {
	find := func(syms []symbol) *symbol {
		i := sort.Search(len(syms), func(i int) bool { return syms[i].addr > target })
		if i == 0 {
			return nil
		}
		return &syms[i-1]
	}
	sym := find(s.symbols)
	if sym == nil {
		sym = find(s.absolute)
	}
	if sym == nil {
		return
	}
	s.out.WriteString(" <" + sym.name)
	if disp := target - sym.addr; disp != 0 {
		fmt.Fprintf(s.out, "+0x%x", disp)
	}
	s.out.WriteByte('>')
}

// skippableZeros returns how many leading zero bytes of b objdump skips: none
// unless there are at least 8, and then a multiple of 4.
func skippableZeros(b []byte) uint64 {
	n := 0
	for n < len(b) && b[n] == 0 {
		n++
	}
	if n < 8 {
		return 0
	}
	return uint64(n &^ 3)
}

// dumpData prints the bytes from offset index up to end as hex and ASCII,
// 8 to a line, the way objdump shows chunks headed by data symbols.
func (s *section) dumpData(index, end uint64) {
	var ascii [8]byte
	n := 0
	for ; index < end; index++ {
		if n == 0 {
			fmt.Fprintf(s.out, "%8x:", s.addr+index)
		}
		c := s.data[index]
		fmt.Fprintf(s.out, " %02x", c)
		ascii[n] = '.'
		if c >= 0x20 && c <= 0x7e {
			ascii[n] = c
		}
		n++
		if n == 8 || index == end-1 {
			s.out.WriteString(strings.Repeat(" ", 3*(8-n)+9))
			s.out.Write(ascii[:n])
			s.out.WriteByte('\n')
			n = 0
		}
	}
}
