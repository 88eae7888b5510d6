package vm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

func compileUBPF(t testing.TB, src string) *vm.Program {
	t.Helper()
	code, err := parseUBPF(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := vm.Compile(code)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFaults checks that each way a run can go wrong stops it with the
// right kind of error, at the right instruction, with a clear message.
func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		mem       []byte
		budget    uint64
		kind      error
		pc        int
		msg       string
	}{
		{"read past the memory", "ldxw %r0, [%r1+2]\nexit", []byte{1, 2, 3, 4}, 0, vm.ErrMemory, 0,
			"read of 4 bytes at mem+2 (mem has 4 bytes)"},
		{"read before the memory", "mov %r0, 0\nldxb %r0, [%r1-1]\nexit", []byte{1}, 0, vm.ErrMemory, 1,
			"read of 1 bytes at mem-1 (mem has 1 bytes)"},
		{"null pointer", "mov %r1, 0\nstw [%r1], 1\nexit", nil, 0, vm.ErrMemory, 1,
			"write of 4 bytes at 0x0, which is in no region"},
		{"past the stack", "stb [%r10], 1\nexit", nil, 0, vm.ErrMemory, 0,
			"write of 1 bytes at stack frame 0+512 (stack frame 0 has 512 bytes)"},
		{"uninitialised stack", "stw [%r10-8], 1\nldxdw %r0, [%r10-8]\nexit", nil, 0, vm.ErrUninit, 1,
			"read of 8 bytes at stack frame 0+504: byte stack frame 0+508 was never written"},
		{"misaligned atomic", "stdw [%r10-8], 0\nmov %r1, 1\nlock add [%r10-12], %r1\nexit", nil, 0, vm.ErrAlignment, 2,
			"8-byte atomic operation at stack frame 0+500"},
		{"budget", "mov %r0, 0\nja -1\nexit", nil, 1000, vm.ErrBudget, 1, "ran 1000 instructions"},
		{"recursion", "f:\ncall local f\nexit", nil, 0, vm.ErrCallDepth, 0, "call with 8 frames in use (at most 8)"},
		{"unknown helper", "call 1\nexit", nil, 0, vm.ErrUnsupported, 0, "helper 1 (bpf_map_lookup_elem)"},
		{"kfunc", "mov %r0, 0\nexit", nil, 0, nil, 0, ""},
		{"falls off the end", "mov %r0, 1", nil, 0, vm.ErrInvalid, 1, "no instruction here: the code ends without exit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := compileUBPF(t, tc.src)
			m := vm.NewMachine()
			m.Budget = tc.budget
			var r1 uint64
			if tc.mem != nil {
				r1 = m.SetMemory("mem", tc.mem)
			}
			_, err := m.Run(p, r1)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var e *vm.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want a *vm.Error", err, err)
			}
			if !errors.Is(err, tc.kind) || e.PC != tc.pc || e.Msg != tc.msg {
				t.Fatalf("got %v at %d: %q; want %v at %d: %q", e.Kind, e.PC, e.Msg, tc.kind, tc.pc, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "insn ") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// TestCompileErrors checks that code the ISA does not define is refused
// before it runs.
func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		code []byte
		msg  string
	}{
		{"partial slot", []byte{0x95, 0, 0, 0}, "not a whole number"},
		{"unknown opcode", []byte{0xff, 0, 0, 0, 0, 0, 0, 0}, "insn 0"},
		{"jump out", []byte{0x05, 0, 5, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}, "jump to slot 6"},
		{"half a 64-bit load", []byte{0x18, 0, 0, 0, 0, 0, 0, 0}, "without its second slot"},
		{"into a 64-bit load", []byte{0x05, 0, 1, 0, 0, 0, 0, 0, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}, "middle of a 64-bit load"},
		{"write to r10", []byte{0xb7, 0x0a, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0}, "read-only frame pointer"},
		{"map reference", []byte{0x18, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "needs an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vm.Compile(tc.code)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want one containing %q", err, tc.msg)
			}
		})
	}
}

