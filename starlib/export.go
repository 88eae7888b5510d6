package starlib

import (
	"go.starlark.net/starlark"
)

// exportType is export_type(t): it puts the named struct, union, enum or
// typedef t into the object's BTF although no map, global or program uses
// it, and returns t. User space finds a type there by its name: the Go
// bindings of `bpfstar gen go --type NAME` (bpf2go's -type), bpftool btf
// dump. A ring buffer's or perf event array's records are the usual case:
// the maps have no value type, so their event struct would otherwise be
// nowhere in the object (C programs keep one with an unused global
// pointer to it). Exporting a type twice exports it once.
func (u *unit) exportType(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var t *CType
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "t", &t); err != nil {
		return nil, err
	}
	switch typeKind(t.BTF()) {
	case "struct", "union", "enum", "typedef":
	default:
		return nil, errorf(b, "%s is not a struct, union, enum or typedef: only those are found by name", t)
	}
	if typeName(t.BTF()) == "" {
		return nil, errorf(b, "an anonymous %s has no name, by which user space would find it", typeKind(t.BTF()))
	}
	for _, e := range u.Exported {
		if e == t.BTF() {
			return t, nil
		}
	}
	u.Exported = append(u.Exported, t.BTF())
	return t, nil
}
