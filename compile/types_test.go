package compile_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

// typedGlobals declares typed globals of every section: a struct with a
// bitfield, an anonymous union and an array in .data, an enum and a char
// array in .rodata, a struct in .bss.
const typedGlobals = `
mode = types.enum("mode", ["OFF", "ON", ("AUTO", 7)])
settings = types.struct("settings", [
    ("flags", types.u32, 3),
    ("level", types.u32, 5),
    (None, types.union("", [("limit", types.u64), ("raw", types.array(types.u8, 8))])),
    ("ports", types.array(types.u16, 4)),
])
locked = types.struct("locked", [("owner", types.u32), ("count", types.u32)])
s = data("settings_v", {"flags": 5, "level": 17, "limit": 1 << 40, "ports": [80, 443]}, type = settings)
rodata("mode_v", 7, type = mode)
rodata("greeting", b"hi", type = types.array(types.char, 8))
bss("state", type = locked)
section("xdp", "p", [insn.ld_map_value(r1, s), insn.ldx_mem("w", r0, r1, 0), insn.alu64_imm("and", r0, 1), exit()])
license("GPL")
`

func TestTypedGlobals(t *testing.T) {
	obj, err := compile.Source("typed.star", []byte(typedGlobals), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	// flags 5 | level 17 << 3 = 0x8d; limit at 8; ports at 16.
	want := []byte{0x8d, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 80, 0, 0xbb, 1, 0, 0, 0, 0}
	if got := spec.Maps[".data"].Contents[0].Value.([]byte); !bytes.Equal(got, want) {
		t.Errorf(".data = % x, want % x", got, want)
	}
	if got := spec.Maps[".rodata"].Contents[0].Value.([]byte); !bytes.Equal(got, []byte{7, 0, 0, 0, 'h', 'i', 0, 0, 0, 0, 0, 0}) {
		t.Errorf(".rodata = % x", got)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "typed.o")
	if err := os.WriteFile(file, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	bpftool := testenv.Tool(t, "bpftool")
	out, err := exec.Command(bpftool, "btf", "dump", "file", file).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool btf dump file: %v\n%s", err, out)
	}
	for _, want := range []string{
		"STRUCT 'settings' size=24 vlen=4\n\t'flags' type_id=",
		"bits_offset=3 bitfield_size=5",
		"UNION '(anon)' size=8 vlen=2",
		"ENUM 'mode' encoding=UNSIGNED size=4 vlen=3",
		"STRUCT 'locked' size=8 vlen=2",
		"VAR 'settings_v' type_id=",
		"VAR 'mode_v' type_id=",
		"VAR 'greeting' type_id=",
		"VAR 'state' type_id=",
		"DATASEC '.bss' size=8 vlen=1",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bpftool btf dump lacks %q:\n%s", want, out)
		}
	}

	// The kernel takes the BTF: it creates the data maps with their
	// DATASEC value types and loads the
	// program.
	coll := testenv.Collection(t, spec)
	ret, err := coll.Programs["p"].Run(&ebpf.RunOptions{Data: make([]byte, 64)})
	if err != nil || ret != 1 {
		t.Errorf("run: %d, %v; want 1 (flags & 1)", ret, err)
	}
}

// The kernel reads the special fields of a map value from its BTF: a
// spin lock, a timer and a kptr, each at its place.
func TestSpecialFields(t *testing.T) {
	const src = `
task = types.struct("task_struct", [])
elem = types.struct("elem", [
    ("lock", types.bpf_spin_lock),
    ("n", types.u32),
    ("timer", types.bpf_timer),
    ("task", types.kptr(task)),
])
m = bpf_map("m", "hash", key = types.u32, value = elem, max_entries = 4)
section("xdp", "p", [insn.ld_map_fd(r1, m), insn.mov64_imm(r0, 2), exit()])
license("GPL")
`
	obj, err := compile.Source("special.star", []byte(src), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	if ms := spec.Maps["m"]; ms.ValueSize != 32 || ms.KeySize != 4 {
		t.Errorf("key size %d, value size %d; want 4 and 32", ms.KeySize, ms.ValueSize)
	}
	coll := testenv.Collection(t, spec)
	info, err := coll.Maps["m"].Info()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.BTFID(); !ok {
		t.Errorf("map m has no BTF")
	}
}

// Every program type with a UAPI context loads with its prototype taking
// that struct: the kernel matches the context struct's name against the
// program type's.
func TestContextTypes(t *testing.T) {
	sections := []string{
		"xdp", "socket", "tc", "cgroup_skb/ingress", "cgroup/dev", "cgroup/sock_create",
		"cgroup/connect4", "sockops", "sk_msg", "sk_skb/stream_verdict", "raw_tp/sys_enter",
		"sk_lookup", "cgroup/sysctl", "cgroup/getsockopt", "flow_dissector", "lwt_in", "sk_reuseport",
		"kprobe/do_nanosleep", "kretprobe/do_nanosleep", "perf_event",
	}
	var src strings.Builder
	for i, s := range sections {
		fmt.Fprintf(&src, "section(%q, \"p%d\", [insn.mov64_imm(r0, 1), exit()])\n", s, i)
	}
	src.WriteString(`license("GPL")` + "\n")
	obj, err := compile.Source("ctx.star", []byte(src.String()), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	// The kernel's context struct of each program type
	// (include/linux/bpf_types.h), for the type the loader reads from the
	// section name.
	ctx := map[ebpf.ProgramType]string{
		ebpf.XDP: "xdp_md", ebpf.SocketFilter: "__sk_buff", ebpf.SchedCLS: "__sk_buff",
		ebpf.CGroupSKB: "__sk_buff", ebpf.CGroupDevice: "bpf_cgroup_dev_ctx", ebpf.CGroupSock: "bpf_sock",
		ebpf.CGroupSockAddr: "bpf_sock_addr", ebpf.SockOps: "bpf_sock_ops", ebpf.SkMsg: "sk_msg_md",
		ebpf.SkSKB: "__sk_buff", ebpf.RawTracepoint: "bpf_raw_tracepoint_args", ebpf.SkLookup: "bpf_sk_lookup",
		ebpf.CGroupSysctl: "bpf_sysctl", ebpf.CGroupSockopt: "bpf_sockopt", ebpf.FlowDissector: "__sk_buff",
		ebpf.LWTIn: "__sk_buff", ebpf.SkReuseport: "sk_reuseport_md",
		// bpf_user_pt_regs_t, which is struct pt_regs on x86-64; the
		// kernel takes either name.
		ebpf.Kprobe: "pt_regs", ebpf.PerfEvent: "bpf_perf_event_data",
	}
	for i, s := range sections {
		ps := spec.Programs[fmt.Sprintf("p%d", i)]
		fn := cbtf.FuncMetadata(&ps.Instructions[0])
		var got string
		if fn != nil {
			if ptr, ok := fn.Type.(*cbtf.FuncProto).Params[0].Type.(*cbtf.Pointer); ok {
				if st, ok := ptr.Target.(*cbtf.Struct); ok {
					got = st.Name
				}
			}
		}
		if want, ok := ctx[ps.Type]; !ok || got != want {
			t.Errorf("%s (%v): context struct %q, want %q", s, ps.Type, got, want)
		}
	}
	testenv.Root(t)
	for i, s := range sections {
		ps := spec.Programs[fmt.Sprintf("p%d", i)]
		p, err := ebpf.NewProgram(ps)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		p.Close()
	}
}
