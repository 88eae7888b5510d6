package vm

import (
	"fmt"

	"github.com/bpfstar/bpfstar/helper"
	"github.com/bpfstar/bpfstar/isa"
)

// DefaultBudget is the number of instructions a run may execute unless
// Machine.Budget says otherwise.
const DefaultBudget = 1 << 28

// Helper is a helper function: it gets r1 to r5 and returns r0. It reads
// and writes the program's memory through m (Read, Write), which checks
// every access. An error stops the run; it is reported at the call.
type Helper func(m *Machine, args [5]uint64) (uint64, error)

// Hook is called before each instruction runs, with its slot and the
// registers (which it must not change): tracing and coverage use it.
type Hook func(m *Machine, pc int, regs *[11]uint64)

// Machine runs programs. It holds their memory (stack frames, the context
// and packet of a run, the maps and global variables of an object) and the
// helpers they may call. A Machine runs one program at a time; use one
// per goroutine.
type Machine struct {
	// Budget is the number of instructions a run may execute (0:
	// DefaultBudget).
	Budget uint64
	// AllowUninitStack lets programs read stack bytes they never wrote
	// (privileged kernels allow it); by default such a read stops the
	// run with ErrUninit, as an unprivileged kernel's verifier refuses it.
	AllowUninitStack bool
	// Hook, when set, is called before each instruction.
	Hook Hook

	regions []region
	helpers map[int32]Helper
	prog    *Program
	frames  [MaxFrames]frame
	depth   int
	budget  uint64
	left    uint64
	hook    Hook
	// tail is the slot a tail call continues at, or -1.
	tail      int
	tailCalls int
	// pc is the slot of the helper call in progress.
	pc int
	// kfuncs names kfuncs by BTF id, for messages.
	kfuncs map[int64]string

	// Env is what helpers tell the program about the world.
	Env      Env
	maps     []*Map
	free     []int
	pkt      packet
	redirect uint32
	reserved []reservation
	trace    []byte
	timers   map[uint64]*timer
	mapBytes uint64
}

// NewMachine returns a machine with its stack frames and no helpers. The
// zero Machine is the same.
func NewMachine() *Machine {
	m := &Machine{}
	m.init()
	return m
}

// init makes the stack frames of a zero Machine.
func (m *Machine) init() {
	if m.regions != nil {
		return
	}
	m.tail = -1
	m.regions = make([]region, regionFirst)
	for i := 0; i < MaxFrames; i++ {
		m.regions[regionStack0+i] = region{
			data: make([]byte, StackSize),
			hi:   StackSize,
			init: make([]bool, StackSize),
			name: fmt.Sprintf("stack frame %d", i),
		}
	}
}

// SetHelper makes h the helper with the given id (BPF_FUNC_*); nil
// removes it.
func (m *Machine) SetHelper(id int32, h Helper) {
	if m.helpers == nil {
		m.helpers = map[int32]Helper{}
	}
	if h == nil {
		delete(m.helpers, id)
		return
	}
	m.helpers[id] = h
}

func (m *Machine) helper(id int32) Helper { return m.helpers[id] }

// helperName names helper id as the kernel does, from package helper's
// table: "1 (bpf_map_lookup_elem)".
func helperName(id int32) string {
	if h, ok := helper.ByID(id); ok {
		return fmt.Sprintf("%d (%s)", id, h.Name)
	}
	return fmt.Sprint(id)
}

func (m *Machine) kfuncName(id int64) string {
	if n, ok := m.kfuncs[id]; ok {
		return " (" + n + ")"
	}
	return ""
}

// SetMemory makes b the memory of the next runs' context region and
// returns its address (conformance vectors pass it in r1).
func (m *Machine) SetMemory(name string, b []byte) uint64 {
	m.init()
	m.regions[regionCtx] = region{data: b, hi: uint32(len(b)), name: name}
	return addr(regionCtx, 0)
}

// Run runs p from its entry with r1 to r5 set to args and returns r0.
func (m *Machine) Run(p *Program, args ...uint64) (uint64, error) {
	if len(args) > 5 {
		return 0, fmt.Errorf("vm: %d arguments, at most 5", len(args))
	}
	if p == nil || len(p.code) == 0 {
		return 0, fmt.Errorf("vm: no program to run")
	}
	m.init()
	if err := m.checkCPU(); err != nil {
		return 0, err
	}
	var a [5]uint64
	copy(a[:], args)
	m.prog = p
	m.budget = m.Budget
	if m.budget == 0 {
		m.budget = DefaultBudget
	}
	m.left = m.budget
	m.hook = m.Hook
	m.depth = 0
	m.tail = -1
	m.tailCalls = 0
	return m.exec(p.entry, &a)
}

// Steps returns the number of instructions the last run executed.
func (m *Machine) Steps() uint64 { return m.budget - m.left }

// legacyLoad runs a legacy packet load (BPF_ABS, BPF_IND): a big-endian
// load from the packet at imm (plus src for IND) into r0. ok is false when
// the bytes are outside the packet, which ends the program with 0.
func (m *Machine) legacyLoad(in *insn, r *[11]uint64) (uint64, bool, error) {
	p := &m.regions[regionPacket]
	if p.data == nil {
		return 0, false, faultf(ErrMemory, "legacy packet load without a packet")
	}
	op := isa.Opcode(in.op)
	off := int64(int32(in.imm))
	if op.Mode() == isa.ModeIND {
		off += int64(int32(r[in.src]))
	}
	n := int64(op.Size().Bytes())
	if off < 0 || off+n > int64(p.hi-p.lo) {
		return 0, false, nil
	}
	b := p.data[int64(p.lo)+off:]
	var v uint64
	for i := int64(0); i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, true, nil
}
