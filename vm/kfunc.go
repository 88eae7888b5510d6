package vm

import (
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/objreader"
)

// kfuncs are the kernel functions the interpreter models, by name: those
// whose effect a run without a kernel can have exactly. Every other kfunc
// stops a run that calls it, naming it.
//
//   - bpf_rcu_read_lock, bpf_rcu_read_unlock, bpf_preempt_disable,
//     bpf_preempt_enable: nothing runs concurrently with the program, so
//     the critical section they mark needs nothing; they return nothing.
//   - bpf_iter_num_new, bpf_iter_num_next, bpf_iter_num_destroy: the
//     open-coded numeric iterator (bpf_for, bpf_repeat), as the kernel
//     runs it on its 8-byte state (struct bpf_iter_num: the current and
//     last number, two ints): new refuses start > end (-EINVAL) and
//     ranges of more than 8388608 numbers (-E2BIG), next returns the
//     address of the current number in the iterator, or NULL when done.
var kfuncs = map[string]Helper{
	"bpf_rcu_read_lock":    noKfunc,
	"bpf_rcu_read_unlock":  noKfunc,
	"bpf_preempt_disable":  noKfunc,
	"bpf_preempt_enable":   noKfunc,
	"bpf_iter_num_new":     kfuncIterNumNew,
	"bpf_iter_num_next":    kfuncIterNumNext,
	"bpf_iter_num_destroy": kfuncIterNumDestroy,
}

func noKfunc(*Machine, [5]uint64) (uint64, error) { return 0, nil }

// maxIterNum is BPF_MAX_LOOPS: the most numbers a bpf_iter_num yields.
const maxIterNum = 8 * 1024 * 1024

// setIterNum writes the state of the bpf_iter_num at a.
func (m *Machine) setIterNum(a uint64, cur, end int32) error {
	b := binary.LittleEndian.AppendUint32(nil, uint32(cur))
	return m.Write(a, binary.LittleEndian.AppendUint32(b, uint32(end)))
}

// kfuncIterNumNew returns an int, which a kfunc leaves zero-extended in
// r0 (unlike a helper, whose errors are 64-bit): -EINVAL is 0xffffffea.
func kfuncIterNumNew(m *Machine, a [5]uint64) (uint64, error) {
	start, end := int32(a[1]), int32(a[2])
	switch {
	case start > end:
		return uint64(uint32(errno(einval))), m.setIterNum(a[0], 0, 0)
	case int64(end)-int64(start) > maxIterNum:
		return uint64(uint32(errno(e2big))), m.setIterNum(a[0], 0, 0)
	}
	return 0, m.setIterNum(a[0], start-1, end)
}

func kfuncIterNumNext(m *Machine, a [5]uint64) (uint64, error) {
	b, err := m.Read(a[0], 8)
	if err != nil {
		return 0, err
	}
	cur, end := int32(binary.LittleEndian.Uint32(b)), int32(binary.LittleEndian.Uint32(b[4:]))
	if int64(cur+1) >= int64(end) { // cur+1 wraps, as the kernel's int does
		return 0, m.setIterNum(a[0], 0, 0)
	}
	return a[0], m.setIterNum(a[0], cur+1, end)
}

func kfuncIterNumDestroy(m *Machine, a [5]uint64) (uint64, error) {
	return 0, m.setIterNum(a[0], 0, 0)
}

// kfuncTag tags the address a 64-bit load of a modelled kfunc gives
// (bpf_ksym_exists): not zero, and not memory.
const kfuncTag = uint64(0xf3) << 56

// externKind is what an undefined symbol of an object declares.
type externKind int

const (
	externKsym    externKind = iota // a kernel variable (the default)
	externKfunc                     // a kernel function: a FUNC in .ksyms
	externKconfig                   // a kernel configuration value: in .kconfig
)

// externKinds classifies the externs of f by the BTF DATASEC that
// declares them (.ksyms FUNCs are kfuncs, .kconfig VARs kconfig values).
func externKinds(f *objreader.File) map[string]externKind {
	kinds := map[string]externKind{}
	spec, err := f.BTF()
	if err != nil {
		return kinds
	}
	for t, err := range spec.All() {
		if err != nil {
			return kinds
		}
		ds, ok := t.(*btf.Datasec)
		if !ok || ds.Name != ".ksyms" && ds.Name != ".kconfig" {
			continue
		}
		for _, v := range ds.Vars {
			switch vt := v.Type.(type) {
			case *btf.Func:
				kinds[vt.Name] = externKfunc
			case *btf.Var:
				if ds.Name == ".kconfig" {
					kinds[vt.Name] = externKconfig
				} else {
					kinds[vt.Name] = externKsym
				}
			}
		}
	}
	return kinds
}

// externValue returns what a 64-bit load of the extern name gives in the
// interpreter, which stands for a kernel that has the kfuncs it models and
// no other kernel symbol: a modelled kfunc's (tagged) address, 0 for a
// weak extern it lacks (as a loader gives for a weak extern the kernel
// lacks); or an ErrUnsupported error naming what it cannot give.
func externValue(name string, kind externKind, weak bool) (uint64, error) {
	switch kind {
	case externKconfig:
		return 0, fmt.Errorf("%w: %s is a kconfig extern, a value of the kernel's configuration, which the interpreter does not have", ErrUnsupported, name)
	case externKfunc:
		if _, ok := kfuncs[name]; ok {
			return kfuncTag, nil
		}
		if weak {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: the address of kfunc %s, which the interpreter does not model", ErrUnsupported, name)
	}
	if weak {
		return 0, nil
	}
	return 0, fmt.Errorf("%w: %s is a kernel symbol (ksym), which only a kernel has", ErrUnsupported, name)
}

// kfunc returns the model of the kfunc a call with BTF id id calls, or
// nil.
func (m *Machine) kfunc(id int64) Helper {
	return kfuncs[m.kfuncs[id]]
}
