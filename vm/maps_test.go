package vm_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"

	"github.com/bpfstar/bpfstar/vm"
)

// helperRig runs one helper call from a program ("call ID; exit") with
// r1-r5 as given; pointer arguments point into mem, a region of 256
// bytes: key at +0, value at +64, a buffer at +128.
type helperRig struct {
	t   *testing.T
	m   *vm.Machine
	mem []byte
	at  uint64
}

func newRig(t *testing.T) *helperRig {
	m := vm.NewMachine()
	m.UseStandardHelpers()
	r := &helperRig{t: t, m: m, mem: make([]byte, 256)}
	r.at = m.SetMemory("mem", r.mem)
	return r
}

func (r *helperRig) key() uint64   { return r.at }
func (r *helperRig) value() uint64 { return r.at + 64 }
func (r *helperRig) buf() uint64   { return r.at + 128 }

func (r *helperRig) call(id asm.BuiltinFunc, args ...uint64) uint64 {
	r.t.Helper()
	p := compileUBPF(r.t, fmt.Sprintf("call %d\nexit", id))
	got, err := r.m.Run(p, args...)
	if err != nil {
		r.t.Fatalf("%v: %v", id, err)
	}
	return got
}

func (r *helperRig) setKey(b []byte)   { copy(r.mem[0:64], b) }
func (r *helperRig) setValue(b []byte) { copy(r.mem[64:128], b) }

func (r *helperRig) addMap(s vm.MapSpec) *vm.Map {
	mp, err := r.m.AddMap(s)
	if err != nil {
		r.t.Fatal(err)
	}
	return mp
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

const (
	errENOENT = ^uint64(2 - 1)
	errE2BIG  = ^uint64(7 - 1)
	errEEXIST = ^uint64(17 - 1)
	errEINVAL = ^uint64(22 - 1)
)

func TestHashMap(t *testing.T) {
	r := newRig(t)
	mp := r.addMap(vm.MapSpec{Name: "h", Type: vm.MapHash, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	r.setKey(u32(7))
	if got := r.call(asm.FnMapLookupElem, mp.Ref(), r.key()); got != 0 {
		t.Fatalf("lookup of a missing key: %#x", got)
	}
	r.setValue(u64(42))
	if got := r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 2); got != errENOENT {
		t.Fatalf("update BPF_EXIST of a missing key: %#x", got)
	}
	if got := r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 0); got != 0 {
		t.Fatalf("update: %#x", got)
	}
	if got := r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 1); got != errEEXIST {
		t.Fatalf("update BPF_NOEXIST of a key there: %#x", got)
	}
	// The value a lookup returns is memory the program can read and write.
	p := compileUBPF(t, "call 1\njeq %r0, 0, +3\nldxdw %r1, [%r0]\nadd %r1, 1\nstxdw [%r0], %r1\nexit")
	if _, err := r.m.Run(p, mp.Ref(), r.key()); err != nil {
		t.Fatal(err)
	}
	if v, ok := mp.Lookup(u32(7), 0); !ok || !bytes.Equal(v, u64(43)) {
		t.Fatalf("after the increment: %x, %v", v, ok)
	}
	r.setKey(u32(8))
	r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 0)
	r.setKey(u32(9))
	if got := r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 0); got != errE2BIG {
		t.Fatalf("update of a full map: %#x", got)
	}
	r.setKey(u32(7))
	if got := r.call(asm.FnMapDeleteElem, mp.Ref(), r.key()); got != 0 {
		t.Fatalf("delete: %#x", got)
	}
	if got := r.call(asm.FnMapDeleteElem, mp.Ref(), r.key()); got != errENOENT {
		t.Fatalf("delete of a missing key: %#x", got)
	}
	// A pointer to a deleted element is no longer memory.
	r.setKey(u32(8))
	a := r.call(asm.FnMapLookupElem, mp.Ref(), r.key())
	r.call(asm.FnMapDeleteElem, mp.Ref(), r.key())
	_, err := r.m.Run(compileUBPF(t, "ldxdw %r0, [%r1]\nexit"), a)
	if !errors.Is(err, vm.ErrMemory) || !strings.Contains(err.Error(), "a freed map element") {
		t.Fatalf("read of a deleted element: %v", err)
	}
}

