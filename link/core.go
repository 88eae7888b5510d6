package link

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/isa"
)

// CoreRelo asks for a CO-RE relocation of an instruction: when the object
// is loaded, libbpf or cilium/ebpf computes Kind for the local type Type
// (or the member or enumerator Access names in it) against the running
// kernel's types and patches the instruction with it: an ALU instruction's
// immediate, a load's or store's offset, a 64-bit load's immediate. The
// instruction holds the value computed against the local type (the
// loaders check it), except for the type ID kinds, whose value only the
// linker knows: it fills it in.
//
// Access is the access specification, as indexes into the full type:
// for the field kinds, 0 (the object the pointer points at) and then, per
// step, a member's index in its struct or union or an array element's
// index; for the enumerator kinds, the enumerator's index; for the type
// kinds, 0.
//
// The object does not carry Type as it is: for the field and enumerator
// kinds only the members and enumerators the unit's relocations name
// reach it, each where it was (a kernel's task_struct of a few hundred
// members becomes a struct of the two a program reads, of the same size);
// for TYPE_EXISTS, TYPE_SIZE and the type IDs, a struct or union keeps its
// name and size only. TYPE_MATCHES compares members, so its type goes in
// whole.
type CoreRelo struct {
	Kind   btf.CoreReloKind
	Type   btf.Type
	Access []int
}

type coreKey struct{}

// WithCoreRelo returns m with a CO-RE relocation.
func WithCoreRelo(m asm.Metadata, r *CoreRelo) asm.Metadata { return m.With(coreKey{}, r) }

// CoreReloOf returns the CO-RE relocation of an instruction, or nil.
func CoreReloOf(m asm.Metadata) *CoreRelo {
	r, _ := m.Get(coreKey{}).(*CoreRelo)
	return r
}

// isFieldKind reports whether k's access names a member.
func isFieldKind(k btf.CoreReloKind) bool { return k <= btf.CoreFieldRShiftU64 }

// isEnumKind reports whether k's access names an enumerator.
func isEnumKind(k btf.CoreReloKind) bool {
	return k == btf.CoreEnumvalExists || k == btf.CoreEnumvalValue
}

// coreNode is a node of the tree of the accesses made from one root: the
// children a step goes to, by index in the full type (for an array, one
// child, -1, for all its elements).
type coreNode struct {
	children map[int]*coreNode
	newIndex map[int]int // index in the pruned type, once pruned
	pruned   btf.Type
}

func newCoreNode() *coreNode { return &coreNode{children: map[int]*coreNode{}} }

// coreRoot is what the unit's relocations use of one local type.
type coreRoot struct {
	tree  *coreNode // field accesses
	enums map[int]bool
	typ   btf.Type
	// enum is typ with only the enumerators used, once pruned;
	// enumIndex maps an enumerator's index in typ to its index there.
	enum      btf.Type
	enumIndex map[int]int
}

// coreSite is a relocated instruction.
type coreSite struct {
	section int // index in ext
	off     uint64
	pc      *placedCode
	r       *CoreRelo
	pos     asm.Pos
}

// coreRelos finds the instructions with CO-RE relocations, adds the local
// types they need to b (through addType) and returns their records, by
// section, in instruction order.
func (l *linker) coreRelos(sections [][]int, addType func(btf.Type) (btf.TypeID, error)) ([][]btf.CoreRelo, error) {
	var sites []coreSite
	roots := map[btf.Type]*coreRoot{}
	for i, placed := range sections {
		for _, k := range placed {
			pc := &l.placed[k]
			off := pc.off
			for j := range pc.prog.Insns {
				ins := &pc.prog.Insns[j]
				if r := CoreReloOf(ins.Metadata); r != nil {
					sites = append(sites, coreSite{i, off, pc, r, ins.Pos()})
					if err := checkCoreInsn(ins, r); err != nil {
						return nil, &Error{Pos: ins.Pos(), Kind: ErrCoreRelo, Msg: err.Error()}
					}
					root := coreRootType(r)
					cr := roots[root]
					if cr == nil {
						cr = &coreRoot{tree: newCoreNode(), enums: map[int]bool{}, typ: root}
						roots[root] = cr
					}
					switch {
					case isFieldKind(r.Kind):
						if err := cr.addField(r.Access); err != nil {
							return nil, &Error{Pos: ins.Pos(), Kind: ErrCoreRelo, Msg: err.Error()}
						}
					case isEnumKind(r.Kind):
						if len(r.Access) != 1 {
							return nil, &Error{Pos: ins.Pos(), Kind: ErrCoreRelo, Msg: "an enumerator relocation's access is one index"}
						}
						cr.enums[r.Access[0]] = true
					}
				}
				off += uint64(ins.Slots()) * isa.SlotSize
			}
		}
	}
	if len(sites) == 0 {
		return nil, nil
	}
	out := make([][]btf.CoreRelo, len(sections))
	for _, s := range sites {
		root := roots[coreRootType(s.r)]
		var local btf.Type
		access := s.r.Access
		switch {
		case isFieldKind(s.r.Kind):
			local = root.tree.prune(root.typ, 0)
			access = root.tree.translate(root.typ, access)
		case isEnumKind(s.r.Kind):
			if root.enum == nil {
				root.enum, root.enumIndex = pruneEnum(root.typ, root.enums, 0)
				if root.enum == nil {
					return nil, &Error{Pos: s.pos, Kind: ErrCoreRelo, Msg: fmt.Sprintf("an enumerator relocation of %s, which is no enum", typeString(s.r.Type))}
				}
			}
			local = root.enum
			access = []int{root.enumIndex[access[0]]}
		case s.r.Kind == btf.CoreTypeMatches:
			local = root.typ
		default:
			local = shell(root.typ)
		}
		id, err := addType(local)
		if err != nil {
			return nil, &Error{Pos: s.pos, Kind: ErrCoreRelo, Msg: fmt.Sprintf("CO-RE relocation of %s: %v", typeString(s.r.Type), err)}
		}
		if s.r.Kind == btf.CoreTypeIDLocal || s.r.Kind == btf.CoreTypeIDTarget {
			data := l.obj.Section(s.pc.section).Data
			binary.LittleEndian.PutUint32(data[s.off+4:s.off+8], uint32(id))
		}
		out[s.section] = append(out[s.section], btf.CoreRelo{InsnOff: uint32(s.off), Type: id, Access: accessString(access), Kind: s.r.Kind})
	}
	return out, nil
}