// TestKernelArithmetic pins the results the kernel defines where other
// machines differ: division and modulo by zero, the most negative number
// divided by -1, shift masking and 32-bit zero extension.
func TestKernelArithmetic(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want uint64
	}{
		{"lddw %r0, 0x123456789\nmov %r1, 0\ndiv %r0, %r1\nexit", 0},
		{"lddw %r0, 0x123456789\nmov %r1, 0\nmod %r0, %r1\nexit", 0x123456789},
		{"lddw %r0, 0x123456789\nmov %r1, 0\nmod32 %r0, %r1\nexit", 0x23456789},
		{"lddw %r0, 0x123456789\nmov %r1, 0\nsmod32 %r0, %r1\nexit", 0x23456789},
		{"lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit", 0x8000000000000000},
		{"lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit", 0},
		{"mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit", 0x80000000},
		{"mov %r0, -7\nsmod %r0, 2\nexit", 0xffffffffffffffff},
		{"mov %r0, 1\nmov %r1, 65\nlsh %r0, %r1\nexit", 2},
		{"mov %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1\nexit", 2},
		{"mov %r0, -1\nadd32 %r0, 0\nexit", 0xffffffff},
		{"mov %r0, -1\nstdw [%r10-8], 0\nlock fetch add32 [%r10-8], %r0\nmov %r0, %r0\nldxdw %r0, [%r10-8]\nexit", 0xffffffff},
	} {
		m := vm.NewMachine()
		got, err := m.Run(compileUBPF(t, tc.src))
		if err != nil || got != tc.want {
			t.Errorf("%q: got %#x, %v; want %#x", tc.src, got, err, tc.want)
		}
	}
}

// TestZeroValues: the zero Machine, Program, Map and Object work or say
// why not; none panics.
func TestZeroValues(t *testing.T) {
	var m vm.Machine
	if _, err := m.Run(&vm.Program{}); err == nil {
		t.Error("running the zero Program: no error")
	}
	if _, err := m.RunProgram(&vm.Program{}, vm.Input{}); err == nil {
		t.Error("RunProgram of the zero Program: no error")
	}
	got, err := m.Run(compileUBPF(t, "mov %r0, 7\nstdw [%r10-8], 1\nexit"))
	if err != nil || got != 7 {
		t.Errorf("the zero Machine ran: %d, %v", got, err)
	}
	var mp vm.Map
	if _, ok := mp.Lookup([]byte{0, 0, 0, 0}, 0); ok {
		t.Error("the zero Map has a value")
	}
	if mp.Update([]byte{0}, []byte{0}) == nil {
		t.Error("the zero Map took an update")
	}
	var o vm.Object
	if len(o.Programs()) != 0 {
		t.Error("the zero Object has programs")
	}
	if _, err := o.Program("x"); err == nil {
		t.Error("the zero Object has program x")
	}
	if _, err := o.NewMachine(vm.Env{}); err != nil {
		t.Error(err)
	}
	var c vm.Coverage
	if len(c.Files()) != 0 {
		t.Error("the zero Coverage has files")
	}
}

// TestTraceHookStops: a trace ends after its limit, saying so.
func TestTraceHookStops(t *testing.T) {
	var b strings.Builder
	m := vm.NewMachine()
	m.Hook = vm.TraceHook(&b, 3)
	if _, err := m.Run(compileUBPF(t, "mov %r0, 1\nadd %r0, 2\nadd %r0, 3\nadd %r0, 4\nexit")); err != nil {
		t.Fatal(err)
	}
	want := `      0: r0 = 0x1                            
      1: r0 += 0x2                            r0=0x1
      2: r0 += 0x3                            r0=0x3
... the trace stops after 3 instructions
`
	if b.String() != want {
		t.Errorf("trace:\n%q\nwant:\n%q", b.String(), want)
	}
}

// TestMayGoto: may_goto falls through 8388608 times, then jumps.
func TestMayGoto(t *testing.T) {
	code := []byte{
		0xb7, 0x00, 0, 0, 0, 0, 0, 0, // r0 = 0
		0xe5, 0x00, 2, 0, 0, 0, 0, 0, // may_goto +2
		0x07, 0x00, 0, 0, 1, 0, 0, 0, // r0 += 1
		0x05, 0x00, 0xfd, 0xff, 0, 0, 0, 0, // goto -3
		0x95, 0, 0, 0, 0, 0, 0, 0, // exit
	}
	p, err := vm.Compile(code)
	if err != nil {
		t.Fatal(err)
	}
	m := vm.NewMachine()
	got, err := m.Run(p)
	if err != nil || got != 8388608 {
		t.Fatalf("r0 = %d, %v; want 8388608", got, err)
	}
}
