package spell

import (
	"testing"

	_ "github.com/bpfstar/bpfstar/internal/golden" // -update
)

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"exit", "exit", 0},
		{"exitt", "exit", 1},
		{"mov64imm", "mov64_imm", 1},
		{"map_lookup_elm", "map_lookup_elem", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"xpd", "xdp", 1}, // a swap
		{"ab", "ba", 1},
		{"ca", "abc", 3}, // no edit of a swapped pair
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