// coreRootType is the type a relocation names: r.Type without const,
// volatile and type tags, as clang records it. The loaders look the root
// up by name in the kernel's types, so for the type kinds a typedef stays
// (TYPE_EXISTS of pid_t asks about the typedef), and for the member and
// enumerator kinds a typedef stays only when what it names is anonymous
// (atomic_t, socket_state: the loaders refuse an anonymous root, and
// match the typedef with the kernel's of that name); a typedef of a named
// struct, union or enum gives way to it, whose name the kernel has (a
// local typedef of task_struct___mine need not be one of the kernel's).
func coreRootType(r *CoreRelo) btf.Type {
	t := stripQualifiers(r.Type)
	if isFieldKind(r.Kind) || isEnumKind(r.Kind) {
		switch u := btf.Resolve(t).(type) {
		case *btf.Struct:
			if u.Name != "" {
				return u
			}
		case *btf.Union:
			if u.Name != "" {
				return u
			}
		case *btf.Enum:
			if u.Name != "" {
				return u
			}
		}
	}
	return t
}

// stripQualifiers returns t without its outer const, volatile and type
// tags.
func stripQualifiers(t btf.Type) btf.Type {
	for range 256 {
		switch q := t.(type) {
		case *btf.Const:
			t = q.Target
		case *btf.Volatile:
			t = q.Target
		case *btf.TypeTag:
			t = q.Target
		default:
			return t
		}
	}
	return t
}

// checkCoreInsn checks that an instruction is one the loaders patch.
func checkCoreInsn(ins *asm.Instruction, r *CoreRelo) error {
	op := ins.Op
	switch c := op.Class(); {
	case (c == isa.ClassALU || c == isa.ClassALU64) && op.Source() == isa.SrcK:
	case c == isa.ClassLDX || c == isa.ClassST || c == isa.ClassSTX:
		if r.Kind != btf.CoreFieldByteOffset {
			return fmt.Errorf("a %s relocation on a load or store: only FIELD_BYTE_OFFSET patches an offset", r.Kind)
		}
	case ins.IsLoadImm64():
	default:
		return fmt.Errorf("a CO-RE relocation on %s: the loaders patch only an ALU immediate, a load's or store's offset and a 64-bit load", ins.Instruction)
	}
	return nil
}

// addField adds a field access to the tree.
func (cr *coreRoot) addField(access []int) error {
	if len(access) == 0 {
		return fmt.Errorf("a field relocation without an access")
	}
	n := cr.tree
	t := cr.typ
	for _, idx := range access[1:] {
		switch r := btf.Resolve(t).(type) {
		case *btf.Struct:
			if idx < 0 || idx >= len(r.Members) {
				return fmt.Errorf("member index %d out of range", idx)
			}
			t = r.Members[idx].Type
		case *btf.Union:
			if idx < 0 || idx >= len(r.Members) {
				return fmt.Errorf("member index %d out of range", idx)
			}
			t = r.Members[idx].Type
		case *btf.Array:
			t, idx = r.Elem, -1
		default:
			return fmt.Errorf("an access through %s, which has no members", typeString(t))
		}
		c := n.children[idx]
		if c == nil {
			c = newCoreNode()
			n.children[idx] = c
		}
		n = c
	}
	return nil
}

