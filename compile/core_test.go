package compile_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/btftest"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

// coreSrc reads task_struct of a synthetic kernel (internal/btftest) with
// CO-RE, in socket filters that return what they read: tgid's offset,
// the 4 bytes at tgid's offset in a map value whose byte i is i, the
// size of task_struct, the same offset through a ___flavor type, and
// whether a member exists.
const coreSrc = `
k = btf_types(":kernel.btf")
task = k.type("task_struct")
mine = types.struct("task_struct___mine", [("tgid", types.s32), ("gone", types.u32)])
buf = bpf_map("buf", "array", key_size = 4, value_size = 512, max_entries = 1)
section("socket", "offset", [core.field_offset(r0, task, "tgid"), exit()])
section("socket", "size", [core.type_size(r0, task), exit()])
section("socket", "flavor", [core.field_offset(r0, mine, "tgid"), exit()])
section("socket", "gone", [core.field_exists(r0, mine, "gone"), exit()])
section("socket", "flags_off", [core.field_offset(r0, task, "flags"), exit()])
section("socket", "flags_size", [core.field_size(r0, task, "flags"), exit()])
section("socket", "flags_lshift", [core.field_lshift(r0, task, "flags"), exit()])
section("socket", "flags_rshift", [core.field_rshift(r0, task, "flags"), exit()])
section("socket", "signed", [core.field_signed(r0, task, "tgid"), exit()])
section("socket", "sid", [core.enum_value(r0, k.type("enum pid_type"), "PIDTYPE_SID"), exit()])
section("socket", "matches", [core.type_matches(r0, task), exit()])
section("socket", "target_id", [core.type_id_target(r0, task), exit()])
section("socket", "load", [
    insn.st_mem("w", fp, -4, 0),
    insn.ld_map_fd(r1, buf),
    insn.mov64_reg(r2, fp),
    insn.alu64_imm("add", r2, -4),
    insn.call("map_lookup_elem"),
    insn.jmp_imm("jne", r0, 0, "found"),
    exit(),
    label("found"),
    core.ldx(r0, r0, task, "tgid"),
    exit(),
])
license("GPL")
`

