package starlib

import (
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"unsafe"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/isa"
)

// Register is the Starlark value of a BPF register (r0..r10, fp).
type Register isa.Register

var (
	_ starlark.Value      = Register(0)
	_ starlark.Comparable = Register(0)
)

func (r Register) String() string        { return isa.Register(r).String() }
func (r Register) Type() string          { return "register" }
func (r Register) Freeze()               {}
func (r Register) Truth() starlark.Bool  { return true }
func (r Register) Hash() (uint32, error) { return uint32(r) + 0x9e3779b9, nil }
func (r Register) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return threeway(op, int(r)-int(y.(Register)))
}

func threeway(op syntax.Token, cmp int) (bool, error) {
	switch op {
	case syntax.EQL:
		return cmp == 0, nil
	case syntax.NEQ:
		return cmp != 0, nil
	case syntax.LT:
		return cmp < 0, nil
	case syntax.LE:
		return cmp <= 0, nil
	case syntax.GT:
		return cmp > 0, nil
	case syntax.GE:
		return cmp >= 0, nil
	}
	return false, fmt.Errorf("unsupported comparison %s", op)
}

// Insn is the Starlark value of one instruction: an isa.Instruction, the
// label it jumps to (if any) and the position of the call that made it.
// Insns are immutable. Two insns are equal when they encode the same way
// and name the same label; where they were written does not matter.
//
// An Insn is an asm.Packed (24 bytes, no pointer: the instruction packed
// into 16, the line and column) and is never copied: a program of a
// million instructions holds a million of them, and the assembler reads
// them in place (see items). What few instructions have besides (a label,
// a symbol reference) lives out of line, in an asm.PackedExt; the ones
// that have nothing of the kind share the PackedExt of their file. The
// PackedExts an Insn's chunk uses are listed at the start of the chunk,
// and the Insn has their index (Ext) and its own index in the chunk
// (Aux), from which it finds the chunk.
type Insn asm.Packed

// Insns are allocated from chunks, in the order they are made: that saves
// a million allocations for a program of a million instructions, and the
// assembler, which reads a program's instructions in order, reads memory in
// order too. A chunk starts with the table of the PackedExts its Insns
// use, its only pointer: the collector reads the table and nothing else of
// the chunk. The table and the 255 Insns make 6,144 bytes, one of the
// allocator's size classes; and 255 is the most PackedExts a chunk can
// need, so a byte indexes them.
const insnChunkLen = 255

type insnChunk struct {
	exts []*asm.PackedExt // first, so that the collector scans nothing after it
	buf  [insnChunkLen]Insn
}

// insnAlloc hands out the Insns of one evaluation (one Starlark thread,
// so no two goroutines use it at once): each chunk belongs to one
// evaluation, and its table grows without locks.
type insnAlloc struct {
	thread *starlark.Thread // the evaluation's thread, set before it starts
	chunk  *insnChunk
	n      int // Insns handed out from chunk
	// The last two distinct PackedExts given to the chunk's Insns, and
	// their indexes: a block alternates between its file's PackedExt and
	// a label's.
	last, prev       *asm.PackedExt
	lastIdx, prevIdx uint8
	// The PackedExts of the last plain instruction and of the last label
	// made (see plainExt, labelExt).
	lastFile, lastLabel *asm.PackedExt
}

// lastAlloc is the allocator used last: finding a thread's through its
// unit is a map lookup, and a million instructions are made by one thread
// in a row. Exec clears it when its evaluation ends.
var lastAlloc atomic.Pointer[insnAlloc]

// allocOf returns the allocator of the evaluation running on thread: its
// unit's, or for a thread that evaluates no program file (a test's, an
// embedder's calling the builtins itself) one kept in a thread local.
func allocOf(thread *starlark.Thread) *insnAlloc {
	if a := lastAlloc.Load(); a != nil && a.thread == thread {
		return a
	}
	var a *insnAlloc
	if u, ok := thread.Local(localKey).(*unit); ok {
		a = &u.alloc
	} else if a, ok = thread.Local(allocKey).(*insnAlloc); !ok {
		a = &insnAlloc{thread: thread}
		thread.SetLocal(allocKey, a)
	}
	lastAlloc.Store(a)
	return a
}

const allocKey = "bpfstar.insnAlloc"

// alloc stores v, whose out-of-line part is x, in the next Insn of the
// chunk and returns it.
func (a *insnAlloc) alloc(v Insn, x *asm.PackedExt) *Insn {
	if a.chunk == nil || a.n == insnChunkLen {
		a.chunk = &insnChunk{exts: make([]*asm.PackedExt, 0, 8)}
		a.n = 0
		a.last, a.prev = nil, nil
	}
	switch x {
	case a.last:
	case a.prev:
		a.last, a.prev, a.lastIdx, a.prevIdx = a.prev, a.last, a.prevIdx, a.lastIdx
	default:
		a.chunk.exts = append(a.chunk.exts, x)
		a.last, a.prev, a.lastIdx, a.prevIdx = x, a.last, uint8(len(a.chunk.exts)-1), a.lastIdx
	}
	v.Ext, v.Aux = a.lastIdx, uint8(a.n)
	in := &a.chunk.buf[a.n]
	*in = v
	a.n++
	return in
}