// prune returns t with only the members the tree reaches, each where it
// was; a leaf's type is kept whole.
func (n *coreNode) prune(t btf.Type, depth int) btf.Type {
	if len(n.children) == 0 || depth > 256 {
		return t
	}
	if n.pruned != nil {
		return n.pruned
	}
	var out btf.Type
	switch r := t.(type) {
	case *btf.Typedef:
		out = &btf.Typedef{Name: r.Name, Target: n.prune(r.Target, depth+1)}
	case *btf.Const:
		out = &btf.Const{Target: n.prune(r.Target, depth+1)}
	case *btf.Volatile:
		out = &btf.Volatile{Target: n.prune(r.Target, depth+1)}
	case *btf.TypeTag:
		out = &btf.TypeTag{Value: r.Value, Target: n.prune(r.Target, depth+1)}
	case *btf.Array:
		out = &btf.Array{Elem: n.children[-1].prune(r.Elem, depth+1), N: r.N}
	case *btf.Struct:
		ms, layout := n.pruneMembers(r.Members, r.Offsets(), r.Size(), depth)
		out = &btf.Struct{Name: r.Name, Members: ms, Layout: layout}
	case *btf.Union:
		ms, layout := n.pruneMembers(r.Members, r.Offsets(), r.Size(), depth)
		out = &btf.Union{Name: r.Name, Members: ms, Layout: layout}
	default:
		out = t
	}
	n.pruned = out
	return out
}

func (n *coreNode) pruneMembers(members []btf.Field, offs []uint64, size uint32, depth int) ([]btf.Field, *btf.Layout) {
	idx := make([]int, 0, len(n.children))
	for i := range n.children {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	n.newIndex = map[int]int{}
	layout := &btf.Layout{Bytes: size}
	var ms []btf.Field
	for k, i := range idx {
		m := members[i]
		m.Type = n.children[i].prune(m.Type, depth+1)
		ms = append(ms, m)
		layout.BitOffsets = append(layout.BitOffsets, offs[i])
		n.newIndex[i] = k
	}
	return ms, layout
}

// translate turns an access into the full type into one into the pruned
// type.
func (n *coreNode) translate(t btf.Type, access []int) []int {
	out := []int{access[0]}
	for _, idx := range access[1:] {
		switch r := btf.Resolve(t).(type) {
		case *btf.Struct:
			t = r.Members[idx].Type
			out = append(out, n.newIndex[idx])
			n = n.children[idx]
		case *btf.Union:
			t = r.Members[idx].Type
			out = append(out, n.newIndex[idx])
			n = n.children[idx]
		case *btf.Array:
			t = r.Elem
			out = append(out, idx)
			n = n.children[-1]
		}
	}
	return out
}

// pruneEnum returns enum t (through typedefs and qualifiers, which it
// keeps) with only the used enumerators, and where each went; nil if t is
// no enum.
func pruneEnum(t btf.Type, used map[int]bool, depth int) (btf.Type, map[int]int) {
	if depth > 256 {
		return nil, nil
	}
	wrap := func(inner btf.Type, mk func(btf.Type) btf.Type) (btf.Type, map[int]int) {
		e, idx := pruneEnum(inner, used, depth+1)
		if e == nil {
			return nil, nil
		}
		return mk(e), idx
	}
	switch r := t.(type) {
	case *btf.Typedef:
		return wrap(r.Target, func(e btf.Type) btf.Type { return &btf.Typedef{Name: r.Name, Target: e} })
	case *btf.Const:
		return wrap(r.Target, func(e btf.Type) btf.Type { return &btf.Const{Target: e} })
	case *btf.Volatile:
		return wrap(r.Target, func(e btf.Type) btf.Type { return &btf.Volatile{Target: e} })
	case *btf.TypeTag:
		return wrap(r.Target, func(e btf.Type) btf.Type { return &btf.TypeTag{Value: r.Value, Target: e} })
	case *btf.Enum:
		out := &btf.Enum{Name: r.Name, Bytes: r.Bytes, Signed: r.Signed}
		idx := map[int]int{}
		for j, v := range r.Values {
			if used[j] {
				idx[j] = len(out.Values)
				out.Values = append(out.Values, v)
			}
		}
		return out, idx
	}
	return nil, nil
}

// shell returns a struct or union with its name and size only: what the
// type kinds other than TYPE_MATCHES compare.
func shell(t btf.Type) btf.Type {
	switch r := t.(type) {
	case *btf.Struct:
		return &btf.Struct{Name: r.Name, Layout: &btf.Layout{Bytes: r.Size()}}
	case *btf.Union:
		return &btf.Union{Name: r.Name, Layout: &btf.Layout{Bytes: r.Size()}}
	case *btf.Typedef:
		return &btf.Typedef{Name: r.Name, Target: shell(r.Target)}
	case *btf.Const:
		return &btf.Const{Target: shell(r.Target)}
	case *btf.Volatile:
		return &btf.Volatile{Target: shell(r.Target)}
	}
	return t
}

// accessString is the access as the record writes it: "0:1:2".
func accessString(access []int) string {
	b := make([]byte, 0, 2*len(access))
	for i, a := range access {
		if i > 0 {
			b = append(b, ':')
		}
		b = fmt.Appendf(b, "%d", a)
	}
	return string(b)
}

// typeString names a type in messages: "struct task_struct", not its
// definition.
func typeString(t btf.Type) string {
	switch r := t.(type) {
	case nil:
		return "void"
	case *btf.Struct:
		return "struct " + r.Name
	case *btf.Union:
		return "union " + r.Name
	case *btf.Enum:
		return "enum " + r.Name
	}
	return t.String()
}
