package vm_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

// FuzzRun runs arbitrary code on arbitrary memory: Compile and Run must
// return a result or an error, never panic, and every run error must be a
// *vm.Error naming the instruction.
func FuzzRun(f *testing.F) {
	files, _ := filepath.Glob("testdata/conformance/*.data")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		code, err := parseUBPF(sections(string(b))["asm"])
		if err != nil {
			continue
		}
		f.Add(code, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	}
	// Helper calls with the maps of r3 to r5: update, lookup, ring buffer
	// reserve and submit, push and pop, bpf_loop on a function.
	for _, src := range []string{
		"stw [%r1], 1\nmov %r6, %r1\nmov %r1, %r3\nmov %r2, %r6\nmov %r3, %r6\nmov %r4, 0\ncall 2\nexit",
		"mov %r1, %r4\nmov %r2, 16\nmov %r3, 0\ncall 131\njeq %r0, 0, +3\nmov %r1, %r0\nmov %r2, 0\ncall 132\nexit",
		"mov %r1, %r5\nmov %r2, %r10\nadd %r2, -8\nstdw [%r10-8], 7\nmov %r3, 0\ncall 87\nexit",
	} {
		code, err := parseUBPF(src)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(code, make([]byte, 16))
	}
	f.Fuzz(func(t *testing.T, code, mem []byte) {
		p, err := vm.Compile(code)
		if err != nil {
			return
		}
		m := vm.NewMachine()
		m.Budget = 10000
		m.UseStandardHelpers()
		m.SetHelper(5, func(_ *vm.Machine, a [5]uint64) (uint64, error) { return a[0], nil })
		// Maps for the helpers, their references in r3 to r5.
		var refs []uint64
		for _, s := range []vm.MapSpec{
			{Name: "hash", Type: vm.MapLRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
			{Name: "rb", Type: vm.MapRingbuf, MaxEntries: 4096},
			{Name: "q", Type: vm.MapQueue, ValueSize: 8, MaxEntries: 4},
		} {
			mp, err := m.AddMap(s)
			if err != nil {
				t.Fatal(err)
			}
			refs = append(refs, mp.Ref())
		}
		r1 := m.SetMemory("mem", mem)
		_, err = m.Run(p, r1, uint64(len(mem)), refs[0], refs[1], refs[2])
		var e *vm.Error
		if err != nil && (!errors.As(err, &e) || !strings.HasPrefix(err.Error(), "insn ")) {
			t.Fatalf("error %v (%T), want a *vm.Error", err, err)
		}
		if e != nil && (e.PC < 0 || e.PC > p.Len()) {
			t.Fatalf("error at slot %d of %d", e.PC, p.Len())
		}
	})
}

// FuzzObject loads arbitrary objects (seeded with the examples') and runs
// every program: LoadObject, NewMachine and RunProgram must return errors,
// never panic.
func FuzzObject(f *testing.F) {
	objs, _ := filepath.Glob("../examples/testdata/*.o")
	for _, o := range objs {
		b, err := os.ReadFile(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Objects with kfuncs, externs and CO-RE relocations, and ones whose
	// license is not GPL-compatible.
	f.Add(build(f, kfuncSrc))
	f.Add(relicense(f, build(f, kfuncSrc), "MIT"))
	f.Add(relicense(f, build(f, gplSrc), "MIT"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := vm.LoadObject(data)
		if err != nil {
			return
		}
		for _, name := range o.Programs() {
			p, err := o.Program(name)
			if err != nil {
				continue
			}
			m, err := o.NewMachine(vm.Env{MapMemory: 1 << 20})
			if err != nil {
				return
			}
			m.Budget = 10000
			m.RunProgram(p, vm.Input{Data: make([]byte, 64)})
		}
	})
}
