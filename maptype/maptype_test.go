package maptype

import (
	"slices"
	"testing"
)

func TestTable(t *testing.T) {
	for _, c := range []struct {
		t    uint32
		name string
	}{{1, "hash"}, {2, "array"}, {6, "percpu_array"}, {10, "lru_percpu_hash"}, {27, "ringbuf"}, {33, "arena"}} {
		if n, ok := Name(c.t); !ok || n != c.name {
			t.Errorf("Name(%d) = %q, %v; want %q", c.t, n, ok, c.name)
		}
		if got, ok := Lookup(c.name); !ok || got != c.t {
			t.Errorf("Lookup(%q) = %d, %v; want %d", c.name, got, ok, c.t)
		}
	}
	for _, bad := range []uint32{0, 34, 1 << 31} {
		if n, ok := Name(bad); ok {
			t.Errorf("Name(%d) = %q, want none", bad, n)
		}
	}
	for _, bad := range []string{"", "Hash", "BPF_MAP_TYPE_HASH", "unspec"} {
		if got, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) = %d, want none", bad, got)
		}
	}
	names := Names()
	if len(names) != 33 || !slices.IsSorted(names) {
		t.Fatalf("Names() = %q, want 33 sorted names", names)
	}
	for _, n := range names {
		typ, ok := Lookup(n)
		if back, _ := Name(typ); !ok || back != n {
			t.Errorf("%q: Lookup gives %d, %v; Name of that %q", n, typ, ok, back)
		}
	}
}
