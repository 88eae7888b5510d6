package starlib

import (
	"slices"
	"strings"

	"go.starlark.net/starlark"
)

// zeroKeyTypes are the map types without keys (their key_size must be 0),
// and zeroValueTypes those without values: bpf_map() lets them leave
// key_size and value_size out, which means 0. Every other type needs the
// argument (checkMap's rules want a size greater than 0, or a fixed one).
var (
	zeroKeyTypes   = []string{"ringbuf", "user_ringbuf", "arena", "queue", "stack", "bloom_filter"}
	zeroValueTypes = []string{"ringbuf", "user_ringbuf", "arena"}
)

// optSize is an intArg argument that may be left out.
type optSize struct {
	intArg
	set bool
}

func (a *optSize) Unpack(v starlark.Value) error {
	a.set = true
	return a.intArg.Unpack(v)
}

// checkSizes reports the first of bpf_map's key_size, value_size and
// max_entries that is missing and that the map type needs. (The ones a
// type may leave out are 0, as in a zero optSize.)
func checkSizes(b *starlark.Builtin, name, typ string, key, value, max optSize) error {
	for _, a := range []struct {
		name  string
		set   bool
		types []string
	}{{"key_size", key.set, zeroKeyTypes}, {"value_size", value.set, zeroValueTypes}} {
		if !a.set && !slices.Contains(a.types, typ) {
			last := len(a.types) - 1
			return errorf(b, "map %q: missing argument for %s (only %s and %s maps may leave it out: theirs is 0)", name, a.name, strings.Join(a.types[:last], ", "), a.types[last])
		}
	}
	if !max.set {
		if key.set && !value.set {
			// bpf_map("events", "ringbuf", 4096): the 4096 is key_size.
			return errorf(b, "map %q: missing argument for max_entries (the third and later positional arguments are key_size, value_size, max_entries: where the sizes are left out, give max_entries = N by name)", name)
		}
		return errorf(b, "map %q: missing argument for max_entries", name)
	}
	return nil
}