func TestLRUHashEvicts(t *testing.T) {
	r := newRig(t)
	mp := r.addMap(vm.MapSpec{Name: "lru", Type: vm.MapLRUHash, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	for _, k := range []uint32{1, 2} {
		r.setKey(u32(k))
		r.setValue(u64(uint64(k)))
		r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 0)
	}
	r.setKey(u32(1))
	r.call(asm.FnMapLookupElem, mp.Ref(), r.key()) // 1 is now the most recent
	r.setKey(u32(3))
	if got := r.call(asm.FnMapUpdateElem, mp.Ref(), r.key(), r.value(), 0); got != 0 {
		t.Fatalf("update of a full LRU map: %#x", got)
	}
	for k, want := range map[uint32]bool{1: true, 2: false, 3: true} {
		if _, ok := mp.Lookup(u32(k), 0); ok != want {
			t.Errorf("key %d present: %v, want %v", k, ok, want)
		}
	}
}

func TestLPMTrie(t *testing.T) {
	r := newRig(t)
	mp := r.addMap(vm.MapSpec{Name: "lpm", Type: vm.MapLPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 8})
	prefix := func(bits uint32, a, b, c, d byte) []byte { return append(u32(bits), a, b, c, d) }
	for _, e := range []struct {
		key []byte
		v   uint32
	}{{prefix(8, 10, 0, 0, 0), 1}, {prefix(16, 10, 1, 9, 9), 2}} { // bits past the prefix do not count
		if err := mp.Update(e.key, u32(e.v)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		key  []byte
		want uint32 // 0: no match
	}{{prefix(32, 10, 1, 2, 3), 2}, {prefix(32, 10, 2, 0, 1), 1}, {prefix(32, 11, 0, 0, 0), 0}, {prefix(12, 10, 1, 2, 3), 1}} {
		r.setKey(c.key)
		a := r.call(asm.FnMapLookupElem, mp.Ref(), r.key())
		var got uint32
		if a != 0 {
			v, err := r.m.Read(a, 4)
			if err != nil {
				t.Fatal(err)
			}
			got = binary.LittleEndian.Uint32(v)
		}
		if got != c.want {
			t.Errorf("lookup %x: %d, want %d", c.key, got, c.want)
		}
	}
}

func TestQueueAndStack(t *testing.T) {
	for _, c := range []struct {
		typ  uint32
		want []uint64
	}{{vm.MapQueue, []uint64{1, 2, 3}}, {vm.MapStack, []uint64{3, 2, 1}}} {
		r := newRig(t)
		mp := r.addMap(vm.MapSpec{Name: "q", Type: c.typ, ValueSize: 8, MaxEntries: 3})
		for v := uint64(1); v <= 3; v++ {
			r.setValue(u64(v))
			if got := r.call(asm.FnMapPushElem, mp.Ref(), r.value(), 0); got != 0 {
				t.Fatalf("push: %#x", got)
			}
		}
		if got := r.call(asm.FnMapPushElem, mp.Ref(), r.value(), 0); got != errE2BIG {
			t.Fatalf("push to a full map: %#x", got)
		}
		// Queued lists the values as pops take them, leaving them there.
		for i := 0; i < 2; i++ {
			q := mp.Queued()
			if len(q) != len(c.want) {
				t.Fatalf("%s: Queued has %d values", mp.TypeName(), len(q))
			}
			for j, want := range c.want {
				if v := binary.LittleEndian.Uint64(q[j]); v != want {
					t.Errorf("%s: Queued()[%d] = %d, want %d", mp.TypeName(), j, v, want)
				}
			}
		}
		r.call(asm.FnMapPeekElem, mp.Ref(), r.buf())
		if v := binary.LittleEndian.Uint64(r.mem[128:]); v != c.want[0] {
			t.Errorf("%s: peek %d, want %d", mp.TypeName(), v, c.want[0])
		}
		for _, want := range c.want {
			r.call(asm.FnMapPopElem, mp.Ref(), r.buf())
			if v := binary.LittleEndian.Uint64(r.mem[128:]); v != want {
				t.Errorf("%s: pop %d, want %d", mp.TypeName(), v, want)
			}
		}
		if got := r.call(asm.FnMapPopElem, mp.Ref(), r.buf()); got != errENOENT {
			t.Fatalf("pop of an empty map: %#x", got)
		}
	}
}

func TestRingbuf(t *testing.T) {
	r := newRig(t)
	mp := r.addMap(vm.MapSpec{Name: "rb", Type: vm.MapRingbuf, MaxEntries: 4096})
	copy(r.mem[64:], "hello")
	if got := r.call(asm.FnRingbufOutput, mp.Ref(), r.value(), 5, 0); got != 0 {
		t.Fatalf("output: %#x", got)
	}
	// reserve 8 bytes, write them, submit; reserve again and discard.
	p := compileUBPF(t, `mov %r6, %r1
mov %r2, 8
mov %r3, 0
call 131
jeq %r0, 0, +8
lddw %r1, 0x0807060504030201
stxdw [%r0], %r1
mov %r1, %r0
mov %r2, 0
call 132
mov %r1, %r6
mov %r0, 1
exit
mov %r0, 0
exit`)
	if got, err := r.m.Run(p, mp.Ref()); err != nil || got != 1 {
		t.Fatalf("reserve and submit: %d, %v", got, err)
	}
	recs := mp.Records()
	if len(recs) != 2 || string(recs[0]) != "hello" || !bytes.Equal(recs[1], []byte{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("records %q", recs)
	}
	if got := r.call(asm.FnRingbufQuery, mp.Ref(), 0); got != 16+16 {
		t.Errorf("available data %d, want 32 (two records with their 8-byte headers)", got)
	}
	// Submitting memory that was not reserved stops the run.
	_, err := r.m.Run(compileUBPF(t, "mov %r2, 0\ncall 132\nexit"), r.value())
	if !errors.Is(err, vm.ErrHelper) {
		t.Fatalf("submit of unreserved memory: %v", err)
	}
}

func TestPerCPUArray(t *testing.T) {
	r := newRig(t)
	r.m.Env.NumCPU = 2
	mp := r.addMap(vm.MapSpec{Name: "pc", Type: vm.MapPerCPUArray, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	if err := mp.Update(u32(1), u64(5)); err != nil { // on every CPU
		t.Fatal(err)
	}
	r.m.Env.CPU = 1
	r.setKey(u32(1))
	p := compileUBPF(t, "call 1\nldxdw %r1, [%r0]\nadd %r1, 1\nstxdw [%r0], %r1\nexit")
	if _, err := r.m.Run(p, mp.Ref(), r.key()); err != nil {
		t.Fatal(err)
	}
	for cpu, want := range []uint64{5, 6} {
		if v, ok := mp.Lookup(u32(1), cpu); !ok || binary.LittleEndian.Uint64(v) != want {
			t.Errorf("CPU %d: %x, want %d", cpu, v, want)
		}
	}
	if got := r.call(asm.FnGetSmpProcessorId); got != 1 {
		t.Errorf("bpf_get_smp_processor_id: %d", got)
	}
}

func TestDeterministicHelpers(t *testing.T) {
	r := newRig(t)
	r.m.Env = vm.Env{Time: 1000, TimeStep: 10, Seed: 7, PID: 3, TGID: 4}
	if a, b := r.call(asm.FnKtimeGetNs), r.call(asm.FnKtimeGetNs); a != 1000 || b != 1010 {
		t.Errorf("ktime: %d, %d", a, b)
	}
	if got := r.call(asm.FnGetCurrentPidTgid); got != 4<<32|3 {
		t.Errorf("pid_tgid: %#x", got)
	}
	a1, a2 := r.call(asm.FnGetPrandomU32), r.call(asm.FnGetPrandomU32)
	r.m.Env.Seed = 7
	if b1 := r.call(asm.FnGetPrandomU32); a1 != b1 || a1 == a2 {
		t.Errorf("prandom: %#x %#x, again from the seed %#x", a1, a2, b1)
	}
	copy(r.mem[64:], "n=%d x=%x %s|\x00")
	copy(r.mem[128:], "str\x00")
	got := r.call(asm.FnTracePrintk, r.value(), 16, uint64(0xffffffff), 255, r.buf())
	if out := r.m.TraceOutput(); out != "n=-1 x=ff str|\n" || got != 14 {
		t.Errorf("trace_printk printed %q, returned %d", out, got)
	}
}

func TestUnknownMapArgument(t *testing.T) {
	r := newRig(t)
	_, err := r.m.Run(compileUBPF(t, "call 1\nexit"), 1234, r.key())
	if !errors.Is(err, vm.ErrHelper) || !strings.Contains(err.Error(), "is not a map") {
		t.Fatalf("lookup in a non-map: %v", err)
	}
}

func TestMapsOfMaps(t *testing.T) {
	for _, typ := range []uint32{vm.MapArrayOfMaps, vm.MapHashOfMaps} {
		r := newRig(t)
		inner := r.addMap(vm.MapSpec{Name: "inner", Type: vm.MapArray, KeySize: 4, ValueSize: 8, MaxEntries: 1})
		if err := inner.Update(u32(0), u64(1234)); err != nil {
			t.Fatal(err)
		}
		outer := r.addMap(vm.MapSpec{Name: "outer", Type: typ, KeySize: 4, ValueSize: 4, MaxEntries: 2, Init: []int{-1, 0}})
		// outer[1] is inner; inner[0] is 1234; outer[0] is empty.
		p := compileUBPF(t, `mov %r6, %r1
mov %r7, %r2
call 1
jeq %r0, 0, +6
mov %r1, %r0
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
call 1
ldxdw %r0, [%r0]
exit`)
		r.setKey(u32(1))
		got, err := r.m.Run(p, outer.Ref(), r.key())
		if err != nil || got != 1234 {
			t.Errorf("%s: outer[1][0] = %d, %v", outer.TypeName(), got, err)
		}
		r.setKey(u32(0))
		if got, err := r.m.Run(p, outer.Ref(), r.key()); err != nil || got != 0 {
			t.Errorf("%s: outer[0] = %d, %v, want no map", outer.TypeName(), got, err)
		}
	}
}

// TestPerfEventOutput: samples go to the current CPU's buffer, padded as
// a perf reader reads them; another CPU's index is -EOPNOTSUPP, an index
// past the array -E2BIG, packet-length flags outside skb and XDP programs
// -EINVAL. A perf event array without max_entries has one per CPU.
func TestPerfEventOutput(t *testing.T) {
	r := newRig(t)
	r.m.Env.CPU, r.m.Env.NumCPU = 1, 2
	mp := r.addMap(vm.MapSpec{Name: "pe", Type: vm.MapPerfEvents, KeySize: 4, ValueSize: 4})
	if mp.MaxEntries != 2 {
		t.Errorf("max_entries %d, want 2 (the CPUs)", mp.MaxEntries)
	}
	r.setValue([]byte("hello, perf"))
	for _, c := range []struct {
		flags uint64
		want  uint64
	}{
		{0xffffffff, 0},
		{1, 0},
		{0, ^uint64(95 - 1)},
		{2, errE2BIG},
		{0xffffffff | 1<<32, ^uint64(22 - 1)},
	} {
		if got := r.call(asm.FnPerfEventOutput, 0, mp.Ref(), c.flags, r.value(), 11); got != c.want {
			t.Errorf("flags %#x: %#x, want %#x", c.flags, got, c.want)
		}
	}
	recs := mp.Records()
	want := "hello, perf\x00"
	if len(recs) != 2 || string(recs[0]) != want || string(recs[1]) != want {
		t.Errorf("records %q, want two of %q", recs, want)
	}
}

// TestLPMTrieKeepsKeyBytes: an LPM trie stores the key of the last update
// as given, bits past the prefix included, as the kernel does (bpftool map
// dump after updating 10.1.2.3/8 then 10.9.9.9/8 on Linux 6.18 shows one
// element, key 08 00 00 00 0a 09 09 09); a delete with other bits past the
// prefix removes it.
func TestLPMTrieKeepsKeyBytes(t *testing.T) {
	r := newRig(t)
	mp := r.addMap(vm.MapSpec{Name: "lpm", Type: vm.MapLPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 8})
	for i, k := range [][]byte{{8, 0, 0, 0, 10, 1, 2, 3}, {8, 0, 0, 0, 10, 9, 9, 9}} {
		if err := mp.Update(k, u32(uint32(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	keys := mp.Keys()
	if len(keys) != 1 || !bytes.Equal(keys[0], []byte{8, 0, 0, 0, 10, 9, 9, 9}) {
		t.Fatalf("keys %x, want [08000000 0a090909]", keys)
	}
	r.setKey([]byte{8, 0, 0, 0, 10, 7, 7, 7})
	if got := r.call(asm.FnMapDeleteElem, mp.Ref(), r.key()); got != 0 {
		t.Fatalf("delete: %#x", got)
	}
	if keys := mp.Keys(); len(keys) != 0 {
		t.Fatalf("keys %x after the delete", keys)
	}
}

// TestLPMTriePrefixPastKey: a lookup key whose prefix length is past the
// key's bits finds nothing, and a delete with one is -EINVAL, as the
// kernel does (bpftool on Linux 6.18: lookup of 33/10.1.2.3 in a trie
// holding 10.0.0.0/8 is not found, 32/10.1.2.3 finds it, delete of
// 33/10.1.2.3 is EINVAL).
func TestLPMTriePrefixPastKey(t *testing.T) {
	r := newRig(t)
	mp := r.addMap(vm.MapSpec{Name: "lpm", Type: vm.MapLPMTrie, KeySize: 8, ValueSize: 4, MaxEntries: 8})
	if err := mp.Update([]byte{8, 0, 0, 0, 10, 1, 2, 3}, u32(1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		plen  byte
		found bool
	}{{33, false}, {32, true}, {0, false}} {
		r.setKey([]byte{c.plen, 0, 0, 0, 10, 1, 2, 3})
		if got := r.call(asm.FnMapLookupElem, mp.Ref(), r.key()); (got != 0) != c.found {
			t.Errorf("lookup with prefix length %d: %#x", c.plen, got)
		}
	}
	r.setKey([]byte{33, 0, 0, 0, 10, 1, 2, 3})
	if got := r.call(asm.FnMapDeleteElem, mp.Ref(), r.key()); got != errEINVAL {
		t.Errorf("delete with prefix length 33: %#x, want -EINVAL", got)
	}
}

// TestRingbufLimits: a ring buffer's producer stays less than its size
// ahead of its consumer, so records of 8-byte header and data rounded to
// 8 fill at most size-8 bytes; bpf_ringbuf_reserve with flags gives NULL
// and bpf_ringbuf_output with flags other than BPF_RB_NO_WAKEUP and
// BPF_RB_FORCE_WAKEUP -EINVAL, as the kernel does (compared with Linux
// 6.18 under --engine both in cmd/bpfstar/testdata/script/test.txtar).
func TestRingbufLimits(t *testing.T) {
	reserve := compileUBPF(t, "call 131\njeq %r0, 0, +4\nmov %r1, %r0\nmov %r2, 0\ncall 133\nmov %r0, 1\nexit")
	for _, c := range []struct {
		size, flags uint64
		ok          bool
	}{{4080, 0, true}, {4087, 0, false}, {4088, 0, false}, {8, 1, false}} {
		r := newRig(t)
		mp := r.addMap(vm.MapSpec{Name: "rb", Type: vm.MapRingbuf, MaxEntries: 4096})
		got, err := r.m.Run(reserve, mp.Ref(), c.size, c.flags)
		if err != nil || (got == 1) != c.ok {
			t.Errorf("reserve of %d bytes, flags %d: %d, %v", c.size, c.flags, got, err)
		}
	}
	for _, c := range []struct{ size, flags, want uint64 }{{8, 3, 0}, {8, 4, errEINVAL}, {4080, 0, 0}, {4088, 0, ^uint64(11 - 1)}} {
		r := newRig(t)
		big := make([]byte, 4096)
		at := r.m.SetMemory("big", big)
		mp := r.addMap(vm.MapSpec{Name: "rb", Type: vm.MapRingbuf, MaxEntries: 4096})
		if got := r.call(asm.FnRingbufOutput, mp.Ref(), at, c.size, c.flags); got != c.want {
			t.Errorf("output of %d bytes, flags %d: %#x, want %#x", c.size, c.flags, got, c.want)
		}
	}
}

// TestQueuePushNoExist: bpf_map_push_elem refuses BPF_NOEXIST (-EINVAL),
// full or not, as the kernel does (Linux 6.18 under --engine both).
func TestQueuePushNoExist(t *testing.T) {
	for _, typ := range []uint32{vm.MapQueue, vm.MapStack} {
		r := newRig(t)
		mp := r.addMap(vm.MapSpec{Name: "q", Type: typ, ValueSize: 8, MaxEntries: 2})
		r.setValue(u64(7))
		if got := r.call(asm.FnMapPushElem, mp.Ref(), r.value(), 1); got != errEINVAL {
			t.Errorf("map type %d: push with BPF_NOEXIST: %#x, want -EINVAL", typ, got)
		}
	}
}
