// Package btftest makes small raw BTF files that look like a kernel's, for
// tests of btf_types, CO-RE and kfuncs that must not depend on the running
// kernel's 5 MB vmlinux: a task_struct (pid, tgid, a flags bitfield, comm,
// real_parent, an embedded struct), enum pid_type, kfunc prototypes and a
// ksym variable. Layout picks where task_struct's members are, so that one
// object can be relocated against two layouts; Extra adds types a program
// does not use, so that two files differ only outside what it uses.
package btftest

import (
	"fmt"

	cbtf "github.com/cilium/ebpf/btf"
)

// Options choose the file's contents.
type Options struct {
	// Layout 0 puts task_struct's members at the offsets of the table
	// below; Layout 1 moves every one of them (and changes the size).
	Layout int
	// Extra adds that many unrelated structs, before and after the
	// kernel's types, so that type IDs and the string table change.
	Extra int
}

// Offsets of task_struct's members in bytes, per layout.
var Offsets = [2]map[string]uint32{
	{"flags": 4, "pid": 8, "tgid": 12, "comm": 16, "real_parent": 32, "se": 40, "size": 64},
	{"flags": 102, "pid": 200, "tgid": 208, "comm": 240, "real_parent": 264, "se": 304, "size": 400},
}

// Kernel returns a raw BTF file (as /sys/kernel/btf/vmlinux is one).
func Kernel(o Options) []byte {
	var types []cbtf.Type
	extra := func(tag string) {
		for i := range o.Extra {
			types = append(types, &cbtf.Struct{Name: fmt.Sprintf("unused_%s_%d", tag, i), Size: 4, Members: []cbtf.Member{{Name: "x", Type: &cbtf.Int{Name: "int", Size: 4, Encoding: cbtf.Signed}}}})
		}
	}
	extra("a")
	off := Offsets[o.Layout]
	intT := &cbtf.Int{Name: "int", Size: 4, Encoding: cbtf.Signed}
	uintT := &cbtf.Int{Name: "unsigned int", Size: 4}
	u64 := &cbtf.Int{Name: "long long unsigned int", Size: 8}
	charT := &cbtf.Int{Name: "char", Size: 1, Encoding: cbtf.Signed}
	pidT := &cbtf.Typedef{Name: "pid_t", Type: &cbtf.Typedef{Name: "__kernel_pid_t", Type: intT}}
	se := &cbtf.Struct{Name: "sched_entity", Size: 24, Members: []cbtf.Member{
		{Name: "exec_start", Type: u64, Offset: 0},
		{Name: "vruntime", Type: u64, Offset: 64},
		{Name: "nr_migrations", Type: u64, Offset: 128},
	}}
	task := &cbtf.Struct{Name: "task_struct", Size: off["size"]}
	task.Members = []cbtf.Member{
		{Name: "flags", Type: uintT, Offset: cbtf.Bits(8*off["flags"] + 3), BitfieldSize: 5},
		{Name: "pid", Type: pidT, Offset: cbtf.Bits(8 * off["pid"])},
		{Name: "tgid", Type: pidT, Offset: cbtf.Bits(8 * off["tgid"])},
		{Name: "comm", Type: &cbtf.Array{Index: intT, Type: charT, Nelems: 16}, Offset: cbtf.Bits(8 * off["comm"])},
		{Name: "real_parent", Type: &cbtf.Pointer{Target: task}, Offset: cbtf.Bits(8 * off["real_parent"])},
		{Name: "se", Type: se, Offset: cbtf.Bits(8 * off["se"])},
	}
	pidType := &cbtf.Enum{Name: "pid_type", Size: 4, Values: []cbtf.EnumValue{{Name: "PIDTYPE_PID", Value: 0}, {Name: "PIDTYPE_TGID", Value: 1}, {Name: "PIDTYPE_PGID", Value: 2}, {Name: "PIDTYPE_SID", Value: 3}, {Name: "PIDTYPE_MAX", Value: 4}}}
	taskPtr := &cbtf.Pointer{Target: task}
	fromPid := &cbtf.Func{Name: "bpf_task_from_pid", Linkage: cbtf.GlobalFunc, Type: &cbtf.FuncProto{Return: taskPtr, Params: []cbtf.FuncParam{{Name: "pid", Type: &cbtf.Typedef{Name: "s32", Type: intT}}}}}
	release := &cbtf.Func{Name: "bpf_task_release", Linkage: cbtf.GlobalFunc, Type: &cbtf.FuncProto{Return: &cbtf.Void{}, Params: []cbtf.FuncParam{{Name: "p", Type: taskPtr}}}}
	rcuLock := &cbtf.Func{Name: "bpf_rcu_read_lock", Linkage: cbtf.GlobalFunc, Type: &cbtf.FuncProto{Return: &cbtf.Void{}}}
	rcuUnlock := &cbtf.Func{Name: "bpf_rcu_read_unlock", Linkage: cbtf.GlobalFunc, Type: &cbtf.FuncProto{Return: &cbtf.Void{}}}
	ksym := &cbtf.Var{Name: "bpf_prog_active", Linkage: cbtf.GlobalVar, Type: intT}
	types = append(types, task, pidType, fromPid, release, rcuLock, rcuUnlock, ksym)
	extra("b")
	b, err := cbtf.NewBuilder(types, nil)
	if err != nil {
		panic(err) // the types above are fixed: a failure is a bug here
	}
	data, err := b.Marshal(nil, nil)
	if err != nil {
		panic(err)
	}
	return data
}
