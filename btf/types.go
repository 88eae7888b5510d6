package btf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Type is a C type as Go values: a graph of *Int, *Ptr, *Array, *Struct,
// *Union, *Enum, *Typedef, *Const, *Volatile, *TypeTag and *Fwd. A nil
// Type is void. Sizes and alignments are those C gives the type on BPF
// (clang -target bpf: pointers and 64-bit integers are 8 bytes and
// 8-aligned, structs are laid out as the System V ABI lays them out).
//
// An Encoder adds a graph to a Builder. Check reports what the kernel or
// C would refuse in a graph (a bitfield wider than its type, two members
// of one name, a type larger than 4 GiB, ...); the methods never panic,
// also on a graph that Check refuses.
type Type interface {
	// Size returns the type's size in bytes (0 for void, a Fwd, or a type
	// larger than 4 GiB, which Check refuses).
	Size() uint32
	// Align returns the type's alignment in bytes (1 for void and Fwd).
	Align() uint32
	// String returns the type as C: its name ("unsigned int",
	// "struct foo", "__u32 *", "char [16]"), or, for a named struct,
	// union or enum, its definition.
	String() string
	isType()
}

// Int is an integer type of Bytes bytes (1, 2, 4, 8 or 16).
type Int struct {
	Name     string
	Bytes    uint32
	Encoding IntEncoding
}

// Ptr is a pointer to Target (nil: void *).
type Ptr struct{ Target Type }

// Array is an array of N elements of type Elem.
type Array struct {
	Elem Type
	N    uint32
}

// Field is a member of a Struct or Union: Name ("" for an anonymous
// struct or union member), its Type and, for a bitfield, its width Bits
// (0 for an ordinary member).
type Field struct {
	Name string
	Type Type
	Bits uint32
}

// Struct is a struct ("" Name for an anonymous one), its members laid out
// in order as C lays them out, or, with a Layout, where the Layout says.
type Struct struct {
	Name    string
	Members []Field
	Layout  *Layout
}

// Union is a union: every member at offset 0 (or where its Layout says).
type Union struct {
	Name    string
	Members []Field
	Layout  *Layout
}

// Layout places the members of a struct or union explicitly instead of as
// C would: a type read from a BTF file (a kernel's task_struct, laid out
// with attributes and padding no rule here reproduces), or a copy of one
// that keeps some members only, each where it was. Bytes is the type's
// size and BitOffsets holds one offset in bits per member, in increasing
// order. The type's alignment is still its members' largest.
type Layout struct {
	Bytes      uint32
	BitOffsets []uint64
}

// Enum is an enum of Bytes bytes (1, 2, 4 or 8; C's are 4) with its
// enumerators. Values that do not fit in 32 bits make it an ENUM64.
type Enum struct {
	Name   string
	Bytes  uint32
	Signed bool
	Values []Enum64Value
}

// Typedef gives Target another name.
type Typedef struct {
	Name   string
	Target Type
}

// Const is Target qualified const.
type Const struct{ Target Type }

// Volatile is Target qualified volatile.
type Volatile struct{ Target Type }

// TypeTag is Target with a btf_type_tag: "kptr", "kptr_untrusted",
// "percpu_kptr", "rcu", "user", ... The kernel reads tags on a pointer's
// target (a PTR to a TYPE_TAG), as in struct foo __kptr *p.
type TypeTag struct {
	Value  string
	Target Type
}

// Fwd is a forward declaration of a struct (or, Union, a union) that this
// graph does not define: struct task_struct.
type Fwd struct {
	Name  string
	Union bool
}

// FuncProto is a function's type: its Return type (nil: void) and the
// types of its unnamed parameters. It has no size: it is only the target
// of a pointer (a function pointer member, as in struct_ops structs).
type FuncProto struct {
	Return Type
	Params []Type
}

func (*FuncProto) isType() {}
func (*Int) isType()       {}
func (*Ptr) isType()       {}
func (*Array) isType()     {}
func (*Struct) isType()    {}
func (*Union) isType()     {}
func (*Enum) isType()      {}
func (*Typedef) isType()   {}
func (*Const) isType()     {}
func (*Volatile) isType()  {}
func (*TypeTag) isType()   {}
func (*Fwd) isType()       {}

// maxDepth bounds the recursion through a graph: a deeper one (or a
// cycle) has no layout.
const maxDepth = 256

