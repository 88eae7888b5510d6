// Package helper is the table of BPF helper functions: the kernel UAPI name
// (bpf_map_lookup_elem), the number the call instruction carries (1), and the
// C prototype, as libbpf's bpf_helper_defs.h declares them.
//
// The table in table.go is generated: `go generate ./helper` rewrites it from
// /usr/include/bpf/bpf_helper_defs.h (Debian's libbpf-dev), and a test checks
// that the committed table still matches that header.
package helper

//go:generate go run gen.go -o table.go /usr/include/bpf/bpf_helper_defs.h

import (
	"sort"
	"strings"

	"github.com/bpfstar/bpfstar/internal/spell"
)

// Helper describes one BPF helper function.
type Helper struct {
	Name  string // UAPI name with the bpf_ prefix, e.g. "bpf_map_lookup_elem"
	ID    int32  // the helper number, the immediate of the call instruction
	Proto string // the C prototype, e.g. "void *bpf_map_lookup_elem(void *map, const void *key)"
}

var byName = func() map[string]*Helper {
	m := make(map[string]*Helper, len(table))
	for i := range table {
		m[table[i].Name] = &table[i]
	}
	return m
}()

// Lookup finds a helper by its UAPI name, with or without the "bpf_" prefix.
func Lookup(name string) (Helper, bool) {
	h, ok := byName[name]
	if !ok {
		h, ok = byName["bpf_"+name]
	}
	if !ok {
		return Helper{}, false
	}
	return *h, true
}

// ByID finds a helper by its number.
func ByID(id int32) (Helper, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].ID >= id })
	if i < len(table) && table[i].ID == id {
		return table[i], true
	}
	return Helper{}, false
}

// All returns every helper, ordered by number.
func All() []Helper { return append([]Helper(nil), table...) }

// Suggest returns the helper name closest to name (by edit distance), or ""
// when none is close enough to be a plausible typo.
func Suggest(name string) string {
	name = strings.TrimPrefix(name, "bpf_")
	// A prefix of a helper's name ("map_lookup") suggests the shortest
	// helper it begins.
	best := ""
	for _, h := range table {
		if short := strings.TrimPrefix(h.Name, "bpf_"); len(name) >= 3 && strings.HasPrefix(short, name) && (best == "" || len(h.Name) < len(best)) {
			best = h.Name
		}
	}
	if best != "" {
		return best
	}
	bestD := len(name)/2 + 1
	for _, h := range table {
		if d := spell.Distance(name, strings.TrimPrefix(h.Name, "bpf_")); d < bestD {
			best, bestD = h.Name, d
		}
	}
	return best
}
