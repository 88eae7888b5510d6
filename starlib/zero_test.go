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

// The zero BTFTypes is a file without types: its lookups, and the kfunc
// and ksym builtins given it, answer errors, not panics.
func TestZeroBTFTypes(t *testing.T) {
	z := &BTFTypes{}
	if got := z.String(); got != `btf_types("")` {
		t.Errorf("String() = %q", got)
	}
	for _, name := range z.AttrNames() {
		if _, err := z.Attr(name); err != nil {
			t.Errorf(".%s: %v", name, err)
		}
	}
	thread := new(starlark.Thread)
	typ, _ := z.Attr("type")
	if _, err := starlark.Call(thread, typ, starlark.Tuple{starlark.String("task_struct")}, nil); err == nil {
		t.Error(".type(task_struct): no error")
	}
	hasType, _ := z.Attr("has_type")
	if v, err := starlark.Call(thread, hasType, starlark.Tuple{starlark.String("task_struct")}, nil); err != nil || v != starlark.False {
		t.Errorf(".has_type(task_struct) = %v, %v", v, err)
	}
	b := starlark.NewBuiltin("insn.call_kfunc", nil)
	if _, err := kfuncProto(b, "bpf_task_from_pid", z); err == nil {
		t.Error("kfuncProto: no error")
	}
	b = starlark.NewBuiltin("insn.ld_ksym", nil)
	if _, _, _, err := ldKsym(b, starlark.Tuple{Register(1), starlark.String("bpf_prog_active"), z}, nil); err == nil {
		t.Error("ldKsym: no error")
	}
}