// sizeAlign is a type's layout: its size in bytes, which may exceed what
// BTF holds, and its alignment.
type sizeAlign struct {
	size  uint64
	align uint32
}

// layouter lays out types, each struct, union and array once: a graph
// that shares a type many times is laid out in time proportional to its
// distinct types, and a cycle (which only Go code can make) ends with a
// size of 0.
type layouter map[Type]sizeAlign

// layout returns the size and alignment of t.
func (l layouter) layout(t Type, depth int) (uint64, uint32) {
	if depth > maxDepth {
		return 0, 1
	}
	switch t := t.(type) {
	case *Int:
		return uint64(t.Bytes), max(t.Bytes, 1)
	case *Enum:
		return uint64(t.Bytes), max(t.Bytes, 1)
	case *Ptr:
		return 8, 8
	case *Typedef:
		return l.layout(t.Target, depth+1)
	case *Const:
		return l.layout(t.Target, depth+1)
	case *Volatile:
		return l.layout(t.Target, depth+1)
	case *TypeTag:
		return l.layout(t.Target, depth+1)
	case *Array, *Struct, *Union:
		if sa, ok := l[t]; ok {
			return sa.size, sa.align
		}
		l[t] = sizeAlign{0, 1} // until known: what a cycle sees
		var sa sizeAlign
		switch t := t.(type) {
		case *Array:
			size, align := l.layout(t.Elem, depth+1)
			sa = sizeAlign{mulSat(size, uint64(t.N)), align}
		case *Struct:
			_, sa.size, sa.align = l.place(t.Members, false, depth)
			if t.Layout != nil {
				sa.size = uint64(t.Layout.Bytes)
			}
		case *Union:
			_, sa.size, sa.align = l.place(t.Members, true, depth)
			if t.Layout != nil {
				sa.size = uint64(t.Layout.Bytes)
			}
		}
		l[t] = sa
		return sa.size, sa.align
	}
	return 0, 1 // void, Fwd, nil pointers
}

// mulSat returns x*y, or the largest uint64 when that overflows.
func mulSat(x, y uint64) uint64 {
	if x != 0 && y > math.MaxUint64/x {
		return math.MaxUint64
	}
	return x * y
}

// place lays out members as C does on BPF and returns their offsets in
// bits, the size in bytes and the alignment. A bitfield goes at the next
// free bit unless it would then cross a boundary of its type's alignment
// unit; then it starts the next unit.
func (l layouter) place(members []Field, union bool, depth int) (offs []uint64, size uint64, align uint32) {
	offs = make([]uint64, len(members))
	align = 1
	var end uint64 // bits
	for i, m := range members {
		sz, al := l.layout(m.Type, depth+1)
		sz = min(sz, math.MaxUint64/16) // a size past any limit stays one
		align = max(align, al)
		var off uint64
		if !union {
			switch unit := 8 * uint64(al); {
			case m.Bits == 0:
				off = roundUp(end, unit)
			case end/unit != (end+uint64(m.Bits)-1)/unit:
				off = roundUp(end, unit)
			default:
				off = end
			}
		}
		offs[i] = off
		if m.Bits != 0 {
			end = max(end, off+uint64(m.Bits))
		} else {
			end = max(end, min(off+8*sz, math.MaxUint64/2))
		}
	}
	return offs, roundUp((end+7)/8, uint64(align)), align
}

// layout returns the size and alignment of t.
func layout(t Type) (uint64, uint32) { return layouter{}.layout(t, 0) }

func roundUp(x, to uint64) uint64 {
	if to == 0 {
		return x
	}
	return (x + to - 1) / to * to
}

func size32(t Type) uint32 {
	size, _ := layout(t)
	if size > math.MaxUint32 {
		return 0
	}
	return uint32(size)
}

func align(t Type) uint32 { _, a := layout(t); return a }

func (t *Int) Size() uint32       { return size32(t) }
func (t *Ptr) Size() uint32       { return 8 }
func (t *Array) Size() uint32     { return size32(t) }
func (t *Struct) Size() uint32    { return size32(t) }
func (t *Union) Size() uint32     { return size32(t) }
func (t *Enum) Size() uint32      { return size32(t) }
func (t *Typedef) Size() uint32   { return size32(t) }
func (t *Const) Size() uint32     { return size32(t) }
func (t *Volatile) Size() uint32  { return size32(t) }
func (t *TypeTag) Size() uint32   { return size32(t) }
func (t *Fwd) Size() uint32       { return 0 }
func (t *FuncProto) Size() uint32 { return 0 }

