package vm

import (
	"math/bits"

	"github.com/bpfstar/bpfstar/isa"
)

// frame is a BPF-to-BPF call in progress: where to return, and the
// caller's callee-saved registers and frame pointer.
type frame struct {
	ret            int
	r6, r7, r8, r9 uint64
	r10            uint64
	loops          uint64 // the caller's may_goto budget
}

// maxLoops is the budget of may_goto of each function call (the kernel's
// BPF_MAX_LOOPS, which it stores in a stack slot that each function's
// prologue sets).
const maxLoops = 8 * 1024 * 1024

// maxTailCalls is how many tail calls a run may make (MAX_TAIL_CALL_CNT).
const maxTailCalls = 33

// wrap turns an error raised at slot pc into an *Error naming it.
func (m *Machine) wrap(pc int, err error) error {
	if e, ok := err.(*Error); ok {
		return e
	}
	e := &Error{Kind: ErrHelper, PC: pc, Insn: pc, Msg: err.Error()}
	if f, ok := err.(*fault); ok {
		e.Kind, e.Msg = f.kind, f.msg
	}
	if p := m.prog; p != nil {
		e.Line = p.Line(pc)
		e.Func = p.Func(pc)
		e.Section, e.Insn = p.Where(pc)
	}
	return e
}

// enterFrame makes frame depth the newest and returns its frame pointer.
func (m *Machine) enterFrame(depth int) uint64 {
	r := &m.regions[regionStack0+depth]
	clear(r.init)
	return addr(regionStack0+depth, StackSize)
}

