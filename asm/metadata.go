package asm

// Metadata is what an instruction carries besides its encoding: where it
// was written, the label a jump goes to, the labels that mark it, the
// symbol it refers to, and whatever later stages need (CO-RE relocations,
// kfunc names, ...). It is an immutable list of key/value pairs. Keys are
// values of unexported types, one per kind of datum, so that a package can
// add a kind of its own without changing the instruction type and without
// clashing with anyone else's (the design of cilium/ebpf's asm.Metadata).
//
// Metadata is a value: With returns a new list and leaves the receiver as
// it was, so one list may be shared by any number of instructions. A front
// end that makes a million instructions at a few hundred source positions
// makes a few hundred lists, not a million: the instructions of one
// position share theirs. The zero Metadata is empty and ready to use.
type Metadata struct {
	head *metaNode
}

type metaNode struct {
	next       *metaNode
	key, value any
}

// Get returns the value stored under key, or nil.
func (m Metadata) Get(key any) any {
	for n := m.head; n != nil; n = n.next {
		if n.key == key {
			return n.value
		}
	}
	return nil
}

// With returns m with key set to value. The nodes in front of an earlier
// value of key are copied; the ones behind it are shared.
func (m Metadata) With(key, value any) Metadata {
	var kept []*metaNode
	n := m.head
	for ; n != nil; n = n.next {
		if n.key == key {
			break
		}
		kept = append(kept, n)
	}
	if n == nil {
		// Not present: put it in front of the whole list.
		return Metadata{&metaNode{next: m.head, key: key, value: value}}
	}
	rest := &metaNode{next: n.next, key: key, value: value}
	for i := len(kept) - 1; i >= 0; i-- {
		rest = &metaNode{next: rest, key: kept[i].key, value: kept[i].value}
	}
	return Metadata{rest}
}

// Len returns the number of values in m.
func (m Metadata) Len() int {
	k := 0
	for n := m.head; n != nil; n = n.next {
		k++
	}
	return k
}

// The keys of the data asm itself defines. Their values are kept in the
// allocation of their node (a node and its value cost one allocation, not
// two: a program of a million instructions has a few hundred thousand),
// and the node's value points at them.
type (
	posKey    struct{}
	targetKey struct{}
	labelKey  struct{}
	refKey    struct{}
)

type (
	posNode struct {
		metaNode
		pos Pos
	}
	targetNode struct {
		metaNode
		name string
	}
	labelNode struct {
		metaNode
		label Label
	}
	refNode struct {
		metaNode
		ref Ref
	}
)

// has reports whether m holds a value of key's type.
func has[K any](m Metadata) bool {
	for n := m.head; n != nil; n = n.next {
		if _, ok := n.key.(K); ok {
			return true
		}
	}
	return false
}

// find returns the value of the first node whose key has type K, which
// points at a V, or the zero V.
func find[K, V any](m Metadata) V {
	for n := m.head; n != nil; n = n.next {
		if _, ok := n.key.(K); ok {
			if v, ok := n.value.(*V); ok {
				return *v
			}
			break
		}
	}
	var zero V
	return zero
}

// WithPos returns m with the source position set.
func (m Metadata) WithPos(p Pos) Metadata {
	if has[posKey](m) {
		return m.With(posKey{}, &p)
	}
	n := &posNode{pos: p}
	n.metaNode = metaNode{next: m.head, key: posKey{}, value: &n.pos}
	return Metadata{&n.metaNode}
}

// Pos returns the source position, or the zero Pos.
func (m Metadata) Pos() Pos { return find[posKey, Pos](m) }

// WithTarget returns m with the label a jump goes to set; the assembler
// fills in the jump's offset.
func (m Metadata) WithTarget(label string) Metadata {
	if has[targetKey](m) {
		return m.With(targetKey{}, &label)
	}
	n := &targetNode{name: label}
	n.metaNode = metaNode{next: m.head, key: targetKey{}, value: &n.name}
	return Metadata{&n.metaNode}
}

// Target returns the label a jump goes to, or "".
func (m Metadata) Target() string { return find[targetKey, string](m) }

// WithRef returns m with the symbol the instruction refers to set.
func (m Metadata) WithRef(r Ref) Metadata {
	if has[refKey](m) {
		return m.With(refKey{}, &r)
	}
	n := &refNode{ref: r}
	n.metaNode = metaNode{next: m.head, key: refKey{}, value: &n.ref}
	return Metadata{&n.metaNode}
}

// Ref returns the symbol the instruction refers to (Kind RefNone if none).
func (m Metadata) Ref() Ref { return find[refKey, Ref](m) }

// WithLabel returns m with one more label marking the instruction.
func (m Metadata) WithLabel(l Label) Metadata {
	n := &labelNode{label: l}
	n.metaNode = metaNode{next: m.head, key: labelKey{}, value: &n.label}
	return Metadata{&n.metaNode}
}

// Labels returns the labels that mark the instruction, in the order they
// were added.
func (m Metadata) Labels() []Label {
	var ls []Label
	m.eachLabel(func(l *Label) { ls = append(ls, *l) })
	return ls
}

// eachLabel calls fn with each label, in the order they were added (the
// list holds the newest first).
func (m Metadata) eachLabel(fn func(*Label)) {
	var stack [4]*Label
	ls := stack[:0]
	for n := m.head; n != nil; n = n.next {
		if _, ok := n.key.(labelKey); ok {
			if l, ok := n.value.(*Label); ok {
				ls = append(ls, l)
			}
		}
	}
	for i := len(ls) - 1; i >= 0; i-- {
		fn(ls[i])
	}
}

// parts reads what the assembler needs in one walk of the list: an
// instruction usually carries its position alone.
func (m Metadata) parts() (target string, ref Ref, labels bool) {
	for n := m.head; n != nil; n = n.next {
		switch n.key.(type) {
		case targetKey:
			if t, ok := n.value.(*string); ok {
				target = *t
			}
		case labelKey:
			labels = true
		case refKey:
			if r, ok := n.value.(*Ref); ok {
				ref = *r
			}
		}
	}
	return target, ref, labels
}