func (t *Int) Align() uint32       { return align(t) }
func (t *Ptr) Align() uint32       { return 8 }
func (t *Array) Align() uint32     { return align(t) }
func (t *Struct) Align() uint32    { return align(t) }
func (t *Union) Align() uint32     { return align(t) }
func (t *Enum) Align() uint32      { return align(t) }
func (t *Typedef) Align() uint32   { return align(t) }
func (t *Const) Align() uint32     { return align(t) }
func (t *Volatile) Align() uint32  { return align(t) }
func (t *TypeTag) Align() uint32   { return align(t) }
func (t *Fwd) Align() uint32       { return 1 }
func (t *FuncProto) Align() uint32 { return 1 }

// Offsets returns the members' offsets in bits from the start of the
// struct.
func (t *Struct) Offsets() []uint64 {
	if t.Layout != nil && len(t.Layout.BitOffsets) == len(t.Members) {
		return t.Layout.BitOffsets
	}
	offs, _, _ := layouter{}.place(t.Members, false, 0)
	return offs
}

// Offsets returns the members' offsets in bits: all 0 (or the Layout's).
func (t *Union) Offsets() []uint64 {
	if t.Layout != nil && len(t.Layout.BitOffsets) == len(t.Members) {
		return t.Layout.BitOffsets
	}
	return make([]uint64, len(t.Members))
}

// Members returns the members of a struct or union, looking through
// typedefs and qualifiers, with their offsets in bits; ok is false for
// any other type.
func Members(t Type) (fields []Field, offs []uint64, ok bool) {
	switch t := Resolve(t).(type) {
	case *Struct:
		return t.Members, t.Offsets(), true
	case *Union:
		return t.Members, t.Offsets(), true
	}
	return nil, nil, false
}

// Resolve returns t without its typedefs, qualifiers and type tags.
func Resolve(t Type) Type {
	for depth := 0; depth <= maxDepth; depth++ {
		switch u := t.(type) {
		case *Typedef:
			t = u.Target
		case *Const:
			t = u.Target
		case *Volatile:
			t = u.Target
		case *TypeTag:
			t = u.Target
		default:
			return t
		}
	}
	return nil
}

// Located is a struct or union member found by Offsetof: where it is and
// what it is.
type Located struct {
	BitOffset uint64 // from the start of the outermost type
	Type      Type
	Bits      uint32 // bitfield width, 0 for an ordinary member
}

// Offsetof finds the member that path names in t, as C's offsetof names
// it: member names separated by dots, array indexes in brackets
// ("a.b[2].c"). Names of members of anonymous struct and union members
// are found through them, as in C, and an index into an array of no
// elements (a flexible array member) is not bounded, as in C.
func Offsetof(t Type, path string) (Located, error) {
	loc := Located{Type: t}
	rest := path
	first := true
	for rest != "" {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return loc, fmt.Errorf("%q: missing ]", path)
			}
			n, err := strconv.ParseUint(rest[1:end], 10, 32)
			if err != nil {
				return loc, fmt.Errorf("%q: bad index %q", path, rest[1:end])
			}
			arr, ok := Resolve(loc.Type).(*Array)
			if !ok {
				return loc, fmt.Errorf("%q: %s is not an array", path, typeName(loc.Type))
			}
			// An array of no elements is a flexible array member
			// (__u64 args[0]), which C's offsetof indexes freely.
			if arr.N != 0 && n >= uint64(arr.N) {
				return loc, fmt.Errorf("%q: index %d out of range (%s has %d elements)", path, n, typeName(loc.Type), arr.N)
			}
			size, _ := layout(arr.Elem)
			loc = Located{BitOffset: loc.BitOffset + 8*n*size, Type: arr.Elem}
			rest = rest[end+1:]
		default:
			if !first {
				if rest[0] != '.' {
					return loc, fmt.Errorf("%q: want . or [ before %q", path, rest)
				}
				rest = rest[1:]
			}
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			name := rest[:end]
			if name == "" {
				return loc, fmt.Errorf("%q: empty member name", path)
			}
			if loc.Bits != 0 {
				return loc, fmt.Errorf("%q: a bitfield has no members", path)
			}
			m, ok := member(loc.Type, name, 0)
			if !ok {
				if _, _, isComposite := Members(loc.Type); !isComposite {
					return loc, fmt.Errorf("%q: %s has no members", path, typeName(loc.Type))
				}
				return loc, fmt.Errorf("%q: %s has no member %q", path, typeName(loc.Type), name)
			}
			loc = Located{BitOffset: loc.BitOffset + m.BitOffset, Type: m.Type, Bits: m.Bits}
			rest = rest[end:]
		}
		first = false
	}
	return loc, nil
}

