package link

import (
	"bytes"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/asm"
	bbtf "github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/isa"
)

func core(x isa.Instruction, line int32, r *CoreRelo) asm.Instruction {
	i := ins(x, line)
	i.Metadata = WithCoreRelo(i.Metadata, r)
	return i
}

// TestCoreRelos: the records of .BTF.ext point at the relocated
// instructions of the program's section, with access strings into the
// local types as the object has them: task_struct pruned to the two
// members read (at their offsets, in its size), the enum to its one
// enumerator used, a shell for TYPE_SIZE; a TYPE_ID_TARGET's immediate is
// the local type's ID.
func TestCoreRelos(t *testing.T) {
	s32 := &bbtf.Int{Name: "int", Bytes: 4, Encoding: bbtf.IntSigned}
	task := &bbtf.Struct{Name: "task_struct", Members: []bbtf.Field{
		{Name: "flags", Type: s32}, {Name: "pid", Type: s32}, {Name: "tgid", Type: s32}, {Name: "comm", Type: &bbtf.Array{Elem: s32, N: 4}},
	}, Layout: &bbtf.Layout{Bytes: 400, BitOffsets: []uint64{0, 800, 832, 1600}}}
	pidType := &bbtf.Enum{Name: "pid_type", Bytes: 4, Values: []bbtf.Enum64Value{{Name: "PIDTYPE_PID"}, {Name: "PIDTYPE_TGID", Value: 1}}}
	ldx := isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, isa.SizeW), Src: isa.R1, Off: 104}
	u := &Unit{
		File: "u.src",
		Programs: []asm.Program{{Section: "socket", Symbol: "prog", Pos: pos(1), Insns: []asm.Instruction{
			core(ldx, 2, &CoreRelo{Kind: bbtf.CoreFieldByteOffset, Type: task, Access: []int{0, 2}}),
			core(isa.Instruction{Op: 0xb7, Imm: 200}, 3, &CoreRelo{Kind: bbtf.CoreFieldByteOffset, Type: task, Access: []int{0, 3, 2}}),
			core(isa.Instruction{Op: 0xb7, Imm: 400}, 4, &CoreRelo{Kind: bbtf.CoreTypeSize, Type: task, Access: []int{0}}),
			core(isa.Instruction{Op: 0xb7, Imm: 1}, 5, &CoreRelo{Kind: bbtf.CoreEnumvalValue, Type: pidType, Access: []int{1}}),
			core(isa.Instruction{Op: 0xb7}, 6, &CoreRelo{Kind: bbtf.CoreTypeIDTarget, Type: task, Access: []int{0}}),
			ins(exit, 7),
		}}},
		License: "GPL", HasLicense: true,
	}
	obj, err := linkBytes(t, u)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	insns := spec.Programs["prog"].Instructions
	var got []string
	ids := make([]btf.TypeID, 5)
	for i := range ids {
		r := btf.CORERelocationMetadata(&insns[i])
		if r == nil {
			t.Fatalf("instruction %d has no CO-RE relocation", i)
		}
		m := localID.FindStringSubmatch(r.String())
		if m == nil {
			t.Fatalf("no local_id in %s", r)
		}
		n, _ := strconv.Atoi(m[2])
		ids[i] = btf.TypeID(n)
		got = append(got, m[1])
	}
	want := []string{"byte_off, Struct:\"task_struct\"[0:0]", "byte_off, Struct:\"task_struct\"[0:1:2]", "type_size, Struct:\"task_struct\"[0]", "enumval_value, Enum:\"pid_type\"[0]", "target_type_id, Struct:\"task_struct\"[0]"}
	if !slices.Equal(got, want) {
		t.Errorf("relocations\n%q, want\n%q", got, want)
	}
	typ := func(id btf.TypeID) btf.Type {
		x, err := spec.Types.TypeByID(id)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	// Field relocations share one task_struct of the members they read.
	if ids[0] != ids[1] {
		t.Errorf("the two field relocations have two local types, [%d] and [%d]", ids[0], ids[1])
	}
	pruned := typ(ids[0]).(*btf.Struct)
	if pruned.Size != 400 || len(pruned.Members) != 2 || pruned.Members[0].Name != "tgid" || pruned.Members[0].Offset != 832 || pruned.Members[1].Name != "comm" || pruned.Members[1].Offset != 1600 {
		t.Errorf("local task_struct of the field relocations: %v %+v", pruned, pruned.Members)
	}
	shell := typ(ids[2]).(*btf.Struct)
	if shell.Size != 400 || len(shell.Members) != 0 {
		t.Errorf("local task_struct of TYPE_SIZE: %v", shell)
	}
	if e := typ(ids[3]).(*btf.Enum); len(e.Values) != 1 || e.Values[0].Name != "PIDTYPE_TGID" {
		t.Errorf("local enum: %+v", e.Values)
	}
	// TYPE_ID_TARGET's immediate is its local type's ID.
	if insns[4].Constant != int64(ids[4]) || ids[4] == 0 {
		t.Errorf("TYPE_ID_TARGET's immediate %d, local type [%d]", insns[4].Constant, ids[4])
	}
}

var localID = regexp.MustCompile(`^CORERelocation\((.*), local_id=(\d+)\)$`)

// TestCoreReloErrors: a relocation on an instruction the loaders do not
// patch, and an access through a member that has none, are errors at the
// instruction.
func TestCoreReloErrors(t *testing.T) {
	s32 := &bbtf.Int{Name: "int", Bytes: 4, Encoding: bbtf.IntSigned}
	task := &bbtf.Struct{Name: "task_struct", Members: []bbtf.Field{{Name: "pid", Type: s32}}}
	for _, tc := range []struct {
		ins  isa.Instruction
		r    *CoreRelo
		want string
	}{
		{exit, &CoreRelo{Kind: bbtf.CoreFieldByteOffset, Type: task, Access: []int{0, 0}}, "u.src:2:1: a CO-RE relocation on exit: the loaders patch only"},
		{mov0, &CoreRelo{Kind: bbtf.CoreFieldByteOffset, Type: task, Access: []int{0, 0, 1}}, "u.src:2:1: an access through int, which has no members"},
		{mov0, &CoreRelo{Kind: bbtf.CoreFieldByteOffset, Type: task, Access: []int{0, 5}}, "u.src:2:1: member index 5 out of range"},
		{isa.Instruction{Op: isa.MemOp(isa.ClassLDX, isa.ModeMEM, isa.SizeW)}, &CoreRelo{Kind: bbtf.CoreFieldByteSize, Type: task, Access: []int{0, 0}}, "u.src:2:1: a FIELD_BYTE_SIZE relocation on a load or store"},
	} {
		u := &Unit{File: "u.src", Programs: []asm.Program{{Section: "socket", Symbol: "prog", Pos: pos(1), Insns: []asm.Instruction{core(tc.ins, 2, tc.r), ins(exit, 3)}}}}
		_, err := Link(u)
		var le *Error
		if !errors.As(err, &le) || le.Kind != ErrCoreRelo || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.r, err, tc.want)
		}
	}
}
