package starlib

import (
	"strings"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/isa"
)

// unpackArgs is starlark.UnpackArgs for the instruction builtins, which a
// large program calls a million times. starlark.UnpackArgs calls Unpack
// through an interface, which moves every argument variable (and every
// choice) of every call to the heap. Here the common case, positional
// arguments only, is unpacked through concrete types, so the variables
// stay on the stack; anything else (keywords, a wrong argument, a missing
// one) goes through starlark.UnpackArgs, so that results and error messages
// are exactly those of starlark.UnpackArgs.
func unpackArgs(fn string, args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) error {
	if len(kwargs) == 0 && unpackPositional(args, pairs) {
		return nil
	}
	return unpackSlow(fn, args, kwargs, pairs)
}

// unpackPositional unpacks args into pairs and reports whether it could:
// every required parameter given, none too many, each of a kind it knows
// and valid.
func unpackPositional(args starlark.Tuple, pairs []any) bool {
	n := len(pairs) / 2
	if len(args) > n {
		return false
	}
	if len(args) < n && !strings.HasSuffix(pairs[2*len(args)].(string), "?") {
		return false // a required parameter is missing (optional ones come last)
	}
	for i, v := range args {
		if !unpackOne(v, pairs[2*i+1]) {
			return false
		}
	}
	return true
}

func unpackOne(v starlark.Value, ptr any) bool {
	switch p := ptr.(type) {
	case *regArg:
		return p.Unpack(v) == nil
	case *intArg:
		return p.Unpack(v) == nil
	case *targetArg:
		return p.Unpack(v) == nil
	case *choice[aluOp]:
		return p.Unpack(v) == nil
	case *choice[isa.Size]:
		return p.Unpack(v) == nil
	case *choice[isa.JumpOp]:
		return p.Unpack(v) == nil
	case *choice[isa.AtomicOp]:
		return p.Unpack(v) == nil
	case *int:
		i, ok := v.(starlark.Int)
		if !ok {
			return false
		}
		x, ok := i.Int64()
		if !ok || int64(int(x)) != x {
			return false
		}
		*p = int(x)
		return true
	case *bool:
		b, ok := v.(starlark.Bool)
		if ok {
			*p = bool(b)
		}
		return ok
	case *string:
		str, ok := v.(starlark.String)
		if ok {
			*p = string(str)
		}
		return ok
	case *starlark.Value:
		*p = v
		return true
	}
	return false
}

// unpackSlow runs starlark.UnpackArgs on copies of the variables (so that
// they, not the caller's, go to the heap) and copies the results back.
func unpackSlow(fn string, args starlark.Tuple, kwargs []starlark.Tuple, pairs []any) error {
	tmp := make([]any, len(pairs))
	for i := 0; i < len(pairs); i += 2 {
		tmp[i] = strings.Clone(pairs[i].(string))
		tmp[i+1] = copyOf(pairs[i+1])
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, tmp...); err != nil {
		return err
	}
	for i := 1; i < len(pairs); i += 2 {
		copyBack(pairs[i], tmp[i])
	}
	return nil
}

func copyOf(ptr any) any {
	switch p := ptr.(type) {
	case *regArg:
		q := *p
		return &q
	case *intArg:
		q := *p
		return &q
	case *targetArg:
		q := *p
		return &q
	case *choice[aluOp]:
		q := *p
		return &q
	case *choice[isa.Size]:
		q := *p
		return &q
	case *choice[isa.JumpOp]:
		q := *p
		return &q
	case *choice[isa.AtomicOp]:
		q := *p
		return &q
	case *int:
		q := *p
		return &q
	case *bool:
		q := *p
		return &q
	case *string:
		q := *p
		return &q
	case *starlark.Value:
		q := *p
		return &q
	}
	panic("unpackArgs: unsupported parameter type")
}

func copyBack(dst, src any) {
	switch p := dst.(type) {
	case *regArg:
		*p = *src.(*regArg)
	case *intArg:
		*p = *src.(*intArg)
	case *targetArg:
		*p = *src.(*targetArg)
	case *choice[aluOp]:
		*p = *src.(*choice[aluOp])
	case *choice[isa.Size]:
		*p = *src.(*choice[isa.Size])
	case *choice[isa.JumpOp]:
		*p = *src.(*choice[isa.JumpOp])
	case *choice[isa.AtomicOp]:
		*p = *src.(*choice[isa.AtomicOp])
	case *int:
		*p = *src.(*int)
	case *bool:
		*p = *src.(*bool)
	case *string:
		*p = *src.(*string)
	case *starlark.Value:
		*p = *src.(*starlark.Value)
	}
}
