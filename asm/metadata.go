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
	head *node
}

// node is an element of a list: the next element and its datum.
type node struct {
	next *node
	e    entry
}

// entry is a datum: a key and its value. asm's own kinds of data are entry
// types that embed their node and hold their value, so that an element
// costs one allocation; other keys' values go in a pair.
type entry interface {
	key() any
	value() any
	// self returns the entry's own node, unlinked (a pair has none).
	self() *node
}

type pair struct{ k, v any }

func (p *pair) key() any    { return p.k }
func (p *pair) value() any  { return p.v }
func (p *pair) self() *node { return &node{e: p} }

// Get returns the value stored under key, or nil.
func (m Metadata) Get(key any) any {
	for n := m.head; n != nil; n = n.next {
		if n.e.key() == key {
			return n.e.value()
		}
	}
	return nil
}

// With returns m with key set to value.
func (m Metadata) With(key, value any) Metadata { return m.with(&pair{key, value}) }

// with returns m with e in front, and without the element of e's key, if
// any: the elements in front of that one are copied, the ones behind it
// shared.
func (m Metadata) with(e entry) Metadata {
	k := e.key()
	var kept []*node
	n := m.head
	for ; n != nil; n = n.next {
		if n.e.key() == k {
			break
		}
		kept = append(kept, n)
	}
	rest := m.head
	if n != nil {
		rest = n.next
		for i := len(kept) - 1; i >= 0; i-- {
			rest = &node{next: rest, e: kept[i].e}
		}
	}
	head := e.self()
	head.next = rest
	return Metadata{head}
}

// Len returns the number of values in m.
func (m Metadata) Len() int {
	k := 0
	for n := m.head; n != nil; n = n.next {
		k++
	}
	return k
}

// The keys of the data asm itself defines, and their entries.
type (
	posKey    struct{}
	targetKey struct{}
	labelKey  struct{}
	refKey    struct{}

	posEntry struct {
		node
		pos Pos
	}
	targetEntry struct {
		node
		name string
	}
	labelEntry struct {
		node
		label Label
	}
	refEntry struct {
		node
		ref Ref
	}
)

func (e *posEntry) key() any       { return posKey{} }
func (e *posEntry) value() any     { return e.pos }
func (e *posEntry) self() *node    { e.node = node{e: e}; return &e.node }
func (e *targetEntry) key() any    { return targetKey{} }
func (e *targetEntry) value() any  { return e.name }
func (e *targetEntry) self() *node { e.node = node{e: e}; return &e.node }
func (e *labelEntry) key() any     { return labelKey{} }
func (e *labelEntry) value() any   { return e.label }
func (e *labelEntry) self() *node  { e.node = node{e: e}; return &e.node }
func (e *refEntry) key() any       { return refKey{} }
func (e *refEntry) value() any     { return e.ref }
func (e *refEntry) self() *node    { e.node = node{e: e}; return &e.node }

// WithPos returns m with the source position set.
func (m Metadata) WithPos(p Pos) Metadata { return m.with(&posEntry{pos: p}) }

// Pos returns the source position, or the zero Pos.
func (m Metadata) Pos() Pos {
	for n := m.head; n != nil; n = n.next {
		if e, ok := n.e.(*posEntry); ok {
			return e.pos
		}
	}
	return Pos{}
}

// WithTarget returns m with the label a jump goes to set; the assembler
// fills in the jump's offset.
func (m Metadata) WithTarget(label string) Metadata { return m.with(&targetEntry{name: label}) }

// Target returns the label a jump goes to, or "".
func (m Metadata) Target() string {
	for n := m.head; n != nil; n = n.next {
		if e, ok := n.e.(*targetEntry); ok {
			return e.name
		}
	}
	return ""
}

// WithRef returns m with the symbol the instruction refers to set.
func (m Metadata) WithRef(r Ref) Metadata { return m.with(&refEntry{ref: r}) }

// Ref returns the symbol the instruction refers to (Kind RefNone if none).
func (m Metadata) Ref() Ref {
	for n := m.head; n != nil; n = n.next {
		if e, ok := n.e.(*refEntry); ok {
			return e.ref
		}
	}
	return Ref{}
}

// WithLabel returns m with one more label marking the instruction.
func (m Metadata) WithLabel(l Label) Metadata {
	e := &labelEntry{label: l}
	e.node = node{next: m.head, e: e}
	return Metadata{&e.node}
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
		if e, ok := n.e.(*labelEntry); ok {
			ls = append(ls, &e.label)
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
		switch e := n.e.(type) {
		case *targetEntry:
			target = e.name
		case *labelEntry:
			labels = true
		case *refEntry:
			ref = e.ref
		}
	}
	return target, ref, labels
}
