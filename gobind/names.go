package gobind

import (
	"fmt"
	"go/token"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// globalTypes returns the types of the maps' keys and values and of the
// globals that get a Go declaration: in the order of maps (key, then
// value) and then globals, each the first of its name, leaving out those
// Go cannot express. The order makes the choice between two types of one
// name (a typedef and its struct, say) depend on the object alone.
func globalTypes(spec *ebpf.CollectionSpec, maps, vars []string) []btf.Type {
	var types []btf.Type
	seen := map[string]bool{}
	add := func(t btf.Type) {
		t = declared(t)
		if t == nil || seen[t.TypeName()] {
			return
		}
		seen[t.TypeName()] = true
		var gf btf.GoFormatter
		if _, err := gf.TypeDeclaration("T", t); err != nil {
			return // a pointer, a function, ...: no Go type
		}
		types = append(types, t)
	}
	for _, name := range maps {
		m := spec.Maps[name]
		if m.Key != nil && m.Key.TypeName() != "" {
			add(m.Key)
		}
		if m.Value != nil && m.Value.TypeName() != "" {
			add(m.Value)
		}
	}
	for _, name := range vars {
		if v := spec.Variables[name]; v.Type != nil {
			add(v.Type.Type)
		}
	}
	slices.SortFunc(types, func(a, b btf.Type) int { return strings.Compare(a.TypeName(), b.TypeName()) }) // names are distinct
	return types
}

// typeNameRE is what a name given to Options.Types may be: bpf2go's
// -type takes these characters only.
var typeNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// namedTypes returns types (sorted by their distinct names) with the types
// of the object's BTF that names names added, as bpf2go's -type adds them,
// in name order; a type already in types is not added twice.
func namedTypes(spec *ebpf.CollectionSpec, types []btf.Type, names []string) ([]btf.Type, error) {
	if len(names) == 0 {
		return types, nil
	}
	have := map[string]bool{}
	for _, t := range types {
		have[t.TypeName()] = true
	}
	asked := map[string]bool{}
	for _, name := range names {
		if !typeNameRE.MatchString(name) {
			return nil, fmt.Errorf("type %q: a type's name is letters, digits and _ (struct syn_event is syn_event)", name)
		}
		if asked[name] {
			return nil, fmt.Errorf("type %q is named twice", name)
		}
		asked[name] = true
		var found []btf.Type
		if spec.Types != nil {
			found, _ = spec.Types.AnyTypesByName(name)
		}
		switch {
		case len(found) == 0:
			return nil, fmt.Errorf("the object's BTF has no type %q: only the types the object uses reach it (maps', globals', programs' contexts, and what export_type names); for a struct that only a program's code uses, write export_type(TYPE) in the program (the standard library's ring buffer and perf event functions do it for their events)", name)
		case len(found) > 1:
			return nil, fmt.Errorf("the object's BTF has %d types named %q (%v): a type to declare must be the only one of its name", len(found), name, found)
		}
		t := found[0]
		switch t.(type) {
		case *btf.Func:
			return nil, fmt.Errorf("%q is a function in the object's BTF (a program's), not a type", name)
		case *btf.Var:
			return nil, fmt.Errorf("%q is a global variable in the object's BTF, not a type", name)
		}
		if have[name] {
			continue // a map's or a global's, declared already
		}
		var gf btf.GoFormatter
		if _, err := gf.TypeDeclaration("T", t); err != nil {
			return nil, fmt.Errorf("type %q has no Go declaration: %v", name, err)
		}
		have[name] = true
		types = append(types, t)
	}
	slices.SortFunc(types, func(a, b btf.Type) int { return strings.Compare(a.TypeName(), b.TypeName()) })
	return types, nil
}

// declared returns the type of t that gets a Go declaration, or nil: a
// struct, union or enum (or a typedef of one), with its qualifiers
// stripped, or that of an array's elements; it must have a name.
func declared(t btf.Type) btf.Type {
	for range 64 {
		switch u := btf.UnderlyingType(t).(type) {
		case *btf.Struct, *btf.Union, *btf.Enum:
			t = btf.QualifiedType(t)
			if t.TypeName() == "" {
				return nil
			}
			return t
		case *btf.Array:
			t = u.Type
		default:
			return nil
		}
	}
	return nil
}

// goName returns the Go name of the C name of a kind of thing, or an error
// if it has none.
func goName(kind, name string) (string, error) {
	id := Identifier(name)
	if !token.IsIdentifier(id) || !token.IsExported(id) {
		return "", fmt.Errorf("%s %q has no Go name: it maps to %q, not an exported Go identifier (see Identifier, or 'bpfstar help gen', for how C names become Go names): rename it", kind, name, id)
	}
	return id, nil
}

// The Go names of the bindings are checked before the generator writes
// them: each must be an exported Go identifier, and distinct where Go
// needs it (fields of one struct, the package's top-level names).

// checkObjects checks the Go names of programs, maps or globals: the
// fields of one struct, whose methods are reserved.
func checkObjects(kind string, names []string, reserved ...string) error {
	byID := map[string]string{}
	for _, name := range names {
		id, err := goName(kind, name)
		if err != nil {
			return err
		}
		if prev, ok := byID[id]; ok {
			return fmt.Errorf("%ss %q and %q both have the Go name %s: rename one", kind, prev, name, id)
		}
		if slices.Contains(reserved, id) {
			return fmt.Errorf("%s %q has the Go name %s, which is the generated struct's method %s: rename it", kind, name, id, id)
		}
		byID[id] = name
	}
	return nil
}

// checkTopLevel checks that the package-level names of the bindings are
// distinct: the generator's own (loadSTEM, STEMObjects, ...), the name
// constants (STEMMapCOUNTS, ...), the types and their enum constants,
// and the imported packages; and it checks the fields of every type.
func checkTopLevel(stem string, maps, progs, vars []string, types []btf.Type) error {
	seen := map[string]string{}
	fixed := map[string]bool{} // the generator's own names, which no C name can change
	add := func(id, what string) error {
		switch prev, ok := seen[id]; {
		case ok && fixed[id]:
			return fmt.Errorf("%s has the Go name %s, which is %s: rename it", what, id, prev)
		case ok:
			return fmt.Errorf("%s and %s both have the Go name %s: rename one", prev, what, id)
		}
		seen[id] = what
		return nil
	}
	for _, pkg := range []string{"bytes", "fmt", "io", "structs", "ebpf"} {
		add(pkg, "the imported package "+pkg)
		fixed[pkg] = true
	}
	exp := func(s string) string { // as the generator exports load... with an exported stem
		if token.IsExported(stem) {
			return upperFirst(s)
		}
		return s
	}
	for _, id := range []string{
		stem + "Specs", stem + "ProgramSpecs", stem + "MapSpecs", stem + "VariableSpecs",
		stem + "Objects", stem + "Maps", stem + "Variables", stem + "Programs",
		exp("load" + upperFirst(stem)), exp("load" + upperFirst(stem) + "Objects"),
		"_" + upperFirst(stem) + "Bytes", "_" + upperFirst(stem) + "Close",
	} {
		if err := add(id, "a name the bindings declare"); err != nil {
			return err
		}
		fixed[id] = true
	}
	for _, c := range []struct {
		kind, infix string
		names       []string
	}{{"map", "Map", maps}, {"program", "Prog", progs}, {"global", "Var", vars}} {
		for _, name := range c.names {
			if err := add(stem+c.infix+Identifier(name), fmt.Sprintf("the name constant of %s %q", c.kind, name)); err != nil {
				return err
			}
		}
	}
	named := map[btf.Type]bool{}
	for _, t := range types {
		named[t] = true
	}
	for _, t := range types {
		goType := stem + Identifier(t.TypeName())
		if err := add(goType, cType(t)); err != nil {
			return err
		}
		if e, ok := btf.UnderlyingType(t).(*btf.Enum); ok {
			for _, v := range e.Values {
				if err := add(goType+Identifier(v.Name), fmt.Sprintf("the constant of %s of %s", v.Name, cType(t))); err != nil {
					return err
				}
			}
		}
		if err := fields(t, t, named, true, 0); err != nil {
			return err
		}
	}
	return nil
}

// fields checks the Go field names of the struct the generator writes for
// t (and for the anonymous types within it), as it writes them: a struct's
// members but bitfields, and a union's first member; an anonymous union
// member stands for its first member.
func fields(top, t btf.Type, named map[btf.Type]bool, isTop bool, depth int) error {
	if depth > 64 {
		return fmt.Errorf("%s is nested too deep", cType(top))
	}
	t = btf.QualifiedType(t)
	if !isTop && named[t] {
		return nil // written by its name, checked on its own
	}
	var members []btf.Member
	switch u := t.(type) {
	case *btf.Typedef:
		return fields(top, u.Type, named, false, depth+1)
	case *btf.Array:
		return fields(top, u.Type, named, false, depth+1)
	case *btf.Struct:
		members = u.Members
	case *btf.Union:
		members = u.Members[:min(1, len(u.Members))]
	default:
		return nil
	}
	byID := map[string]string{}
	for _, m := range members {
		if m.BitfieldSize > 0 {
			continue
		}
		for m.Name == "" {
			u, ok := m.Type.(*btf.Union)
			if !ok || len(u.Members) == 0 {
				break
			}
			m = u.Members[0]
		}
		if m.Name == "" {
			continue // the generator says what it cannot write
		}
		id, err := goName("member of "+cType(top), m.Name)
		if err != nil {
			return err
		}
		if prev, ok := byID[id]; ok {
			return fmt.Errorf("members %q and %q of %s both have the Go name %s: rename one", prev, m.Name, cType(top), id)
		}
		byID[id] = m.Name
		if err := fields(top, m.Type, named, false, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// cType names a type as C does: struct flow_key, enum color, ...
func cType(t btf.Type) string {
	switch t.(type) {
	case *btf.Struct:
		return "struct " + t.TypeName()
	case *btf.Union:
		return "union " + t.TypeName()
	case *btf.Enum:
		return "enum " + t.TypeName()
	case *btf.Typedef:
		return "typedef " + t.TypeName()
	}
	return fmt.Sprint(t)
}
