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

// The keys of the data asm itself defines.
type (
	posKey    struct{}
	targetKey struct{}
	labelsKey struct{}
	refKey    struct{}
)

// WithPos returns m with the source position set.
func (m Metadata) WithPos(p Pos) Metadata { return m.With(posKey{}, p) }

// Pos returns the source position, or the zero Pos. (It is read for every
// instruction's line record, so it matches the key by type rather than
// through Get's comparison of interfaces.)
func (m Metadata) Pos() Pos {
	for n := m.head; n != nil; n = n.next {
		if _, ok := n.key.(posKey); ok {
			p, _ := n.value.(Pos)
			return p
		}
	}
	return Pos{}
}

// WithTarget returns m with the label a jump goes to set; the assembler
// fills in the jump's offset.
func (m Metadata) WithTarget(label string) Metadata { return m.With(targetKey{}, label) }

// Target returns the label a jump goes to, or "".
func (m Metadata) Target() string {
	for n := m.head; n != nil; n = n.next {
		if _, ok := n.key.(targetKey); ok {
			t, _ := n.value.(string)
			return t
		}
	}
	return ""
}

// WithLabel returns m with one more label marking the instruction.
func (m Metadata) WithLabel(l Label) Metadata {
	old := m.Labels()
	return m.With(labelsKey{}, append(old[:len(old):len(old)], l))
}

// Labels returns the labels that mark the instruction, in the order they
// were written. The caller must not change the slice.
func (m Metadata) Labels() []Label {
	ls, _ := m.Get(labelsKey{}).([]Label)
	return ls
}

// WithRef returns m with the symbol the instruction refers to set.
func (m Metadata) WithRef(r Ref) Metadata { return m.With(refKey{}, r) }

// Ref returns the symbol the instruction refers to (Kind RefNone if none).
func (m Metadata) Ref() Ref {
	r, _ := m.Get(refKey{}).(Ref)
	return r
}

// parts reads what the assembler needs in one walk of the list: an
// instruction usually carries its position alone.
func (m Metadata) parts() (target string, labels []Label, ref Ref) {
	for n := m.head; n != nil; n = n.next {
		switch n.key.(type) {
		case targetKey:
			target, _ = n.value.(string)
		case labelsKey:
			labels, _ = n.value.([]Label)
		case refKey:
			ref, _ = n.value.(Ref)
		}
	}
	return target, labels, ref
}
