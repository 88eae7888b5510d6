package vm_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

// TestTailCallLimit: a program that tail-calls itself runs 34 times (the
// first run and MAX_TAIL_CALL_CNT = 33 tail calls); the 34th tail call
// fails and falls through to the next instruction, as does a tail call to
// an empty slot or past the end of the prog_array.
func TestTailCallLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		index int
		runs  uint64
		ret   uint64
	}{
		{"itself", 0, 34, 7},
		{"empty slot", 1, 1, 7},
		{"past the end", 2, 1, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := vm.NewMachine()
			m.UseStandardHelpers()
			mp, err := m.AddMap(vm.MapSpec{Name: "table", Type: vm.MapProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2, Init: []int{0}})
			if err != nil {
				t.Fatal(err)
			}
			mem := make([]byte, 8)
			at := m.SetMemory("count", mem)
			// r1 is the counter's address: each run adds one to it.
			p := compileUBPF(t, fmt.Sprintf(`mov %%r6, %%r1
ldxdw %%r0, [%%r6]
add %%r0, 1
stxdw [%%r6], %%r0
mov %%r1, %%r6
lddw %%r2, %d
mov %%r3, %d
call 12
mov %%r0, 7
exit`, mp.Ref(), tc.index))
			got, err := m.Run(p, at)
			if err != nil {
				t.Fatal(err)
			}
			if n := binary.LittleEndian.Uint64(mem); got != tc.ret || n != tc.runs {
				t.Errorf("r0 = %d after %d runs; want %d after %d", got, n, tc.ret, tc.runs)
			}
		})
	}
}