func buildCore(t *testing.T, src string, files map[string][]byte) []byte {
	t.Helper()
	obj, err := compile.Source("core.star", []byte(src), compile.Options{ReadFile: func(from, label string) (string, []byte, error) {
		data, ok := files[label]
		if !ok {
			return "", nil, fmt.Errorf("no file %s", label)
		}
		return strings.TrimPrefix(label, ":"), data, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

// ciliumPrograms loads obj into the kernel with cilium/ebpf
// (testenv.Collection, closed when t ends) and returns its programs.
func ciliumPrograms(t *testing.T, obj []byte) map[string]*ebpf.Program {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Collection(t, spec).Programs
}

// tempObject writes obj to a file named name in t's temporary directory
// and returns its path.
func tempObject(t *testing.T, name string, obj []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// bpftoolPrograms loads the object at path into the kernel with bpftool
// prog loadall (libbpf), pinning its programs in a fresh testenv.PinDir,
// and opens the named ones from their pins. The programs are closed and
// the pins removed when t ends.
func bpftoolPrograms(t *testing.T, bpftool, path string, names []string) map[string]*ebpf.Program {
	t.Helper()
	pins := filepath.Join(testenv.PinDir(t), "progs")
	if out, err := exec.Command(bpftool, "prog", "loadall", path, pins).CombinedOutput(); err != nil {
		t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
	}
	progs := map[string]*ebpf.Program{}
	for _, name := range names {
		p, err := ebpf.LoadPinnedProgram(filepath.Join(pins, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		progs[name] = p
	}
	return progs
}

// bpftoolBSS loads the object at path with bpftool prog loadall (libbpf),
// pinning its programs in dir/progs and its maps in dir/maps (dir on
// bpffs, from testenv.PinDir), and opens the program name and the one
// .bss map. Both are closed when t ends.
func bpftoolBSS(t *testing.T, bpftool, path, dir, name string) (*ebpf.Program, *ebpf.Map) {
	t.Helper()
	progs, maps := filepath.Join(dir, "progs"), filepath.Join(dir, "maps")
	if out, err := exec.Command(bpftool, "prog", "loadall", path, progs, "pinmaps", maps).CombinedOutput(); err != nil {
		t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
	}
	prog, err := ebpf.LoadPinnedProgram(filepath.Join(progs, name), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	pinned, err := filepath.Glob(filepath.Join(maps, "*bss"))
	if err != nil || len(pinned) != 1 {
		t.Fatalf("pinned .bss: %v %v", pinned, err)
	}
	out, err := ebpf.LoadPinnedMap(pinned[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	return prog, out
}

// TestCoreSyntheticLayouts: one object, built against layout 0 of the
// synthetic task_struct, is relocated by cilium/ebpf against layout 0 and
// against layout 1 (ProgramOptions.KernelTypes), and its programs, run by
// the kernel, read layout 1's offsets: the relocations are real, not
// baked in. Every kind is there: field offset (on a load, on an ALU
// immediate, through a ___flavor type), size, existence, signedness, a
// bitfield's load and shifts, type size, match and target ID, enum value.
func TestCoreSyntheticLayouts(t *testing.T) {
	testenv.Root(t)
	obj := buildCore(t, coreSrc, map[string][]byte{":kernel.btf": btftest.Kernel(btftest.Options{})})
	for layout, off := range btftest.Offsets {
		t.Run(fmt.Sprint("layout", layout), func(t *testing.T) {
			spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
			if err != nil {
				t.Fatal(err)
			}
			target, err := cbtf.LoadSpecFromReader(bytes.NewReader(btftest.Kernel(btftest.Options{Layout: layout})))
			if err != nil {
				t.Fatal(err)
			}
			coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{KernelTypes: target}})
			if err != nil {
				var ve *ebpf.VerifierError
				if errors.As(err, &ve) {
					t.Fatalf("%+v", ve)
				}
				t.Fatal(err)
			}
			defer coll.Close()
			value := make([]byte, 512)
			for i := range value {
				value[i] = byte(i)
			}
			if err := coll.Maps["buf"].Put(uint32(0), value); err != nil {
				t.Fatal(err)
			}
			o := off["tgid"]
			// flags is 5 bits at bit 3 of its byte: libbpf's (and
			// cilium/ebpf's) load of a 4-byte unit that holds it, and
			// the shifts that extract it.
			bit := 8*off["flags"] + 3
			unit := bit / 8 / 4 * 4
			var task *cbtf.Struct
			if err := target.TypeByName("task_struct", &task); err != nil {
				t.Fatal(err)
			}
			taskID, err := target.TypeID(task)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]uint32{
				"offset":       o,
				"size":         off["size"],
				"flavor":       o,
				"gone":         0,
				"load":         o | (o+1)<<8 | (o+2)<<16 | (o+3)<<24,
				"flags_off":    unit,
				"flags_size":   4,
				"flags_lshift": 64 - (bit + 5 - 8*unit),
				"flags_rshift": 64 - 5,
				"signed":       1,
				"sid":          3,
				"matches":      1,
				"target_id":    uint32(taskID),
			}
			for name, w := range want {
				got, err := coll.Programs[name].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got != w {
					t.Errorf("%s returned %#x, want %#x", name, got, w)
				}
			}
		})
	}
}

// TestCoreOnlyUsedTypes: two BTF files that agree on the types a program
// uses and differ in everything else (other types before and after them,
// so other type IDs and string offsets) give byte-identical objects.
func TestCoreOnlyUsedTypes(t *testing.T) {
	a := btftest.Kernel(btftest.Options{})
	b := btftest.Kernel(btftest.Options{Extra: 50})
	if bytes.Equal(a, b) || len(b) < 2*len(a) {
		t.Fatalf("the two BTF files are not different enough: %d and %d bytes", len(a), len(b))
	}
	objA := buildCore(t, coreSrc, map[string][]byte{":kernel.btf": a})
	objB := buildCore(t, coreSrc, map[string][]byte{":kernel.btf": b})
	if !bytes.Equal(objA, objB) {
		t.Errorf("objects differ (%d and %d bytes)", len(objA), len(objB))
	}
	// The object's BTF has task_struct with the two members the field
	// relocations use, not its six; the shell (name and size) of
	// type_size and type_id_target; and the whole struct that
	// type_matches compares.
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(objA))
	if err != nil {
		t.Fatal(err)
	}
	var task []*cbtf.Struct
	for typ := range spec.Types.All() {
		if s, ok := typ.(*cbtf.Struct); ok && s.Name == "task_struct" {
			task = append(task, s)
		}
	}
	var shapes []string
	for _, s := range task {
		var names []string
		for _, m := range s.Members {
			names = append(names, m.Name)
		}
		shapes = append(shapes, fmt.Sprintf("%d:%v", s.Size, names))
	}
	if want := "[64:[flags tgid] 64:[] 64:[flags pid tgid comm real_parent se]]"; fmt.Sprint(shapes) != want {
		t.Errorf("task_struct in the object: %v, want %s", shapes, want)
	}
}

// TestCoreKindsKernel relocates the kinds task_info does not use against
// the running kernel, through both loaders: a bitfield of task_struct
// (its load's offset and size, and the shifts that extract it), a
// member's signedness, the kernel's ID of task_struct, a type match and
// the local type ID. The expected values come from cilium/ebpf's
// btf.LoadKernelSpec and libbpf's formulas.
func TestCoreKindsKernel(t *testing.T) {
	vm := vmlinux(t)
	bpftool := testenv.Tool(t, "bpftool")
	kernel, err := cbtf.LoadKernelSpec()
	if err != nil {
		t.Fatal(err)
	}
	var task *cbtf.Struct
	if err := kernel.TypeByName("task_struct", &task); err != nil {
		t.Fatal(err)
	}
	taskID, err := kernel.TypeID(task)
	if err != nil {
		t.Fatal(err)
	}
	var bf cbtf.Member
	for _, m := range task.Members {
		if m.BitfieldSize > 0 && m.Name != "" {
			bf = m
			break
		}
	}
	if bf.Name == "" {
		t.Fatal("task_struct has no bitfield")
	}
	size, err := cbtf.Sizeof(bf.Type)
	if err != nil {
		t.Fatal(err)
	}
	bit, bits := uint32(bf.Offset), uint32(bf.BitfieldSize)
	unit := uint32(size)
	off := bit / 8 / unit * unit
	for bit+bits-8*off > 8*unit {
		unit *= 2
		off = bit / 8 / unit * unit
	}
	want := map[string]uint32{
		"bf_off":    off,
		"bf_size":   unit,
		"bf_lshift": 64 - (bit + bits - 8*off),
		"bf_rshift": 64 - bits,
		"signed":    1, // tgid is a pid_t, an int
		"target_id": uint32(taskID),
		"matches":   1,
	}
	src := fmt.Sprintf(`
k = btf_types(":vmlinux.btf")
task = k.type("task_struct")
section("socket", "bf_off", [core.field_offset(r0, task, %[1]q), exit()])
section("socket", "bf_size", [core.field_size(r0, task, %[1]q), exit()])
section("socket", "bf_lshift", [core.field_lshift(r0, task, %[1]q), exit()])
section("socket", "bf_rshift", [core.field_rshift(r0, task, %[1]q), exit()])
section("socket", "signed", [core.field_signed(r0, task, "tgid"), exit()])
section("socket", "target_id", [core.type_id_target(r0, task), exit()])
section("socket", "matches", [core.type_matches(r0, types.struct("task_struct___m", [("tgid", types.s32)])), exit()])
section("socket", "local_id", [core.type_id_local(r0, task), exit()])
license("GPL")
`, bf.Name)
	obj := buildCore(t, src, map[string][]byte{":vmlinux.btf": vm})
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	// TYPE_ID_LOCAL is the object's own ID of its task_struct, which its
	// instruction holds already.
	want["local_id"] = uint32(spec.Programs["local_id"].Instructions[0].Constant)
	if want["local_id"] == 0 {
		t.Fatal("TYPE_ID_LOCAL's instruction holds 0")
	}
	check := func(t *testing.T, progs map[string]*ebpf.Program, renumbers bool) {
		for name, w := range want {
			got, err := progs[name].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if name == "local_id" && renumbers {
				// cilium/ebpf loads the program with BTF of its own
				// making, numbered anew: the ID is in that, not ours.
				if got == 0 {
					t.Errorf("local_id returned 0")
				}
				continue
			}
			if got != w {
				t.Errorf("%s returned %d, want %d (bitfield %s, %d bits at bit %d)", name, got, w, bf.Name, bits, bit)
			}
		}
	}
	t.Run("cilium", func(t *testing.T) {
		coll := testenv.Collection(t, spec)
		check(t, coll.Programs, true)
	})
	t.Run("libbpf", func(t *testing.T) {
		path := tempObject(t, "kinds.o", obj)
		check(t, bpftoolPrograms(t, bpftool, path, slices.Collect(maps.Keys(want))), false)
	})
}
