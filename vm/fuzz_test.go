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
	f.Fuzz(func(t *testing.T, code, mem []byte) {
		p, err := vm.Compile(code)
		if err != nil {
			return
		}
		m := vm.NewMachine()
		m.Budget = 10000
		m.SetHelper(5, func(_ *vm.Machine, a [5]uint64) (uint64, error) { return a[0], nil })
		r1 := m.SetMemory("mem", mem)
		_, err = m.Run(p, r1, uint64(len(mem)))
		var e *vm.Error
		if err != nil && (!errors.As(err, &e) || !strings.HasPrefix(err.Error(), "insn ")) {
			t.Fatalf("error %v (%T), want a *vm.Error", err, err)
		}
		if e != nil && (e.PC < 0 || e.PC > p.Len()) {
			t.Fatalf("error at slot %d of %d", e.PC, p.Len())
		}
	})
}