// member finds the member name of struct or union t, through anonymous
// members.
func member(t Type, name string, depth int) (Located, bool) {
	fields, offs, ok := Members(t)
	if !ok || depth > maxDepth {
		return Located{}, false
	}
	for i, f := range fields {
		if f.Name == name {
			return Located{BitOffset: offs[i], Type: f.Type, Bits: f.Bits}, true
		}
		if f.Name == "" {
			if m, ok := member(f.Type, name, depth+1); ok {
				m.BitOffset += offs[i]
				return m, true
			}
		}
	}
	return Located{}, false
}

// Check reports the first fault of the graph t that the kernel or a C
// compiler would refuse.
func Check(t Type) error {
	c := checker{state: map[Type]uint8{}, l: layouter{}}
	return c.check(t, 0)
}

// checker checks each type of a graph once and finds cycles.
type checker struct {
	state map[Type]uint8 // 1 while its parts are checked, 2 when done
	l     layouter
}

func (c *checker) check(t Type, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("types nested more than %d deep", maxDepth)
	}
	if t == nil {
		return nil
	}
	switch c.state[t] {
	case 1:
		return fmt.Errorf("%s refers to itself (a cycle of types cannot be encoded)", typeName(t))
	case 2:
		return nil
	}
	c.state[t] = 1
	if err := c.check1(t, depth); err != nil {
		return err
	}
	c.state[t] = 2
	return nil
}

func (c *checker) check1(t Type, depth int) error {
	switch t := t.(type) {
	case nil:
		return nil
	case *Int:
		switch t.Bytes {
		case 1, 2, 4, 8, 16:
		default:
			return fmt.Errorf("int %q: size %d, want 1, 2, 4, 8 or 16", t.Name, t.Bytes)
		}
		if !validIdent(strings.ReplaceAll(t.Name, " ", "_")) {
			return fmt.Errorf("int: invalid name %q", t.Name)
		}
	case *Enum:
		switch t.Bytes {
		case 1, 2, 4, 8:
		default:
			return fmt.Errorf("enum %q: size %d, want 1, 2, 4 or 8", t.Name, t.Bytes)
		}
		if t.Name != "" && !validIdent(t.Name) {
			return fmt.Errorf("enum: invalid name %q", t.Name)
		}
		seen := map[string]bool{}
		for _, v := range t.Values {
			if !validIdent(v.Name) {
				return fmt.Errorf("enum %q: invalid enumerator name %q", t.Name, v.Name)
			}
			if seen[v.Name] {
				return fmt.Errorf("enum %q: duplicate enumerator %q", t.Name, v.Name)
			}
			seen[v.Name] = true
		}
	case *Ptr:
		return c.check(t.Target, depth+1)
	case *Array:
		if Resolve(t.Elem) == nil {
			return fmt.Errorf("array of void")
		}
		if err := c.check(t.Elem, depth+1); err != nil {
			return err
		}
		if _, ok := Resolve(t.Elem).(*Fwd); ok || isFuncProto(t.Elem) {
			return fmt.Errorf("array of incomplete type %s", typeName(t.Elem))
		}
	case *Struct:
		if err := c.checkMembers("struct", t.Name, t.Members, depth); err != nil {
			return err
		}
		if err := c.checkLayout("struct", t.Name, t.Members, t.Layout); err != nil {
			return err
		}
	case *Union:
		if err := c.checkMembers("union", t.Name, t.Members, depth); err != nil {
			return err
		}
		if err := c.checkLayout("union", t.Name, t.Members, t.Layout); err != nil {
			return err
		}
	case *Typedef:
		if !validIdent(t.Name) {
			return fmt.Errorf("typedef: invalid name %q", t.Name)
		}
		return c.check(t.Target, depth+1)
	case *Const:
		return c.check(t.Target, depth+1)
	case *Volatile:
		return c.check(t.Target, depth+1)
	case *TypeTag:
		if t.Value == "" {
			return fmt.Errorf("empty type tag")
		}
		return c.check(t.Target, depth+1)
	case *Fwd:
		if !validIdent(t.Name) {
			return fmt.Errorf("forward declaration: invalid name %q", t.Name)
		}
	case *FuncProto:
		if err := c.check(t.Return, depth+1); err != nil {
			return err
		}
		if isFuncProto(t.Return) {
			return fmt.Errorf("a function returning a function")
		}
		for i, p := range t.Params {
			if p == nil {
				return fmt.Errorf("function parameter %d is void", i)
			}
			if err := c.check(p, depth+1); err != nil {
				return err
			}
		}
	}
	if size, _ := c.l.layout(t, 0); size > math.MaxUint32 {
		return fmt.Errorf("%s: %d bytes, more than BTF's 4 GiB", typeName(t), size)
	}
	return nil
}

