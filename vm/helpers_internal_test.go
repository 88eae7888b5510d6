package vm

import (
	"testing"

	"github.com/bpfstar/bpfstar/helper"
)

// TestStandardHelperNames checks that every standard helper is named as in
// package helper's table: UseStandardHelpers skips a name it cannot find.
func TestStandardHelperNames(t *testing.T) {
	for name := range standardHelpers {
		if _, ok := helper.Lookup(name); !ok {
			t.Errorf("standard helper %q is not in package helper's table", name)
		}
	}
	var m Machine
	m.UseStandardHelpers()
	if got, want := len(m.helpers), len(standardHelpers); got != want || want != 50 {
		t.Errorf("UseStandardHelpers set %d helpers, want %d (of 50)", got, want)
	}
	for _, id := range []int32{1, 5, 12, 87, 181, 208} {
		if m.helper(id) == nil {
			h, _ := helper.ByID(id)
			t.Errorf("helper %d (%s) not set", id, h.Name)
		}
	}
}
