package starlib

import "sort"

// nameTable maps a fixed set of names to values, for the lookups made on
// every instruction builtin call: the insn.NAME attribute, and operation
// and size names such as "add" or "dw". A Go map hashes the whole name
// (about 25 ns at 1M calls, where cache misses add up); the table hashes
// its length and three of its bytes into an open-addressed array four
// times larger than the set, and compares one or two names. It is built
// once and only read, so concurrent evaluations share it.
type nameTable[T any] struct {
	slots []nameSlot[T]
	mask  uint32
	names []string // sorted
}

type nameSlot[T any] struct {
	name string
	v    T
	ok   bool
}

func newNameTable[T any](m map[string]T) *nameTable[T] {
	t := &nameTable[T]{}
	size := 8
	for size < 4*len(m) {
		size *= 2
	}
	t.slots = make([]nameSlot[T], size)
	t.mask = uint32(size - 1)
	for name := range m {
		t.names = append(t.names, name)
	}
	sort.Strings(t.names) // insertion order, and so probing, is fixed
	for _, name := range t.names {
		i := nameHash(name) & t.mask
		for t.slots[i].ok {
			i = (i + 1) & t.mask
		}
		t.slots[i] = nameSlot[T]{name, m[name], true}
	}
	return t
}

func nameHash(s string) uint32 {
	n := uint32(len(s))
	if n == 0 {
		return 0
	}
	h := n*0x9e3779b1 ^ uint32(s[0])*0x85ebca6b ^ uint32(s[n-1])*0xc2b2ae35 ^ uint32(s[n/2])*0x27d4eb2f
	return h ^ h>>15
}

// lookup returns the value of name, and whether the table has it.
func (t *nameTable[T]) lookup(name string) (T, bool) {
	for i := nameHash(name) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if !s.ok {
			var zero T
			return zero, false
		}
		if s.name == name {
			return s.v, true
		}
	}
}
