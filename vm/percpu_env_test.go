package vm_test

import (
	"errors"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

// TestPerCPUOutOfRangeCPU: a per-CPU map's elements have a copy for each
// CPU the machine had when they were made; a run on a CPU past those (Env
// changed after the map was filled, or a negative CPU) stops with an error
// saying so, never a Go panic or another CPU's value.
func TestPerCPUOutOfRangeCPU(t *testing.T) {
	for _, typ := range []uint32{vm.MapPerCPUHash, vm.MapPerCPUArray, vm.MapLRUPerCPU} {
		for _, cpu := range []int{3, -1} {
			r := newRig(t)
			r.m.Env.NumCPU = 2
			mp := r.addMap(vm.MapSpec{Name: "pc", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 2})
			if err := mp.Update(u32(1), u64(5)); err != nil {
				t.Fatal(err)
			}
			r.m.Env.CPU = cpu
			r.setKey(u32(1))
			p := compileUBPF(t, "call 1\nexit")
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%v on CPU %d: panic %v", typ, cpu, p)
					}
				}()
				_, err = r.m.Run(p, mp.Ref(), r.key())
			}()
			if !errors.Is(err, vm.ErrInput) {
				t.Errorf("%v on CPU %d: error %v, want vm.ErrInput", typ, cpu, err)
			}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("%v: Lookup on CPU %d: panic %v", typ, cpu, p)
					}
				}()
				if v, ok := mp.Lookup(u32(1), cpu); ok {
					t.Errorf("%v: Lookup on CPU %d: %x", typ, cpu, v)
				}
			}()
		}
	}
}
