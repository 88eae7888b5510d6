package starlib

import (
	"testing"

	"go.starlark.net/starlark"
)

// Every exported value type works at its zero value: it prints, hashes
// and answers its attributes.
func TestZeroValues(t *testing.T) {
	for _, tc := range []struct {
		v    starlark.Value
		text string
	}{
		{&Insn{}, "<unknown>"},
		{&LinkInsn{}, "<unknown>"},
		{&MetaInsn{}, "<unknown>"},
		{&Label{}, `label("")`},
		{&MapHandle{}, `bpf_map("", "")`},
		{&GlobalHandle{}, `("")`},
		{&FuncHandle{}, `function("")`},
		{&ProgHandle{}, `section("", "")`},
		{Register(0), "r0"},
	} {
		if got := tc.v.String(); got != tc.text {
			t.Errorf("%T{}.String() = %q, want %q", tc.v, got, tc.text)
		}
		if _, err := tc.v.Hash(); err != nil {
			t.Errorf("%T{}.Hash(): %v", tc.v, err)
		}
		if a, ok := tc.v.(starlark.HasAttrs); ok {
			for _, name := range a.AttrNames() {
				if _, err := a.Attr(name); err != nil {
					t.Errorf("%T{}.%s: %v", tc.v, name, err)
				}
			}
		}
	}
	if eq, err := starlark.Equal(&Insn{}, &Insn{}); err != nil || !eq {
		t.Errorf("Insn{} == Insn{}: %v %v", eq, err)
	}
}
