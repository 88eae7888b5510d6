package starlib

import (
	"fmt"
	"testing"
)

// The name table finds every name it was made of, with its value, and no
// other: not the empty string, prefixes, names that differ in one byte, or
// names of the same length and ends.
func TestNameTable(t *testing.T) {
	m := map[string]int{}
	for i, n := range newInsnModule(new(insnAlloc)).AttrNames() {
		m[n] = i
	}
	for n := range 300 { // many names: probe chains wrap around
		m[fmt.Sprintf("n%03d", n)] = 1000 + n
	}
	tab := newNameTable(m)
	for name, want := range m {
		if got, ok := tab.lookup(name); !ok || got != want {
			t.Errorf("lookup(%q) = %d, %v; want %d, true", name, got, ok, want)
		}
		for _, other := range []string{name[:len(name)-1], name + "x", "x" + name[1:], name[:len(name)-1] + "_", string(name[0]) + "?" + name[2:]} {
			if _, in := m[other]; in {
				continue
			}
			if got, ok := tab.lookup(other); ok {
				t.Errorf("lookup(%q) = %d, true; want not found", other, got)
			}
		}
	}
	if _, ok := tab.lookup(""); ok {
		t.Error(`lookup("") found something`)
	}
	if len(tab.names) != len(m) {
		t.Errorf("table lists %d names, want %d", len(tab.names), len(m))
	}
}