// exec runs code from slot pc in a new frame at depth m.depth with r1-r5
// set to args, until that frame exits, and returns r0.
func (m *Machine) exec(pc int, args *[5]uint64) (uint64, error) {
	if m.depth >= MaxFrames {
		return 0, m.wrap(pc, faultf(ErrCallDepth, "more than %d frames", MaxFrames))
	}
	// The registers: 16 of them so that indexing with a 4-bit register
	// number needs no bounds check (compile allows r0-r10 only).
	var r [16]uint64
	copy(r[1:6], args[:])
	base := m.depth
	r[10] = m.enterFrame(base)
	code := m.prog.code
	left := m.left
	hook := m.hook
	loops := uint64(maxLoops)
	var err error
	for {
		if left == 0 {
			m.left = 0
			return 0, m.wrap(pc, faultf(ErrBudget, "ran %d instructions", m.budget))
		}
		left--
		if hook != nil {
			hook(m, pc, (*[11]uint64)(r[:11]))
		}
		in := &code[pc]
		pc++
		switch in.op {
		case 0x07: // add64 K
			r[in.dst&15] += uint64(in.imm)
		case 0x0f: // add64 X
			r[in.dst&15] += r[in.src&15]
		case 0x17: // sub64 K
			r[in.dst&15] -= uint64(in.imm)
		case 0x1f: // sub64 X
			r[in.dst&15] -= r[in.src&15]
		case 0x27: // mul64 K
			r[in.dst&15] *= uint64(in.imm)
		case 0x2f: // mul64 X
			r[in.dst&15] *= r[in.src&15]
		case 0x47: // or64 K
			r[in.dst&15] |= uint64(in.imm)
		case 0x4f: // or64 X
			r[in.dst&15] |= r[in.src&15]
		case 0x57: // and64 K
			r[in.dst&15] &= uint64(in.imm)
		case 0x5f: // and64 X
			r[in.dst&15] &= r[in.src&15]
		case 0x67: // lsh64 K
			r[in.dst&15] <<= uint64(in.imm) & 63
		case 0x6f: // lsh64 X
			r[in.dst&15] <<= r[in.src&15] & 63
		case 0x77: // rsh64 K
			r[in.dst&15] >>= uint64(in.imm) & 63
		case 0x7f: // rsh64 X
			r[in.dst&15] >>= r[in.src&15] & 63
		case 0xa7: // xor64 K
			r[in.dst&15] ^= uint64(in.imm)
		case 0xaf: // xor64 X
			r[in.dst&15] ^= r[in.src&15]
		case 0xc7: // arsh64 K
			r[in.dst&15] = uint64(int64(r[in.dst&15]) >> (uint64(in.imm) & 63))
		case 0xcf: // arsh64 X
			r[in.dst&15] = uint64(int64(r[in.dst&15]) >> (r[in.src&15] & 63))
		case 0x04: // add32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) + uint32(in.imm))
		case 0x0c: // add32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) + uint32(r[in.src&15]))
		case 0x14: // sub32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) - uint32(in.imm))
		case 0x1c: // sub32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) - uint32(r[in.src&15]))
		case 0x24: // mul32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) * uint32(in.imm))
		case 0x2c: // mul32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) * uint32(r[in.src&15]))
		case 0x44: // or32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) | uint32(in.imm))
		case 0x4c: // or32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) | uint32(r[in.src&15]))
		case 0x54: // and32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) & uint32(in.imm))
		case 0x5c: // and32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) & uint32(r[in.src&15]))
		case 0x64: // lsh32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) << (uint32(in.imm) & 31))
		case 0x6c: // lsh32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) << (uint32(r[in.src&15]) & 31))
		case 0x74: // rsh32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) >> (uint32(in.imm) & 31))
		case 0x7c: // rsh32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) >> (uint32(r[in.src&15]) & 31))
		case 0xa4: // xor32 K
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) ^ uint32(in.imm))
		case 0xac: // xor32 X
			r[in.dst&15] = uint64(uint32(r[in.dst&15]) ^ uint32(r[in.src&15]))
		case 0xc4: // arsh32 K
			r[in.dst&15] = uint64(uint32(int32(r[in.dst&15]) >> (uint32(in.imm) & 31)))
		case 0xcc: // arsh32 X
			r[in.dst&15] = uint64(uint32(int32(r[in.dst&15]) >> (uint32(r[in.src&15]) & 31)))
		case 0x15: // jeq K
			if r[in.dst&15] == uint64(in.imm) {
				pc = int(in.off)
			}
		case 0x1d: // jeq X
			if r[in.dst&15] == r[in.src&15] {
				pc = int(in.off)
			}
		case 0x16: // jeq32 K
			if uint32(r[in.dst&15]) == uint32(in.imm) {
				pc = int(in.off)
			}
		case 0x1e: // jeq32 X
			if uint32(r[in.dst&15]) == uint32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x25: // jgt K
			if r[in.dst&15] > uint64(in.imm) {
				pc = int(in.off)
			}
		case 0x2d: // jgt X
			if r[in.dst&15] > r[in.src&15] {
				pc = int(in.off)
			}
		case 0x26: // jgt32 K
			if uint32(r[in.dst&15]) > uint32(in.imm) {
				pc = int(in.off)
			}
		case 0x2e: // jgt32 X
			if uint32(r[in.dst&15]) > uint32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x35: // jge K
			if r[in.dst&15] >= uint64(in.imm) {
				pc = int(in.off)
			}
		case 0x3d: // jge X
			if r[in.dst&15] >= r[in.src&15] {
				pc = int(in.off)
			}
		case 0x36: // jge32 K
			if uint32(r[in.dst&15]) >= uint32(in.imm) {
				pc = int(in.off)
			}
		case 0x3e: // jge32 X
			if uint32(r[in.dst&15]) >= uint32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x45: // jset K
			if r[in.dst&15]&uint64(in.imm) != 0 {
				pc = int(in.off)
			}
		case 0x4d: // jset X
			if r[in.dst&15]&r[in.src&15] != 0 {
				pc = int(in.off)
			}
		case 0x46: // jset32 K
			if uint32(r[in.dst&15])&uint32(in.imm) != 0 {
				pc = int(in.off)
			}
		case 0x4e: // jset32 X
			if uint32(r[in.dst&15])&uint32(r[in.src&15]) != 0 {
				pc = int(in.off)
			}
		case 0x55: // jne K
			if r[in.dst&15] != uint64(in.imm) {
				pc = int(in.off)
			}
		case 0x5d: // jne X
			if r[in.dst&15] != r[in.src&15] {
				pc = int(in.off)
			}
		case 0x56: // jne32 K
			if uint32(r[in.dst&15]) != uint32(in.imm) {
				pc = int(in.off)
			}
		case 0x5e: // jne32 X
			if uint32(r[in.dst&15]) != uint32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x65: // jsgt K
			if int64(r[in.dst&15]) > in.imm {
				pc = int(in.off)
			}
		case 0x6d: // jsgt X
			if int64(r[in.dst&15]) > int64(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x66: // jsgt32 K
			if int32(r[in.dst&15]) > int32(in.imm) {
				pc = int(in.off)
			}
		case 0x6e: // jsgt32 X
			if int32(r[in.dst&15]) > int32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x75: // jsge K
			if int64(r[in.dst&15]) >= in.imm {
				pc = int(in.off)
			}
		case 0x7d: // jsge X
			if int64(r[in.dst&15]) >= int64(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x76: // jsge32 K
			if int32(r[in.dst&15]) >= int32(in.imm) {
				pc = int(in.off)
			}
		case 0x7e: // jsge32 X
			if int32(r[in.dst&15]) >= int32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0xa5: // jlt K
			if r[in.dst&15] < uint64(in.imm) {
				pc = int(in.off)
			}
		case 0xad: // jlt X
			if r[in.dst&15] < r[in.src&15] {
				pc = int(in.off)
			}
		case 0xa6: // jlt32 K
			if uint32(r[in.dst&15]) < uint32(in.imm) {
				pc = int(in.off)
			}
		case 0xae: // jlt32 X
			if uint32(r[in.dst&15]) < uint32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0xb5: // jle K
			if r[in.dst&15] <= uint64(in.imm) {
				pc = int(in.off)
			}
		case 0xbd: // jle X
			if r[in.dst&15] <= r[in.src&15] {
				pc = int(in.off)
			}
		case 0xb6: // jle32 K
			if uint32(r[in.dst&15]) <= uint32(in.imm) {
				pc = int(in.off)
			}
		case 0xbe: // jle32 X
			if uint32(r[in.dst&15]) <= uint32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0xc5: // jslt K
			if int64(r[in.dst&15]) < in.imm {
				pc = int(in.off)
			}
		case 0xcd: // jslt X
			if int64(r[in.dst&15]) < int64(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0xc6: // jslt32 K
			if int32(r[in.dst&15]) < int32(in.imm) {
				pc = int(in.off)
			}
		case 0xce: // jslt32 X
			if int32(r[in.dst&15]) < int32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0xd5: // jsle K
			if int64(r[in.dst&15]) <= in.imm {
				pc = int(in.off)
			}
		case 0xdd: // jsle X
			if int64(r[in.dst&15]) <= int64(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0xd6: // jsle32 K
			if int32(r[in.dst&15]) <= int32(in.imm) {
				pc = int(in.off)
			}
		case 0xde: // jsle32 X
			if int32(r[in.dst&15]) <= int32(r[in.src&15]) {
				pc = int(in.off)
			}
		case 0x37: // div64 K
			if in.off == 0 {
				r[in.dst&15] /= uint64(in.imm)
			} else {
				r[in.dst&15] = uint64(sdiv(int64(r[in.dst&15]), in.imm))
			}
		case 0x3f: // div64 X
			if in.off == 0 {
				if s := r[in.src&15]; s == 0 {
					r[in.dst&15] = 0
				} else {
					r[in.dst&15] /= s
				}
			} else {
				r[in.dst&15] = uint64(sdiv(int64(r[in.dst&15]), int64(r[in.src&15])))
			}
		case 0x97: // mod64 K
			if in.off == 0 {
				r[in.dst&15] %= uint64(in.imm)
			} else {
				r[in.dst&15] = uint64(smod(int64(r[in.dst&15]), in.imm))
			}
		case 0x9f: // mod64 X
			if in.off == 0 {
				if s := r[in.src&15]; s != 0 {
					r[in.dst&15] %= s
				}
			} else {
				r[in.dst&15] = uint64(smod(int64(r[in.dst&15]), int64(r[in.src&15])))
			}
		case 0x34: // div32 K
			if in.off == 0 {
				r[in.dst&15] = uint64(uint32(r[in.dst&15]) / uint32(in.imm))
			} else {
				r[in.dst&15] = uint64(uint32(sdiv(int32(r[in.dst&15]), int32(in.imm))))
			}
		case 0x3c: // div32 X
			if in.off == 0 {
				if s := uint32(r[in.src&15]); s == 0 {
					r[in.dst&15] = 0
				} else {
					r[in.dst&15] = uint64(uint32(r[in.dst&15]) / s)
				}
			} else {
				r[in.dst&15] = uint64(uint32(sdiv(int32(r[in.dst&15]), int32(r[in.src&15]))))
			}
		case 0x94: // mod32 K
			if in.off == 0 {
				r[in.dst&15] = uint64(uint32(r[in.dst&15]) % uint32(in.imm))
			} else {
				r[in.dst&15] = uint64(uint32(smod(int32(r[in.dst&15]), int32(in.imm))))
			}
		case 0x9c: // mod32 X
			if in.off == 0 {
				if s := uint32(r[in.src&15]); s != 0 {
					r[in.dst&15] = uint64(uint32(r[in.dst&15]) % s)
				} else {
					r[in.dst&15] = uint64(uint32(r[in.dst&15]))
				}
			} else {
				r[in.dst&15] = uint64(uint32(smod(int32(r[in.dst&15]), int32(r[in.src&15]))))
			}
		case 0x87: // neg64
			r[in.dst&15] = -r[in.dst&15]
		case 0x84: // neg32
			r[in.dst&15] = uint64(-uint32(r[in.dst&15]))
		case 0xb7: // mov64 K
			r[in.dst&15] = uint64(in.imm)
		case 0xbf: // mov64 X, movsx
			switch in.off {
			case 0:
				r[in.dst&15] = r[in.src&15]
			case 8:
				r[in.dst&15] = uint64(int64(int8(r[in.src&15])))
			case 16:
				r[in.dst&15] = uint64(int64(int16(r[in.src&15])))
			default:
				r[in.dst&15] = uint64(int64(int32(r[in.src&15])))
			}
		case 0xb4: // mov32 K
			r[in.dst&15] = uint64(uint32(in.imm))
		case 0xbc: // mov32 X, movsx
			switch in.off {
			case 0:
				r[in.dst&15] = uint64(uint32(r[in.src&15]))
			case 8:
				r[in.dst&15] = uint64(uint32(int32(int8(r[in.src&15]))))
			default:
				r[in.dst&15] = uint64(uint32(int32(int16(r[in.src&15]))))
			}
		case 0xd4: // le: truncate (the machine is little-endian)
			switch in.imm {
			case 16:
				r[in.dst&15] = uint64(uint16(r[in.dst&15]))
			case 32:
				r[in.dst&15] = uint64(uint32(r[in.dst&15]))
			}
		case 0xdc, 0xd7: // be, bswap
			switch in.imm {
			case 16:
				r[in.dst&15] = uint64(bits.ReverseBytes16(uint16(r[in.dst&15])))
			case 32:
				r[in.dst&15] = uint64(bits.ReverseBytes32(uint32(r[in.dst&15])))
			default:
				r[in.dst&15] = bits.ReverseBytes64(r[in.dst&15])
			}

		case 0x05: // ja
			pc = int(in.off)
		case 0x06: // gotol
			pc = int(in.off)
		case 0xe5: // may_goto
			if loops == 0 {
				pc = int(in.off)
			} else {
				loops--
			}
		case 0x18: // lddw
			r[in.dst&15] = uint64(in.imm)
			pc++

		case 0x61: // ldxw
			r[in.dst&15], err = m.load(r[in.src&15]+uint64(in.off), 4)
		case 0x69: // ldxh
			r[in.dst&15], err = m.load(r[in.src&15]+uint64(in.off), 2)
		case 0x71: // ldxb
			r[in.dst&15], err = m.load(r[in.src&15]+uint64(in.off), 1)
		case 0x79: // ldxdw
			r[in.dst&15], err = m.load(r[in.src&15]+uint64(in.off), 8)
		case 0x81: // ldxsw
			var v uint64
			v, err = m.load(r[in.src&15]+uint64(in.off), 4)
			r[in.dst&15] = uint64(int64(int32(v)))
		case 0x89: // ldxsh
			var v uint64
			v, err = m.load(r[in.src&15]+uint64(in.off), 2)
			r[in.dst&15] = uint64(int64(int16(v)))
		case 0x91: // ldxsb
			var v uint64
			v, err = m.load(r[in.src&15]+uint64(in.off), 1)
			r[in.dst&15] = uint64(int64(int8(v)))
		case 0x62: // stw
			err = m.store(r[in.dst&15]+uint64(in.off), 4, uint64(in.imm))
		case 0x6a: // sth
			err = m.store(r[in.dst&15]+uint64(in.off), 2, uint64(in.imm))
		case 0x72: // stb
			err = m.store(r[in.dst&15]+uint64(in.off), 1, uint64(in.imm))
		case 0x7a: // stdw
			err = m.store(r[in.dst&15]+uint64(in.off), 8, uint64(in.imm))
		case 0x63: // stxw
			err = m.store(r[in.dst&15]+uint64(in.off), 4, r[in.src&15])
		case 0x6b: // stxh
			err = m.store(r[in.dst&15]+uint64(in.off), 2, r[in.src&15])
		case 0x73: // stxb
			err = m.store(r[in.dst&15]+uint64(in.off), 1, r[in.src&15])
		case 0x7b: // stxdw
			err = m.store(r[in.dst&15]+uint64(in.off), 8, r[in.src&15])
		case 0xc3: // atomic32
			err = m.atomic((*[11]uint64)(r[:11]), in, 4)
		case 0xdb: // atomic64
			err = m.atomic((*[11]uint64)(r[:11]), in, 8)
		case 0x20, 0x28, 0x30, 0x40, 0x48, 0x50: // legacy packet loads
			var ok bool
			r[0], ok, err = m.legacyLoad(in, (*[11]uint64)(r[:11]))
			if err == nil && !ok {
				// Out of the packet: the program ends, returning 0 (the
				// verifier allows these loads only in programs without
				// BPF-to-BPF calls, so this is the program's frame).
				m.depth = base
				m.left = left
				return 0, nil
			}
		case 0x85: // call
			switch in.src {
			case 1: // BPF-to-BPF
				if m.depth+1 >= MaxFrames {
					m.left = left
					return 0, m.wrap(pc-1, faultf(ErrCallDepth, "call with %d frames in use (at most %d)", m.depth+1, MaxFrames))
				}
				m.frames[m.depth] = frame{ret: pc, r6: r[6], r7: r[7], r8: r[8], r9: r[9], r10: r[10], loops: loops}
				m.depth++
				r[10] = m.enterFrame(m.depth)
				pc = int(in.off)
				loops = maxLoops
			case 0: // helper
				m.left = left
				h := m.helper(int32(in.imm))
				if h == nil {
					return 0, m.wrap(pc-1, faultf(ErrUnsupported, "helper %s", helperName(int32(in.imm))))
				}
				m.pc = pc - 1
				r[0], err = h(m, [5]uint64{r[1], r[2], r[3], r[4], r[5]})
				left = m.left
				if err == nil && m.tail >= 0 {
					pc, m.tail = m.tail, -1
					r[10] = m.enterFrame(m.depth)
					loops = maxLoops
				}
			default: // kfunc
				m.left = left
				k := m.kfunc(in.imm)
				if k == nil {
					return 0, m.wrap(pc-1, faultf(ErrUnsupported, "kfunc with BTF id %d%s", in.imm, m.kfuncName(in.imm)))
				}
				m.pc = pc - 1
				r[0], err = k(m, [5]uint64{r[1], r[2], r[3], r[4], r[5]})
				left = m.left
			}
		case 0x95: // exit
			if m.depth == base {
				m.left = left
				return r[0], nil
			}
			m.depth--
			f := &m.frames[m.depth]
			pc, r[6], r[7], r[8], r[9], r[10], loops = f.ret, f.r6, f.r7, f.r8, f.r9, f.r10, f.loops
		default:
			m.left = left
			if in.op == opFiller {
				return 0, m.wrap(pc-1, faultf(ErrInvalid, "no instruction here: the code ends without exit"))
			}
			return 0, m.wrap(pc-1, faultf(ErrInvalid, "opcode %#02x", in.op))
		}
		if err != nil {
			m.left = left
			m.depth = base
			return 0, m.wrap(pc-1, err)
		}
	}
}

// sdiv is signed division as the kernel defines it (sdiv64, sdiv32): by
// zero gives 0, and the most negative number divided by -1 is itself (Go
// agrees).
func sdiv[T int32 | int64](a, b T) T {
	if b == 0 {
		return 0
	}
	return a / b
}

// smod is signed modulo (smod64, smod32): by zero leaves a; the sign
// follows a.
func smod[T int32 | int64](a, b T) T {
	if b == 0 {
		return a
	}
	return a % b
}

// atomic runs an atomic read-modify-write of n bytes (4 or 8).
func (m *Machine) atomic(r *[11]uint64, in *insn, n uint32) error {
	a := r[in.dst&15] + uint64(in.off)
	if a%uint64(n) != 0 {
		return faultf(ErrAlignment, "%d-byte atomic operation at %s", n, m.describe(a))
	}
	if _, _, err := m.span(a, n, false); err != nil {
		return err
	}
	old, err := m.load(a, n)
	if err != nil {
		return err
	}
	src := r[in.src&15]
	var nv uint64
	switch isa.AtomicOp(in.imm) &^ isa.AtomicFetch {
	case isa.AtomicAdd:
		nv = old + src
	case isa.AtomicOr:
		nv = old | src
	case isa.AtomicAnd:
		nv = old & src
	case isa.AtomicXor:
		nv = old ^ src
	case isa.AtomicXchg &^ isa.AtomicFetch:
		nv = src
	case isa.AtomicCmpXchg &^ isa.AtomicFetch:
		want := r[0]
		if n == 4 {
			want = uint64(uint32(want))
		}
		if old == want {
			nv = src
		} else {
			nv = old
		}
		if err := m.store(a, n, nv); err != nil {
			return err
		}
		r[0] = old
		return nil
	}
	if err := m.store(a, n, nv); err != nil {
		return err
	}
	if isa.AtomicOp(in.imm)&isa.AtomicFetch != 0 {
		r[in.src&15] = old
	}
	return nil
}
