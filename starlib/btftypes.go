package starlib

import (
	"fmt"
	"slices"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/btffile"
)

// BTFTypes is the value of btf_types(label): the types of a raw BTF file
// of the workspace (a kernel's vmlinux, or a smaller one), which
// .type(name) returns as ctype values usable wherever types' values are.
// The file is an input of the build, as a loaded file is.
type BTFTypes struct {
	name string
	f    *btffile.File
}

var _ starlark.HasAttrs = (*BTFTypes)(nil)

func (v *BTFTypes) String() string        { return fmt.Sprintf("btf_types(%q)", v.name) }
func (v *BTFTypes) Type() string          { return "btf_types" }
func (v *BTFTypes) Freeze()               {}
func (v *BTFTypes) Truth() starlark.Bool  { return true }
func (v *BTFTypes) Hash() (uint32, error) { return starlark.String(v.name).Hash() }
func (v *BTFTypes) AttrNames() []string   { return []string{"has_type", "name", "type"} }

// Attr exposes .name, .type(name) and .has_type(name).
func (v *BTFTypes) Attr(name string) (starlark.Value, error) {
	switch name {
	case "name":
		return starlark.String(v.name), nil
	case "type":
		return starlark.NewBuiltin("type", v.typ), nil
	case "has_type":
		return starlark.NewBuiltin("has_type", v.hasType), nil
	}
	return nil, nil
}

// file is the parsed file; the zero BTFTypes has an empty one.
func (v *BTFTypes) file() *btffile.File {
	if v.f == nil {
		return &btffile.File{}
	}
	return v.f
}

func (v *BTFTypes) typ(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	t, err := v.file().Type(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %v", b.Name(), v.name, err)
	}
	if err := btf.Check(t); err != nil {
		return nil, fmt.Errorf("%s: %s: type %q: %v", b.Name(), v.name, name, err)
	}
	return &CType{t}, nil
}

func (v *BTFTypes) hasType(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	_, err := v.file().Type(name)
	return starlark.Bool(err == nil), nil
}

// btfTypes is btf_types(label): it reads the file through
// Options.ReadFile, once per name.
func (u *unit) btfTypes(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var label string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "label", &label); err != nil {
		return nil, err
	}
	if u.readFile == nil {
		return nil, errorf(b, "no files can be read in this build")
	}
	name, data, err := u.readFile(thread.CallFrame(1).Pos.Filename(), label)
	if err != nil {
		return nil, errorf(b, "%v", err)
	}
	if v, ok := u.btfFiles[name]; ok {
		return v, nil
	}
	f, err := btffile.Parse(data)
	if err != nil {
		return nil, errorf(b, "%s: %v", name, err)
	}
	v := &BTFTypes{name: name, f: f}
	if u.btfFiles == nil {
		u.btfFiles = map[string]*BTFTypes{}
	}
	u.btfFiles[name] = v
	u.DataFiles = append(u.DataFiles, DataFile{Name: name, Data: data})
	return v, nil
}

// deref returns the definition of the struct or union a pointer's target
// names: a struct itself, or the forward declaration a btf_types file's
// pointer member points at, looked up in the file that made it.
func (u *unit) deref(t btf.Type) (btf.Type, error) {
	fwd, ok := btf.Resolve(t).(*btf.Fwd)
	if !ok {
		return t, nil
	}
	names := make([]string, 0, len(u.btfFiles))
	for n := range u.btfFiles {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		def, ok, err := u.btfFiles[n].file().Deref(fwd)
		if ok {
			return def, err
		}
	}
	return nil, fmt.Errorf("%s is only declared here (a forward declaration): give its definition", typeString(fwd))
}
