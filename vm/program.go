package vm

import (
	"fmt"

	"github.com/bpfstar/bpfstar/isa"
)

// insn is the compact, pre-decoded form of one slot. For a jump or a
// BPF-to-BPF call, off holds the absolute slot of the target; for a load or
// store, the offset; for ld_imm64, imm holds all 64 bits (already
// relocated) and the next slot is a filler that never runs.
type insn struct {
	op  uint8
	dst uint8
	src uint8
	_   uint8
	off int32
	imm int64
}

// opFiller marks the second slot of a 64-bit load and the slot past the
// end of the code: executing it is an error (compile checks that no jump
// lands there, so only falling off the end reaches it).
const opFiller = 0x00

// Tags of the values a 64-bit load gives for things that are not memory:
// a function (the target of a callback) and a map. Memory addresses have
// a region number below 1<<24 in their upper half, so the tags never
// collide with one.
const (
	funcTag = uint64(0xf1) << 56
	mapTag  = uint64(0xf2) << 56
	tagMask = uint64(0xff) << 56
)

// Program is a compiled program: code ready to run, with what is known
// about its source. A Program is immutable and may be run by many
// machines at once.
type Program struct {
	code  []insn
	entry int
	// slots are the instructions as decoded (after relocation), for
	// traces.
	slots []isa.Instruction
	// lines[pc] is the source line of slot pc (zero when unknown).
	lines []Line
	// funcs maps the first slot of each function to its name.
	funcs []funcSym
	// sections are the first slots of the object's code sections.
	sections []funcSym
	name     string
	// section names the program type ("xdp", "tc", ...) for a program
	// of an object.
	section string
}

type funcSym struct {
	pc   int
	name string
}

// Name returns the program's name ("" for code compiled without an
// object).
func (p *Program) Name() string { return p.name }

// Section returns the name of the program's ELF section, which gives its
// type.
func (p *Program) Section() string { return p.section }

// Entry returns the slot the program starts at in its code image.
func (p *Program) Entry() int { return p.entry }

// Len returns the number of slots of the program's code image (for a
// program of an object, every function of the object).
func (p *Program) Len() int { return len(p.code) - 1 }

// Line returns the source line of the slot pc, or the zero Line.
func (p *Program) Line(pc int) Line {
	if pc >= 0 && pc < len(p.lines) {
		return p.lines[pc]
	}
	return Line{}
}

// WithSection returns a copy of p that runs as a program of the ELF
// section named section ("xdp", "tc", ...), which gives its context (see
// Machine.RunProgram).
func (p *Program) WithSection(section string) *Program {
	q := *p
	q.section = section
	return &q
}

// Text returns the instruction at slot pc in the LLVM assembler syntax.
func (p *Program) Text(pc int) string {
	if pc < 0 || pc >= len(p.slots) {
		return ""
	}
	return p.slots[pc].String()
}

// Where returns the code section of slot pc and the number of the slot
// in it, as the disassembler numbers instructions.
func (p *Program) Where(pc int) (section string, insn int) {
	base := 0
	for _, s := range p.sections {
		if s.pc > pc {
			break
		}
		section, base = s.name, s.pc
	}
	return section, pc - base
}

// Func returns the name of the function holding slot pc, when known.
func (p *Program) Func(pc int) string {
	name := ""
	for _, f := range p.funcs {
		if f.pc > pc {
			break
		}
		name = f.name
	}
	return name
}

// Compile decodes code (little-endian instruction slots, as in an object
// file's code section) into a Program that starts at its first slot. Every
// instruction must be one the ISA defines; 64-bit loads of maps and
// variables need an object (see [LoadObject]); a load of a function
// (src 4) and BPF-to-BPF calls refer to slots of code.
func Compile(code []byte) (*Program, error) {
	slots, err := decodeSlots(code)
	if err != nil {
		return nil, err
	}
	c, err := compileSlots(slots)
	if err != nil {
		return nil, err
	}
	return &Program{code: c, slots: slots}, nil
}

// decodeSlots decodes code into one isa.Instruction per slot: a 64-bit
// load takes its slot, and the slot after it holds a zero Instruction.
func decodeSlots(code []byte) ([]isa.Instruction, error) {
	if len(code)%isa.SlotSize != 0 {
		return nil, fmt.Errorf("%w: code of %d bytes is not a whole number of %d-byte slots", ErrInvalid, len(code), isa.SlotSize)
	}
	slots := make([]isa.Instruction, len(code)/isa.SlotSize)
	for i := 0; i < len(slots); {
		ins, n, err := isa.Decode(code[i*isa.SlotSize:])
		if err != nil {
			return nil, err
		}
		slots[i] = ins
		i += n / isa.SlotSize
	}
	return slots, nil
}

func invalidAt(pc int, format string, args ...any) *Error {
	return &Error{Kind: ErrInvalid, PC: pc, Insn: pc, Msg: fmt.Sprintf(format, args...)}
}

// compileSlots turns decoded slots into the compact form, checking each
// instruction with isa and each jump target. The result has one more
// slot than slots: a filler past the end, which falling off the code
// reaches.
func compileSlots(slots []isa.Instruction) ([]insn, error) {
	n := len(slots)
	code := make([]insn, n+1)
	second := make([]bool, n+1)
	for pc := 0; pc < n; pc++ {
		if slots[pc].IsLoadImm64() && pc+1 < n {
			second[pc+1] = true
		}
	}
	target := func(pc int, t int64) (int32, error) {
		if t < 0 || t > int64(n) || (t < int64(n) && second[t]) {
			return 0, invalidAt(pc, "jump to slot %d, outside the code or into the middle of a 64-bit load", t)
		}
		return int32(t), nil
	}
	for pc := 0; pc < n; pc++ {
		if second[pc] {
			continue
		}
		ins := slots[pc]
		if ins.Raw {
			return nil, invalidAt(pc, "opcode %#02x: a 64-bit load without its second slot", uint8(ins.Op))
		}
		c := &code[pc]
		c.op, c.dst, c.src, c.off, c.imm = uint8(ins.Op), uint8(ins.Dst), uint8(ins.Src), int32(ins.Off), ins.Imm
		cls := ins.Op.Class()
		if err := ins.Validate(); err != nil {
			return nil, invalidAt(pc, "%s", err)
		}
		if t, ok := ins.JumpTarget(int64(pc)); ok {
			tt, err := target(pc, t)
			if err != nil {
				return nil, err
			}
			c.off = tt
			continue
		}
		switch {
		case cls == isa.ClassJMP && ins.Op.JumpOp() == isa.JumpCall && ins.Src == isa.CallPseudo:
			t, err := target(pc, int64(pc)+1+ins.Imm)
			if err != nil {
				return nil, err
			}
			if t == int32(n) {
				return nil, invalidAt(pc, "call to slot %d, past the code", t)
			}
			c.off = t
		case ins.IsLoadImm64() && ins.Src != 0:
			switch {
			case ins.Src == isa.PseudoFunc:
				t := int64(pc) + 1 + int64(int32(ins.Imm))
				if t < 0 || t >= int64(n) || second[t] {
					return nil, invalidAt(pc, "function reference to slot %d, outside the code", t)
				}
				c.imm = int64(funcTag | uint64(t))
			default:
				return nil, invalidAt(pc, "64-bit load with source %d (a map or variable reference) needs an object", ins.Src)
			}
			c.src = 0
		}
	}
	return code, nil
}
