package vm_test

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bpfstar/bpfstar/isa"
)

// This file is a parser for the uBPF assembler syntax of the conformance
// vectors (testdata/conformance): one instruction a line, registers as
// %rN, memory operands as [%rN+OFF], jump targets as +N, -N or a label
// ("name:" on a line of its own), '#' comments.

type ubpfLine struct {
	n      int // line number in the file
	fields []string
}

// parseUBPF assembles src into instruction bytes.
func parseUBPF(src string) ([]byte, error) {
	var lines []ubpfLine
	labels := map[string]int{} // label -> slot
	slot := 0
	lastExit := false
	for i, l := range strings.Split(src, "\n") {
		if j := strings.Index(l, "#"); j >= 0 {
			l = l[:j]
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.HasSuffix(l, ":") && !strings.ContainsAny(l, " ,") {
			labels[strings.TrimSuffix(l, ":")] = slot
			if l == "exit:" {
				lastExit = false
			}
			continue
		}
		f := strings.Fields(strings.NewReplacer(",", " ").Replace(l))
		lines = append(lines, ubpfLine{n: i + 1, fields: f})
		if f[0] == "exit" {
			if _, ok := labels["exit"]; !ok || lastExit {
				// A jump to "exit" without such a label goes to the
				// (last) exit instruction.
				labels["exit"], lastExit = slot, true
			}
		}
		if f[0] == "lddw" {
			slot += 2
		} else {
			slot++
		}
	}
	var out []byte
	slot = 0
	for _, l := range lines {
		ins, err := assembleUBPF(l.fields, slot, labels)
		if err != nil {
			return nil, fmt.Errorf("line %d: %q: %v", l.n, strings.Join(l.fields, " "), err)
		}
		out = ins.Append(out)
		slot += ins.Slots()
	}
	return out, nil
}

var ubpfALU = map[string]isa.ALUOp{
	"add": isa.ALUAdd, "sub": isa.ALUSub, "mul": isa.ALUMul, "div": isa.ALUDiv,
	"or": isa.ALUOr, "and": isa.ALUAnd, "lsh": isa.ALULsh, "rsh": isa.ALURsh,
	"mod": isa.ALUMod, "xor": isa.ALUXor, "mov": isa.ALUMov, "arsh": isa.ALUArsh,
	"sdiv": isa.ALUDiv, "smod": isa.ALUMod,
}

var ubpfJump = map[string]isa.JumpOp{
	"jeq": isa.JumpJEQ, "jgt": isa.JumpJGT, "jge": isa.JumpJGE, "jset": isa.JumpJSET,
	"jne": isa.JumpJNE, "jsgt": isa.JumpJSGT, "jsge": isa.JumpJSGE, "jlt": isa.JumpJLT,
	"jle": isa.JumpJLE, "jslt": isa.JumpJSLT, "jsle": isa.JumpJSLE,
}

var ubpfSize = map[string]isa.Size{"b": isa.SizeB, "h": isa.SizeH, "w": isa.SizeW, "dw": isa.SizeDW}

var ubpfAtomic = map[string]isa.AtomicOp{
	"add": isa.AtomicAdd, "or": isa.AtomicOr, "and": isa.AtomicAnd, "xor": isa.AtomicXor,
	"xchg": isa.AtomicXchg, "cmpxchg": isa.AtomicCmpXchg,
}

func reg(s string) (isa.Register, error) {
	if !strings.HasPrefix(s, "%r") {
		return 0, fmt.Errorf("%q is not a register", s)
	}
	n, err := strconv.Atoi(s[2:])
	if err != nil || n > 10 {
		return 0, fmt.Errorf("%q is not a register", s)
	}
	return isa.Register(n), nil
}

func num(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, err
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

// imm32 reads a 32-bit immediate, which may be written unsigned
// (0xffffffff is -1).
func imm32(s string) (int64, error) {
	v, err := num(s)
	if err != nil {
		return 0, err
	}
	if v > 0xffffffff || v < -0x80000000 {
		return 0, fmt.Errorf("immediate %s does not fit in 32 bits", s)
	}
	return int64(int32(uint32(v))), nil
}

// memOperand reads [%rN], [%rN+OFF] or [%rN-OFF].
func memOperand(s string) (isa.Register, int16, error) {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return 0, 0, fmt.Errorf("%q is not a memory operand", s)
	}
	s = s[1 : len(s)-1]
	i := strings.IndexAny(s, "+-")
	if i < 0 {
		r, err := reg(s)
		return r, 0, err
	}
	r, err := reg(s[:i])
	if err != nil {
		return 0, 0, err
	}
	off, err := num(s[i:])
	if err != nil || !isa.FitsInt16(off) {
		return 0, 0, fmt.Errorf("bad offset in %q", s)
	}
	return r, int16(off), nil
}

func target(s string, slot int, labels map[string]int) (int64, error) {
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		return num(s)
	}
	t, ok := labels[s]
	if !ok {
		return 0, fmt.Errorf("no label %q", s)
	}
	return int64(t - slot - 1), nil
}

