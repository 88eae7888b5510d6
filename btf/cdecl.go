package btf

import (
	"fmt"
	"strings"
)

// typeName returns t as C names it in a declaration: "unsigned int",
// "struct foo", "char[16]", "struct foo *".
func typeName(t Type) string { return newPrinter().cDecl(t, "", "", 0) }

// printer writes C, at most maxMembers members in all: a graph that
// shares an anonymous type many times would otherwise print as many
// copies of it.
type printer struct{ members int }

const maxMembers = 10000

func newPrinter() *printer { return &printer{members: maxMembers} }

// cDecl returns the C declaration of inner (a declarator: a name, "*x",
// "x[4]") of type t; anonymous structs, unions and enums are written out
// with their members indented by indent.
func (p *printer) cDecl(t Type, inner, indent string, depth int) string {
	if depth > maxDepth {
		return "..."
	}
	with := func(base string) string {
		if inner == "" {
			return base
		}
		if inner[0] == '[' {
			return base + inner
		}
		return base + " " + inner
	}
	switch t := t.(type) {
	case nil:
		return with("void")
	case *Int:
		return with(t.Name)
	case *Ptr:
		in := "*" + inner
		switch t.Target.(type) {
		case *Array, *FuncProto:
			in = "(" + in + ")"
		}
		return p.cDecl(t.Target, in, indent, depth+1)
	case *Array:
		return p.cDecl(t.Elem, fmt.Sprintf("%s[%d]", inner, t.N), indent, depth+1)
	case *Struct:
		if t.Name != "" {
			return with("struct " + t.Name)
		}
		return with(p.body("struct", t.Members, indent, depth))
	case *Union:
		if t.Name != "" {
			return with("union " + t.Name)
		}
		return with(p.body("union", t.Members, indent, depth))
	case *Enum:
		if t.Name != "" {
			return with("enum " + t.Name)
		}
		return with(enumBody(t, indent))
	case *Typedef:
		return with(t.Name)
	case *Const:
		if _, ok := t.Target.(*Ptr); ok {
			return p.cDecl(t.Target, "const "+inner, indent, depth+1)
		}
		return "const " + p.cDecl(t.Target, inner, indent, depth+1)
	case *Volatile:
		if _, ok := t.Target.(*Ptr); ok {
			return p.cDecl(t.Target, "volatile "+inner, indent, depth+1)
		}
		return "volatile " + p.cDecl(t.Target, inner, indent, depth+1)
	case *TypeTag:
		return p.cDecl(t.Target, strings.TrimSpace(fmt.Sprintf("__attribute__((btf_type_tag(%q))) %s", t.Value, inner)), indent, depth+1)
	case *Fwd:
		if t.Union {
			return with("union " + t.Name)
		}
		return with("struct " + t.Name)
	case *FuncProto:
		params := make([]string, len(t.Params))
		for i, pt := range t.Params {
			params[i] = p.cDecl(pt, "", indent, depth+1)
		}
		if len(params) == 0 {
			params = []string{"void"}
		}
		return p.cDecl(t.Return, inner+"("+strings.Join(params, ", ")+")", indent, depth+1)
	}
	return with(fmt.Sprintf("%T", t))
}

// body writes out a struct or union: "struct name {\n\tint a;\n}".
func (p *printer) body(kw string, members []Field, indent string, depth int) string {
	var b strings.Builder
	b.WriteString(kw + " {\n")
	for _, m := range members {
		b.WriteString(indent + "\t")
		if p.members--; p.members < 0 {
			b.WriteString("...\n")
			break
		}
		b.WriteString(p.cDecl(m.Type, m.Name, indent+"\t", depth+1))
		if m.Bits != 0 {
			fmt.Fprintf(&b, " : %d", m.Bits)
		}
		b.WriteString(";\n")
	}
	b.WriteString(indent + "}")
	return b.String()
}

func enumBody(t *Enum, indent string) string {
	var b strings.Builder
	b.WriteString("enum {\n")
	for _, v := range t.Values {
		val := fmt.Sprint(v.Value)
		if t.Signed {
			val = fmt.Sprint(int64(v.Value))
		}
		fmt.Fprintf(&b, "%s\t%s = %s,\n", indent, v.Name, val)
	}
	b.WriteString(indent + "}")
	return b.String()
}

func (t *Int) String() string       { return typeName(t) }
func (t *Ptr) String() string       { return typeName(t) }
func (t *Array) String() string     { return typeName(t) }
func (t *Typedef) String() string   { return typeName(t) }
func (t *Const) String() string     { return typeName(t) }
func (t *Volatile) String() string  { return typeName(t) }
func (t *TypeTag) String() string   { return typeName(t) }
func (t *Fwd) String() string       { return typeName(t) }
func (t *FuncProto) String() string { return typeName(t) }

// String returns the struct's definition: struct name { ... }.
func (t *Struct) String() string {
	if t.Name == "" {
		return typeName(t)
	}
	return strings.Replace(newPrinter().body("struct", t.Members, "", 0), "struct", "struct "+t.Name, 1)
}

// String returns the union's definition: union name { ... }.
func (t *Union) String() string {
	if t.Name == "" {
		return typeName(t)
	}
	return strings.Replace(newPrinter().body("union", t.Members, "", 0), "union", "union "+t.Name, 1)
}

// String returns the enum's definition: enum name { ... }.
func (t *Enum) String() string {
	if t.Name == "" {
		return typeName(t)
	}
	return strings.Replace(enumBody(t, ""), "enum", "enum "+t.Name, 1)
}
