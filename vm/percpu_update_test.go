package vm_test

import (
	"encoding/binary"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
	"github.com/cilium/ebpf/asm"
)

// TestPerCPUUpdateFromProgram: bpf_map_update_elem in a program sets the
// value of the CPU it runs on only, as the kernel's per-CPU maps do (a new
// per-CPU hash element is zero on the other CPUs); user space's Update sets
// every CPU's.
func TestPerCPUUpdateFromProgram(t *testing.T) {
	for _, typ := range []uint32{vm.MapPerCPUArray, vm.MapPerCPUHash, vm.MapLRUPerCPU} {
		r := newRig(t)
		r.m.Env.NumCPU = 3
		mp := r.addMap(vm.MapSpec{Name: "pc", Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: 4})
		if err := mp.Update(u32(1), u64(5)); err != nil { // every CPU
			t.Fatal(err)
		}
		r.m.Env.CPU = 1
		for _, k := range []uint32{1, 2} {
			r.setKey(u32(k))
			r.setValue(u64(9))
			if got := r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 0); got != 0 {
				t.Fatalf("%d: update: %#x", typ, got)
			}
		}
		for _, c := range []struct {
			key  uint32
			want [3]uint64
		}{{1, [3]uint64{5, 9, 5}}, {2, [3]uint64{0, 9, 0}}} {
			for cpu, want := range c.want {
				v, ok := mp.Lookup(u32(c.key), cpu)
				if !ok || binary.LittleEndian.Uint64(v) != want {
					t.Errorf("map type %d, key %d, CPU %d: %x, want %d", typ, c.key, cpu, v, want)
				}
			}
		}
	}
}