func want(f []string, n int) error {
	if len(f) != n {
		return fmt.Errorf("%d operands, want %d", len(f)-1, n-1)
	}
	return nil
}

func assembleUBPF(f []string, slot int, labels map[string]int) (isa.Instruction, error) {
	op := f[0]
	var ins isa.Instruction
	switch {
	case op == "exit":
		return isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpExit), isa.SrcK)}, want(f, 1)
	case op == "call":
		ins.Op = isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK)
		if len(f) == 3 && f[1] == "local" {
			t, err := target(f[2], slot, labels)
			ins.Src, ins.Imm = isa.CallPseudo, t
			return ins, err
		}
		if err := want(f, 2); err != nil {
			return ins, err
		}
		if strings.HasPrefix(f[1], "%") {
			// callx: the target in a register (not in RFC 9669).
			r, err := reg(f[1])
			ins.Op = isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcX)
			ins.Dst = r
			return ins, err
		}
		v, err := imm32(f[1])
		ins.Imm = v
		return ins, err
	case op == "lddw":
		if err := want(f, 3); err != nil {
			return ins, err
		}
		r, err := reg(f[1])
		if err != nil {
			return ins, err
		}
		v, err := num(f[2])
		return isa.Instruction{Op: isa.OpLoadImm64, Dst: r, Imm: v}, err
	case op == "ja" || op == "ja32":
		if err := want(f, 2); err != nil {
			return ins, err
		}
		t, err := target(f[1], slot, labels)
		if op == "ja32" {
			return isa.Instruction{Op: isa.Op(isa.ClassJMP32, uint8(isa.JumpJA), isa.SrcK), Imm: t}, err
		}
		if !isa.FitsInt16(t) {
			return ins, fmt.Errorf("jump too far")
		}
		return isa.Instruction{Op: isa.Op(isa.ClassJMP, uint8(isa.JumpJA), isa.SrcK), Off: int16(t)}, err
	case op == "lock":
		// lock [fetch] OP[32] [%rD+OFF], %rS
		f = f[1:]
		fetch := false
		if f[0] == "fetch" {
			fetch, f = true, f[1:]
		}
		name, size := f[0], isa.SizeDW
		if strings.HasSuffix(name, "32") {
			name, size = strings.TrimSuffix(name, "32"), isa.SizeW
		}
		a, ok := ubpfAtomic[name]
		if !ok || len(f) != 3 {
			return ins, fmt.Errorf("unknown atomic %q", name)
		}
		if fetch {
			a |= isa.AtomicFetch
		}
		d, off, err := memOperand(f[1])
		if err != nil {
			return ins, err
		}
		s, err := reg(f[2])
		return isa.Instruction{Op: isa.MemOp(isa.ClassSTX, isa.ModeATOMIC, size), Dst: d, Src: s, Off: off, Imm: int64(a)}, err
	case strings.HasPrefix(op, "ldx"):
		if err := want(f, 3); err != nil {
			return ins, err
		}
		name, mode := op[3:], isa.ModeMEM
		if strings.HasPrefix(name, "s") {
			name, mode = name[1:], isa.ModeMEMSX
		}
		size, ok := ubpfSize[name]
		if !ok {
			return ins, fmt.Errorf("unknown load %q", op)
		}
		d, err := reg(f[1])
		if err != nil {
			return ins, err
		}
		s, off, err := memOperand(f[2])
		return isa.Instruction{Op: isa.MemOp(isa.ClassLDX, mode, size), Dst: d, Src: s, Off: off}, err
	case strings.HasPrefix(op, "stx"), strings.HasPrefix(op, "st"):
		if err := want(f, 3); err != nil {
			return ins, err
		}
		cls, name := isa.ClassST, op[2:]
		if strings.HasPrefix(op, "stx") {
			cls, name = isa.ClassSTX, op[3:]
		}
		size, ok := ubpfSize[name]
		if !ok {
			return ins, fmt.Errorf("unknown store %q", op)
		}
		d, off, err := memOperand(f[1])
		if err != nil {
			return ins, err
		}
		ins = isa.Instruction{Op: isa.MemOp(cls, isa.ModeMEM, size), Dst: d, Off: off}
		if cls == isa.ClassSTX {
			ins.Src, err = reg(f[2])
		} else {
			ins.Imm, err = imm32(f[2])
		}
		return ins, err
	}
	// Byte swaps: be16, le32, bswap64 / swap64.
	for _, p := range []struct {
		prefix string
		cls    isa.Class
		src    isa.Source
	}{{"be", isa.ClassALU, isa.SrcX}, {"le", isa.ClassALU, isa.SrcK}, {"bswap", isa.ClassALU64, isa.SrcK}, {"swap", isa.ClassALU64, isa.SrcK}} {
		if w, err := strconv.Atoi(strings.TrimPrefix(op, p.prefix)); strings.HasPrefix(op, p.prefix) && err == nil {
			if err := want(f, 2); err != nil {
				return ins, err
			}
			d, err := reg(f[1])
			return isa.Instruction{Op: isa.Op(p.cls, uint8(isa.ALUEnd), p.src), Dst: d, Imm: int64(w)}, err
		}
	}
	if strings.HasPrefix(op, "movsx") {
		// movsxSSDD: sign-extend from SS bits into a DD-bit register.
		digits := op[5:]
		var from, to int
		switch {
		case strings.HasSuffix(digits, "64"):
			to, digits = 64, strings.TrimSuffix(digits, "64")
		case strings.HasSuffix(digits, "32"):
			to, digits = 32, strings.TrimSuffix(digits, "32")
		}
		from, err := strconv.Atoi(digits)
		if err != nil || to == 0 {
			return ins, fmt.Errorf("unknown %q", op)
		}
		if err := want(f, 3); err != nil {
			return ins, err
		}
		cls := isa.ClassALU64
		if to == 32 {
			cls = isa.ClassALU
		}
		d, err := reg(f[1])
		if err != nil {
			return ins, err
		}
		s, err := reg(f[2])
		return isa.Instruction{Op: isa.Op(cls, uint8(isa.ALUMov), isa.SrcX), Dst: d, Src: s, Off: int16(from)}, err
	}
	is32 := strings.HasSuffix(op, "32")
	base := strings.TrimSuffix(op, "32")
	if base == "neg" {
		if err := want(f, 2); err != nil {
			return ins, err
		}
		cls := isa.ClassALU64
		if is32 {
			cls = isa.ClassALU
		}
		d, err := reg(f[1])
		return isa.Instruction{Op: isa.Op(cls, uint8(isa.ALUNeg), isa.SrcK), Dst: d}, err
	}
	if a, ok := ubpfALU[base]; ok {
		if err := want(f, 3); err != nil {
			return ins, err
		}
		cls := isa.ClassALU64
		if is32 {
			cls = isa.ClassALU
		}
		d, err := reg(f[1])
		if err != nil {
			return ins, err
		}
		ins = isa.Instruction{Dst: d}
		if base == "sdiv" || base == "smod" {
			ins.Off = 1
		}
		if s, err := reg(f[2]); err == nil {
			ins.Op, ins.Src = isa.Op(cls, uint8(a), isa.SrcX), s
			return ins, nil
		}
		ins.Op = isa.Op(cls, uint8(a), isa.SrcK)
		ins.Imm, err = imm32(f[2])
		return ins, err
	}
	if j, ok := ubpfJump[base]; ok {
		if err := want(f, 4); err != nil {
			return ins, err
		}
		cls := isa.ClassJMP
		if is32 {
			cls = isa.ClassJMP32
		}
		d, err := reg(f[1])
		if err != nil {
			return ins, err
		}
		t, err := target(f[3], slot, labels)
		if err != nil {
			return ins, err
		}
		if !isa.FitsInt16(t) {
			return ins, fmt.Errorf("jump too far")
		}
		ins = isa.Instruction{Dst: d, Off: int16(t)}
		if s, err := reg(f[2]); err == nil {
			ins.Op, ins.Src = isa.Op(cls, uint8(j), isa.SrcX), s
			return ins, nil
		}
		ins.Op = isa.Op(cls, uint8(j), isa.SrcK)
		ins.Imm, err = imm32(f[2])
		return ins, err
	}
	return ins, fmt.Errorf("unknown instruction %q", op)
}