// plainExt returns the PackedExt that the plain instructions of file
// share: the one of the last plain instruction made, when it is of the
// same file. (The file names of positions are shared strings, so the
// comparison is usually of two equal pointers.)
func (a *insnAlloc) plainExt(file string) *asm.PackedExt {
	if x := a.lastFile; x != nil && x.File == file {
		return x
	}
	a.lastFile = &asm.PackedExt{File: file}
	return a.lastFile
}

// labelExt returns the PackedExt of a jump to label, or of the label: the
// one of the label last jumped to or placed, when it is the same. The
// jumps to a label and the label itself then share it (a block that jumps
// twice to its end and places the label there makes one PackedExt, not
// three). Comparing the label usually compares two equal pointers: the
// names come from the same Starlark string.
func (a *insnAlloc) labelExt(file, label string) *asm.PackedExt {
	if x := a.lastLabel; x != nil && x.Label == label && x.File == file {
		return x
	}
	a.lastLabel = &asm.PackedExt{File: file, Label: label}
	return a.lastLabel
}

// chunk returns the chunk of the Insn.
func (i *Insn) chunk() *insnChunk {
	return (*insnChunk)(unsafe.Add(unsafe.Pointer(i), -int(unsafe.Offsetof(insnChunk{}.buf))-int(i.Aux)*int(insnSize)))
}

// ext returns the out-of-line part of the Insn.
func (i *Insn) ext() *asm.PackedExt { return i.chunk().exts[i.Ext] }

// newInsn returns the Insn of ins, which has passed isa's Validate,
// jumping to label target (if not empty), referring to ref (if not nil),
// made at pos by the evaluation of a.
func newInsn(a *insnAlloc, ins isa.Instruction, target string, ref *asm.Ref, pos syntax.Position) *Insn {
	flags := asm.PackedChecked
	if ins.Raw {
		flags |= asm.PackedRaw
	}
	var x *asm.PackedExt
	switch {
	case ref != nil:
		flags |= asm.PackedExtra
		x = &asm.PackedExt{File: pos.Filename(), Label: target, Ref: ref}
	case target != "":
		flags |= asm.PackedExtra
		x = a.labelExt(pos.Filename(), target)
	default:
		x = a.plainExt(pos.Filename())
	}
	return a.alloc(Insn{Imm: ins.Imm, Off: ins.Off, Op: ins.Op, Regs: uint8(ins.Dst&15) | uint8(ins.Src&15)<<4, Flags: flags, Line: pos.Line, Col: pos.Col}, x)
}

func (i *Insn) packed() *asm.Packed { return (*asm.Packed)(i) }

// ins returns the instruction.
func (i *Insn) ins() isa.Instruction { return i.packed().Instruction() }

// label returns the label the instruction jumps to ("" for none), or for
// the form of a Label its name.
func (i *Insn) label() string { return i.ext().Label }

// ref returns the symbol the instruction refers to (nil for none).
func (i *Insn) ref() *asm.Ref { return i.ext().Ref }

// items are the instructions and labels of a program, in order, as the
// assembler reads them (an asm.PackedSource). They are held as runs of
// Insns that lie one after the other in a chunk (the Insns that a macro
// makes in a row), not as one pointer each: a program of a million
// instructions made in blocks of a dozen holds 80k runs, not a million
// pointers.
type items struct {
	runs []insnRun
	n    int
	cur  *atomic.Int32 // the run read last: reads go mostly in order
}

// insnRun is n Insns in a row in one chunk, the first at item index start.
type insnRun struct {
	first *Insn
	start int32
	n     int32
}

const insnSize = unsafe.Sizeof(Insn{})

func newItems(capRuns int) *items {
	return &items{runs: make([]insnRun, 0, capRuns), cur: new(atomic.Int32)}
}

// add appends in to the items.
func (s *items) add(in *Insn) {
	if k := len(s.runs) - 1; k >= 0 {
		// An Insn right after the last one of the run is in the same
		// chunk: a chunk's Insns are its last field, and no Insn starts
		// where a chunk ends.
		r := &s.runs[k]
		if uintptr(unsafe.Pointer(in)) == uintptr(unsafe.Pointer(r.first))+uintptr(r.n)*insnSize {
			r.n++
			s.n++
			return
		}
	}
	s.runs = append(s.runs, insnRun{first: in, start: int32(s.n), n: 1})
	s.n++
}

