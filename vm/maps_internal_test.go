package vm

import (
	"fmt"
	"testing"
)

// TestTypeNames checks the names of the map types the interpreter models,
// which come from package maptype's table, and that it names no other.
func TestTypeNames(t *testing.T) {
	want := map[uint32]string{
		MapHash: "hash", MapArray: "array", MapProgArray: "prog_array", MapPerCPUHash: "percpu_hash",
		MapPerCPUArray: "percpu_array", MapLRUHash: "lru_hash", MapLRUPerCPU: "lru_percpu_hash",
		MapLPMTrie: "lpm_trie", MapArrayOfMaps: "array_of_maps", MapHashOfMaps: "hash_of_maps",
		MapQueue: "queue", MapStack: "stack", MapRingbuf: "ringbuf", MapPerfEvents: "perf_event_array",
		MapDevmap: "devmap", MapDevmapHash: "devmap_hash", MapCPUMap: "cpumap", MapXSKMap: "xskmap",
	}
	for typ := uint32(0); typ < 40; typ++ {
		s := MapSpec{Type: typ}
		got := s.TypeName()
		w, ok := want[typ]
		if !ok {
			w = fmt.Sprintf("type %d", typ)
		}
		if got != w || modeled(typ) != ok {
			t.Errorf("type %d: TypeName %q, modeled %v; want %q, %v", typ, got, modeled(typ), w, ok)
		}
	}
}
