package compile_test

import (
	"encoding/binary"
	"testing"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/btftest"
)

// hostileSrc uses every way a program reaches into a BTF file: types,
// member paths (arrays, embedded structs, a bitfield, pointers followed),
// enums, kfunc prototypes and a ksym's type.
const hostileSrc = `
k = btf_types(":k.btf")
t = k.type("task_struct")
section("syscall", "p", [
    core.ldx(r1, r1, t, "tgid"),
    core.field_offset(r1, t, "comm[3]"),
    core.field_lshift(r1, t, "flags"),
    core.field_size(r1, t, "se.vruntime"),
    core.type_size(r1, t),
    core.type_matches(r1, t),
    core.type_id_target(r1, t),
    core.enum_value(r1, k.type("enum pid_type"), "PIDTYPE_SID"),
    core.read(r1, r1, t, "real_parent->real_parent->pid"),
    insn.call_kfunc("bpf_task_from_pid", k),
    insn.ld_ksym(r1, "bpf_prog_active", k),
    exit(),
])
license("GPL")
`

// TestHostileBTF builds hostileSrc against damaged BTF files: every 32-bit
// word of a small kernel-like file (internal/btftest) set in turn to
// values that make IDs, offsets, sizes, counts, kinds and flags absurd.
// Each build ends in an object or an error, never a panic. (A typedef of
// void as a member's type made core.ldx dereference nil.)
func TestHostileBTF(t *testing.T) {
	good := btftest.Kernel(btftest.Options{})
	if _, err := compile.Source("p.star", []byte(hostileSrc), compile.Options{ReadFile: func(from, label string) (string, []byte, error) {
		return "k.btf", good, nil
	}}); err != nil {
		t.Fatalf("the undamaged file: %v", err)
	}
	values := []uint32{0, 1, 2, 3, 7, 8, 63, 64, 65, 0xff, 0x100, 0x7fff, 0xffff, 0x10000, 0x1000000, 0x7fffffff, 0x80000000, 0x81000000, 0x84000000, 0xff000000, 0xffffffff}
	for i := 24; i+4 <= len(good); i += 4 {
		for _, v := range values {
			data := append([]byte(nil), good...)
			binary.LittleEndian.PutUint32(data[i:], v)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("word at byte %d = %#x: panic: %v", i, v, r)
					}
				}()
				compile.Source("p.star", []byte(hostileSrc), compile.Options{ReadFile: func(from, label string) (string, []byte, error) {
					return "k.btf", data, nil
				}})
			}()
		}
	}
}
