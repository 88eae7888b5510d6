package starlib

import (
	"fmt"
	"testing"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/isa"
)

// unpackArgs gives the results and errors of starlark.UnpackArgs.
func TestUnpackArgsMatchesStarlark(t *testing.T) {
	type vars struct {
		size  *choice[isa.Size]
		op    *choice[aluOp]
		dst   regArg
		off   intArg
		t     targetArg
		bits  int
		fetch bool
		v     starlark.Value
	}
	unpack := func(f func(string, starlark.Tuple, []starlark.Tuple, ...any) error, args starlark.Tuple, kwargs []starlark.Tuple) string {
		var x vars
		size := sizeArg()
		x.size, x.op = &size, &choice[aluOp]{what: "operation", names: aluOps}
		err := f("f", args, kwargs, "size", x.size, "op", x.op, "dst", &x.dst, "off", &x.off, "target", &x.t, "bits", &x.bits, "fetch?", &x.fetch, "v?", &x.v)
		if err != nil {
			return err.Error() // the variables are not used after an error
		}
		return fmt.Sprintf("%v %v %v %v %v %v %v %v", x.size.v, x.op.v, x.dst, x.off, x.t, x.bits, x.fetch, x.v)
	}
	good := starlark.Tuple{starlark.String("dw"), starlark.String("sdiv"), Register(3), starlark.MakeInt(-8), starlark.String("l"), starlark.MakeInt(16)}
	kw := func(k string, v starlark.Value) starlark.Tuple { return starlark.Tuple{starlark.String(k), v} }
	for i, tc := range []struct {
		args   starlark.Tuple
		kwargs []starlark.Tuple
	}{
		{good, nil},
		{append(good[:6:6], starlark.True), nil},
		{append(good[:6:6], starlark.True, starlark.None), nil},
		{append(good[:6:6], starlark.True, starlark.None, starlark.None), nil},
		{append(good[:6:6], starlark.MakeInt(1)), nil},
		{good[:5], nil},
		{good[:5], []starlark.Tuple{kw("bits", starlark.MakeInt(8))}},
		{good, []starlark.Tuple{kw("fetch", starlark.True)}},
		{good, []starlark.Tuple{kw("dst", Register(1))}},
		{good, []starlark.Tuple{kw("fech", starlark.True)}},
		{starlark.Tuple{starlark.String("x"), starlark.String("add"), Register(1), starlark.MakeInt(0), starlark.MakeInt(3), starlark.MakeInt(8)}, nil},
		{starlark.Tuple{starlark.String("w"), starlark.String("add"), starlark.MakeInt(11), starlark.MakeInt(0), starlark.MakeInt(3), starlark.MakeInt(8)}, nil},
		{starlark.Tuple{starlark.String("w"), starlark.String("add"), starlark.MakeInt(10), starlark.MakeInt(0), starlark.MakeInt(1 << 40), starlark.MakeInt(8)}, nil},
		{starlark.Tuple{starlark.String("w"), starlark.String("add"), starlark.MakeInt(10), starlark.MakeInt(0), starlark.MakeInt(3), starlark.String("8")}, nil},
		{nil, nil},
	} {
		got := unpack(unpackArgs, tc.args, tc.kwargs)
		want := unpack(starlark.UnpackArgs, tc.args, tc.kwargs)
		if got != want {
			t.Errorf("case %d: unpackArgs gives\n%s\nstarlark.UnpackArgs gives\n%s", i, got, want)
		}
	}
}

// The instruction builtins allocate nothing but the instruction (and
// Starlark's copy of the arguments).
func TestBuiltinAllocs(t *testing.T) {
	thread := &starlark.Thread{}
	b := newInsnModule(new(insnAlloc)).Members["stx_mem"].(*starlark.Builtin)
	args := starlark.Tuple{starlark.String("dw"), Register(10), Register(1), starlark.MakeInt(-16)}
	var caller starlark.Value = starlark.NewBuiltin("caller", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		n := testing.AllocsPerRun(100, func() {
			if _, err := starlark.Call(thread, b, args, nil); err != nil {
				t.Fatal(err)
			}
		})
		if n > 1 {
			t.Errorf("insn.stx_mem allocates %v times per call, want 1", n)
		}
		return starlark.None, nil
	})
	if _, err := starlark.Call(thread, caller, nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestIsIdent(t *testing.T) {
	for _, s := range []string{"", "a", "_", "A9", "9a", "a.b", ".a", "a-b", "L12", "x y", "é", "a\n", "_._"} {
		if got, want := isIdent(s), identRE.MatchString(s); got != want {
			t.Errorf("isIdent(%q) = %v, identRE says %v", s, got, want)
		}
	}
}