func (c *checker) checkMembers(kind, name string, members []Field, depth int) error {
	what := kind
	if name != "" {
		if !validIdent(name) {
			return fmt.Errorf("%s: invalid name %q", kind, name)
		}
		what += " " + name
	}
	if len(members) > maxVlen {
		return fmt.Errorf("%s: %d members, more than BTF's %d", what, len(members), maxVlen)
	}
	seen := map[string]bool{}
	var names []string
	for i, m := range members {
		if err := c.check(m.Type, depth+1); err != nil {
			return err
		}
		r := Resolve(m.Type)
		if r == nil {
			// void, or a typedef or qualifier of it
			return fmt.Errorf("%s: member %q is void", what, m.Name)
		}
		if _, ok := r.(*Fwd); ok || isFuncProto(r) {
			return fmt.Errorf("%s: member %q has incomplete type %s", what, m.Name, typeName(m.Type))
		}
		if m.Name == "" {
			_, _, ok := Members(r)
			if !ok || m.Bits != 0 {
				return fmt.Errorf("%s: member %d has no name (only a struct or union member may be anonymous)", what, i)
			}
			names = names[:0]
			collectNames(m.Type, &names, 0)
		} else {
			if !validIdent(m.Name) || strings.Contains(m.Name, ".") {
				return fmt.Errorf("%s: invalid member name %q", what, m.Name)
			}
			names = append(names[:0], m.Name)
		}
		for _, n := range names {
			if seen[n] {
				return fmt.Errorf("%s: duplicate member %q", what, n)
			}
			seen[n] = true
		}
		if m.Bits != 0 {
			var bytes uint32
			switch r := r.(type) {
			case *Int:
				bytes = r.Bytes
			case *Enum:
				bytes = r.Bytes
			default:
				return fmt.Errorf("%s: bitfield %q of type %s, want an integer or enum", what, m.Name, typeName(m.Type))
			}
			if m.Bits > 8*bytes {
				return fmt.Errorf("%s: bitfield %q of %d bits is wider than its type %s (%d bits)", what, m.Name, m.Bits, typeName(m.Type), 8*bytes)
			}
		}
	}
	return nil
}

// checkLayout checks an explicit layout: an offset per member, in
// increasing order, each member inside the type's size.
func (c *checker) checkLayout(kind, name string, members []Field, l *Layout) error {
	if l == nil {
		return nil
	}
	what := kind
	if name != "" {
		what += " " + name
	}
	if len(l.BitOffsets) != len(members) {
		return fmt.Errorf("%s: layout of %d offsets for %d members", what, len(l.BitOffsets), len(members))
	}
	var last uint64
	for i, m := range members {
		off := l.BitOffsets[i]
		if off < last {
			return fmt.Errorf("%s: member %q at bit %d, before the previous member's bit %d", what, m.Name, off, last)
		}
		last = off
		end := off + uint64(m.Bits)
		if m.Bits == 0 {
			size, _ := c.l.layout(m.Type, 0)
			end = off + 8*size
		}
		if end > 8*uint64(l.Bytes) {
			return fmt.Errorf("%s: member %q (bits %d-%d) ends past the type's %d bytes", what, m.Name, off, end, l.Bytes)
		}
	}
	return nil
}

// collectNames appends the names of t's members, through anonymous ones.
func collectNames(t Type, names *[]string, depth int) {
	fields, _, _ := Members(t)
	for _, f := range fields {
		if f.Name == "" && depth < maxDepth {
			collectNames(f.Type, names, depth+1)
		} else {
			*names = append(*names, f.Name)
		}
	}
}

// isFuncProto reports whether t is a function type, through typedefs and
// qualifiers: something only a pointer may point at.
func isFuncProto(t Type) bool {
	_, ok := Resolve(t).(*FuncProto)
	return ok
}