// at returns item i.
func (s *items) at(i int) *Insn {
	c := int(s.cur.Load())
	if c >= len(s.runs) || i < int(s.runs[c].start) {
		c = 0
	}
	if r := &s.runs[c]; i >= int(r.start)+int(r.n) {
		if c+1 < len(s.runs) && i < int(s.runs[c+1].start)+int(s.runs[c+1].n) {
			c++
		} else {
			c = sort.Search(len(s.runs), func(k int) bool { return int(s.runs[k].start)+int(s.runs[k].n) > i })
		}
		s.cur.Store(int32(c))
	}
	r := &s.runs[c]
	return (*Insn)(unsafe.Add(unsafe.Pointer(r.first), uintptr(i-int(r.start))*insnSize))
}

func (s *items) Len() int { return s.n }

func (s *items) Item(i int, it *asm.Item) {
	in := s.at(i)
	in.packed().Item(in.ext(), it)
}

func (s *items) Insn(i int) (isa.Instruction, asm.ItemKind) { return s.at(i).packed().Kind() }

func (s *items) Pos(i int) asm.Pos {
	in := s.at(i)
	return in.packed().Pos(in.ext())
}

func (s *items) Runs() int { return len(s.runs) }

func (s *items) Run(k int) ([]asm.Packed, []*asm.PackedExt) {
	r := s.runs[k]
	return unsafe.Slice(r.first.packed(), r.n), r.first.chunk().exts
}

// String prints the instruction in LLVM assembler syntax, as llvm-objdump
// does; a jump to a label prints the label name as its target.
func (i *Insn) String() string {
	s := i.ins().String()
	if t := i.label(); t != "" {
		if j := strings.LastIndexByte(s, ' '); j >= 0 {
			s = s[:j+1] + t
		}
	}
	return s
}
func (i *Insn) Type() string         { return "insn" }
func (i *Insn) Freeze()              {}
func (i *Insn) Truth() starlark.Bool { return true }
func (i *Insn) Hash() (uint32, error) {
	in := i.ins()
	h := uint32(in.Op) | uint32(in.Dst)<<8 | uint32(in.Src)<<12 | uint32(uint16(in.Off))<<16
	h ^= uint32(in.Imm) ^ uint32(uint64(in.Imm)>>32)*31
	if in.Raw {
		h ^= 0x5bd1e995
	}
	s, _ := starlark.String(i.label()).Hash()
	if r := i.ref(); r != nil {
		n, _ := starlark.String(r.Name).Hash()
		s ^= n*31 + uint32(r.Kind)
	}
	return h ^ s, nil
}
func (i *Insn) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	j := y.(*Insn)
	eq := i.ins() == j.ins() && i.label() == j.label() && i.Flags&asm.PackedLabel == j.Flags&asm.PackedLabel && refEqual(i.ref(), j.ref())
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("insn values can only be compared with == and !=")
}

// refEqual reports whether two instructions refer to the same symbol (a
// map, a global at the same offset, a function), or both to none.
func refEqual(a, b *asm.Ref) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

var insnAttrs = []string{"code", "dst", "imm", "off", "size", "src", "target"}

// Attr exposes the fields of the instruction to Starlark.
func (i *Insn) Attr(name string) (starlark.Value, error) {
	in := i.ins()
	switch name {
	case "code":
		return starlark.MakeInt(int(in.Op)), nil
	case "dst":
		return starlark.MakeInt(int(in.Dst)), nil
	case "src":
		return starlark.MakeInt(int(in.Src)), nil
	case "off":
		return starlark.MakeInt(int(in.Off)), nil
	case "imm":
		return starlark.MakeInt64(in.Imm), nil
	case "size":
		return starlark.MakeInt(in.Size()), nil
	case "target":
		if i.label() == "" {
			return starlark.None, nil
		}
		return starlark.String(i.label()), nil
	}
	return nil, nil
}

// AttrNames lists the attributes of an insn.
func (i *Insn) AttrNames() []string { return insnAttrs }

// Label is the Starlark value of a label marker inside an instruction list.
// It has the layout of an Insn (flag asm.PackedLabel, its name in
// Ext.Label), so
// that a program's items can hold both.
type Label Insn

func newLabel(a *insnAlloc, name string, pos syntax.Position) *Label {
	return (*Label)(a.alloc(Insn{Flags: asm.PackedLabel | asm.PackedExtra, Line: pos.Line, Col: pos.Col}, a.labelExt(pos.Filename(), name)))
}

// name returns the label's name.
func (l *Label) name() string { return (*Insn)(l).ext().Label }

var (
	_ starlark.Value      = (*Label)(nil)
	_ starlark.Comparable = (*Label)(nil)
)

func (l *Label) String() string        { return fmt.Sprintf("label(%q)", l.name()) }
func (l *Label) Type() string          { return "label" }
func (l *Label) Freeze()               {}
func (l *Label) Truth() starlark.Bool  { return true }
func (l *Label) Hash() (uint32, error) { return starlark.String(l.name()).Hash() }
func (l *Label) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	eq := l.name() == y.(*Label).name()
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("label values can only be compared with == and !=")
}

func toPos(p syntax.Position) asm.Pos {
	return asm.Pos{File: p.Filename(), Line: p.Line, Col: p.Col}
}
