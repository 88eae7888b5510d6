package gobind

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

// examples returns the example program files, by name (xdp_pass).
func examples(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("../examples/*.star")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.star") || filepath.Base(f) == "BUILD.star" {
			continue
		}
		m[strings.TrimSuffix(filepath.Base(f), ".star")] = f
	}
	if len(m) < 10 {
		t.Fatalf("found %d examples, want all of them", len(m))
	}
	return m
}

// buildExample builds a program file that loads nothing (as the examples
// are), naming it as the repository's workspace does (examples/NAME.star)
// when it is an example. (The workspace package, which builds files with
// loads, imports this one.)
func buildExample(t *testing.T, file string) []byte {
	t.Helper()
	src, err := compile.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	name := file
	if rest, ok := strings.CutPrefix(file, "../"); ok {
		name = rest
	}
	// The BTF files examples read (btf_types(":task_info.btf")) are
	// beside them.
	readFile := func(from, label string) (string, []byte, error) {
		rel, ok := strings.CutPrefix(label, ":")
		if !ok {
			return "", nil, fmt.Errorf("want :FILE, not %q", label)
		}
		data, err := os.ReadFile(filepath.Join(filepath.Dir(file), rel))
		return rel, data, err
	}
	obj, err := compile.Source(name, src, compile.Options{ReadFile: readFile})
	if err != nil {
		t.Fatalf("build %s: %v", file, err)
	}
	return obj
}

// A run is a program the generated test runs with Program.Run, on a
// packet made by a function of the generated test, and the value it
// must return (as the example's _test.star file expects).
type run struct {
	prog, data string
	want       uint32
}

// runs are the programs of each example that BPF_PROG_TEST_RUN runs.
// cgroup_dev (a cgroup/dev program: test runs take no context for it
// here) and tcp_cc (struct_ops: no test run; loading it would register a
// congestion control) are loaded, or assigned, but not run.
var runs = map[string][]run{
	"xdp_pass":       {{"xdp_pass", "udp4()", 2}},
	"xdp_count":      {{"xdp_count", "udp4()", 2}},
	"flow_stats":     {{"count_flows", "udp4()", 2}},
	"socket_filter":  {{"ipv4_only", "eth(0x0800, udp4())", 64}, {"ipv4_only", "eth(0x0806, make([]byte, 28))", 0}},
	"callbacks":      {{"sum_to_100", "eth(0x0800, nil)", 5050}, {"count_items", "eth(0x0800, nil)", 8}},
	"isa_v4":         {{"v4_arith", "udp4()", 0}, {"v4_memory", "udp4()", 0}},
	"lock_and_timer": {{"count_locked", "eth(0x0800, nil)", 1}, {"init_timer", "eth(0x0800, nil)", 0}},
	"map_in_map":     {{"read_setting", "eth(0x0800, nil)", 0}},
	"tail_call":      {{"dispatch", "eth(0x0800, nil)", 42}, {"answer", "eth(0x0800, nil)", 42}},
	"xdp_drop_dns":   {{"xdp_drop_dns", "udp4()", 1}, {"xdp_drop_dns", "eth(0x86dd, nil)", 2}},
	"tc_syn_ringbuf": {{"tc_syn_ringbuf", "udp4()", 0}},
	"pid_counter":    {{"pid_counter", "nil", 0}},
	"task_info":      {{"task_info", "nil", 0}}, // CO-RE against the running kernel; examples/task_info_test.go checks what it stores
}

// after are statements the generated test runs after the runs of an
// example, with objs loaded: they read what the programs left through the
// generated types.
var after = map[string]string{
	// The run of count_flows on udp4() counted one packet of 42 bytes in
	// the flow 10.0.0.1 -> 10.0.0.2, UDP; cfg is the typed global.
	"flow_stats": `
	key := flowStatsFlowKey{Saddr: binary.LittleEndian.Uint32([]byte{10, 0, 0, 1}), Daddr: binary.LittleEndian.Uint32([]byte{10, 0, 0, 2}), Proto: 17}
	var stats flowStatsFlowStats
	if err := objs.Flows.Lookup(&key, &stats); err != nil {
		t.Fatalf("flows[%+v]: %v", key, err)
	}
	if stats.Packets != 1 || stats.Bytes != 42 {
		t.Errorf("flows[%+v] = %+v, want 1 packet of 42 bytes", key, stats)
	}
	var cfg flowStatsConfig
	if err := objs.Cfg.Get(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Verdict != 2 || cfg.MinLen != 34 {
		t.Errorf("cfg = %+v, want verdict 2, min_len 34", cfg)
	}`,
	// One packet of 42 bytes: stats[0] packets, stats[1] bytes; the
	// globals through their generated Variables.
	"xdp_count": `
	var packets, octets, seen uint64
	if err := objs.Stats.Lookup(uint32(0), &packets); err != nil || packets != 1 {
		t.Errorf("stats[0] = %d (%v), want 1", packets, err)
	}
	if err := objs.Stats.Lookup(uint32(1), &octets); err != nil || octets != 42 {
		t.Errorf("stats[1] = %d (%v), want 42", octets, err)
	}
	if err := objs.Seen.Get(&seen); err != nil || seen != 1 {
		t.Errorf("seen = %d (%v), want 1", seen, err)
	}
	var minLen uint32
	if err := objs.MinLen.Get(&minLen); err != nil || minLen != 14 {
		t.Errorf("min_len = %d (%v), want 14", minLen, err)
	}`,
	// The run of count_locked counted once under the lock.
	"lock_and_timer": `
	var v lockAndTimerLocked
	if err := objs.Counters.Lookup(uint32(0), &v); err != nil || v.Count != 1 {
		t.Errorf("counters[0] = %+v (%v), want count 1", v, err)
	}`,
}

// A field is what the generated test checks of a field of a generated
// struct: its offset and size, as the object's BTF gives them.
type field struct {
	name         string
	offset, size uint32
}

// layout returns, for every struct type of the bindings, its size and
// its fields, from the object's BTF.
func layout(t *testing.T, obj []byte, stem string) map[string]struct {
	size   uint32
	fields []field
} {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	var maps, vars []string
	for n := range spec.Maps {
		if !strings.HasPrefix(n, ".") {
			maps = append(maps, n)
		}
	}
	for n := range spec.Variables {
		vars = append(vars, n)
	}
	slices.Sort(maps)
	slices.Sort(vars)
	m := map[string]struct {
		size   uint32
		fields []field
	}{}
	for _, typ := range globalTypes(spec, maps, vars) {
		s, ok := btf.UnderlyingType(typ).(*btf.Struct)
		if !ok {
			continue
		}
		var fs []field
		for _, mem := range s.Members {
			if mem.Name == "" || mem.BitfieldSize > 0 {
				continue
			}
			size, err := btf.Sizeof(mem.Type)
			if err != nil {
				t.Fatal(err)
			}
			fs = append(fs, field{Identifier(mem.Name), mem.Offset.Bytes(), uint32(size)})
		}
		m[stem+Identifier(typ.TypeName())] = struct {
			size   uint32
			fields []field
		}{s.Size, fs}
	}
	return m
}

// wantLayouts are layouts written down from the examples' types.struct
// calls (and C's rules), so that the layouts read from BTF are checked
// against something else than the generator's own source.
var wantLayouts = map[string]string{
	"flowStatsFlowKey":   "size 12: Saddr 0/4 Daddr 4/4 Proto 8/1",
	"flowStatsFlowStats": "size 16: Packets 0/8 Bytes 8/8",
	"flowStatsConfig":    "size 8: Verdict 0/4 MinLen 4/2",
	"lockAndTimerLocked": "size 16: Lock 0/4 Count 8/8",
}

// testFile returns the Go test that the test of example name runs in the
// temporary module: it loads the objects with the generated
// loadSTEMObjects, runs the programs of runs, checks what after checks,
// and checks the layout of every generated struct with unsafe.
func testFile(t *testing.T, pkg, stem, name string, obj []byte) []byte {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "package %s\n\n", pkg)
	b.WriteString(`import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
)

var (
	_ = binary.LittleEndian
	_ unsafe.Pointer
	_ ebpf.RunOptions
)

// eth returns an Ethernet frame of type typ around payload.
func eth(typ uint16, payload []byte) []byte {
	b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, byte(typ >> 8), byte(typ)}
	return append(b, payload...)
}

// udp4 returns a 42-byte UDP datagram 10.0.0.1:1234 -> 10.0.0.2:53 in an
// Ethernet frame, without payload.
func udp4() []byte {
	ip := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	udp := []byte{0x04, 0xd2, 0, 53, 0, 8, 0, 0}
	return eth(0x0800, append(ip, udp...))
}

// The generated struct types have the layout of the object's BTF.
func TestLayout(t *testing.T) {
	check := func(what string, got, want uintptr) {
		if got != want {
			t.Errorf("%s = %d, want %d", what, got, want)
		}
	}
	_ = check
`)
	lays := layout(t, obj, stem)
	var types []string
	for typ := range lays {
		types = append(types, typ)
	}
	slices.Sort(types)
	for _, typ := range types {
		l := lays[typ]
		fmt.Fprintf(&b, "\tcheck(\"unsafe.Sizeof(%s{})\", unsafe.Sizeof(%s{}), %d)\n", typ, typ, l.size)
		desc := fmt.Sprintf("size %d:", l.size)
		for _, f := range l.fields {
			fmt.Fprintf(&b, "\tcheck(\"unsafe.Offsetof(%[1]s{}.%[2]s)\", unsafe.Offsetof(%[1]s{}.%[2]s), %[3]d)\n", typ, f.name, f.offset)
			fmt.Fprintf(&b, "\tcheck(\"unsafe.Sizeof(%[1]s{}.%[2]s)\", unsafe.Sizeof(%[1]s{}.%[2]s), %[3]d)\n", typ, f.name, f.size)
			desc += fmt.Sprintf(" %s %d/%d", f.name, f.offset, f.size)
		}
		if want, ok := wantLayouts[typ]; ok && desc != want {
			t.Errorf("BTF layout of %s: %s, want %s", typ, desc, want)
		}
	}
	for typ := range wantLayouts {
		ours := strings.HasPrefix(typ, stem) && len(typ) > len(stem) && 'A' <= typ[len(stem)] && typ[len(stem)] <= 'Z'
		if _, ok := lays[typ]; ours && !ok {
			t.Errorf("no generated struct %s", typ)
		}
	}
	b.WriteString("}\n\n")

	up := upperFirst(stem)
	if name == "tcp_cc" {
		// struct_ops: the specs are assigned, nothing is loaded.
		fmt.Fprintf(&b, `// The generated specs are assigned from the embedded object.
func TestSpecs(t *testing.T) {
	spec, err := load%[1]s()
	if err != nil {
		t.Fatal(err)
	}
	var specs %[2]sSpecs
	if err := spec.Assign(&specs); err != nil {
		t.Fatal(err)
	}
	if specs.CcSsthresh == nil || specs.BpfstarCc == nil || specs.BpfstarCc.Type != ebpf.StructOpsMap {
		t.Fatalf("specs: %%+v", specs)
	}
}
`, up, stem)
		return gofmt(t, b.String())
	}
	fmt.Fprintf(&b, `// The objects load through the generated load%[1]sObjects, and the
// programs return what the example's tests expect.
func TestRun(t *testing.T) {
	var objs %[2]sObjects
	if err := load%[1]sObjects(&objs, nil); err != nil {
		t.Fatalf("load%[1]sObjects: %%v", err)
	}
	defer objs.Close()
	var ret uint32
	var err error
	_, _ = ret, err
`, up, stem)
	for _, r := range runs[name] {
		fmt.Fprintf(&b, `	ret, err = objs.%[1]s.Run(&ebpf.RunOptions{Data: %[2]s})
	if err != nil || ret != %[3]d {
		t.Errorf("%[1]s.Run(%[2]s) = %%d, %%v; want %[3]d", ret, err)
	}
`, Identifier(r.prog), r.data, r.want)
	}
	b.WriteString(after[name])
	b.WriteString("\n}\n")
	return gofmt(t, b.String())
}

func gofmt(t *testing.T, src string) []byte {
	t.Helper()
	out, err := format.Source([]byte(src))
	if err != nil {
		t.Fatalf("generated test: %v\n%s", err, src)
	}
	return out
}

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return testenv.Tool(t, "go")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// For every example: the bindings, written by Write, compile and pass go
// vet in a temporary module that requires what this repository's go.mod
// requires (its go.mod and go.sum, renamed; the module cache is the
// shared one and -mod=mod lets go resolve what it needs from it and the
// module proxy); the generated test in each package loads the objects
// through the generated loadSTEMObjects, runs the programs with
// Program.Run and checks the result, reads maps and globals through the
// generated types, and checks the layout of every generated struct with
// unsafe.Offsetof and unsafe.Sizeof.
func TestBindingsInModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go vet and go test in a temporary module; skipped in -short mode")
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mod := strings.Replace(string(gomod), "module github.com/bpfstar/bpfstar", "module bpfstar.test/bindings", 1)
	if mod == string(gomod) {
		t.Fatal("go.mod has no module line to rename")
	}
	write := func(name string, data []byte) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", []byte(mod))
	write("go.sum", gosum)
	ex := examples(t)
	var names []string
	for name := range ex {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		obj := buildExample(t, ex[name])
		pkg := strings.ReplaceAll(name, "_", "")
		stem, err := Stem(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, pkg), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := Write(filepath.Join(dir, pkg, name+"_bpfel.go"), obj, Options{Package: pkg, Stem: stem}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := runs[name]; !ok && name != "cgroup_dev" && name != "tcp_cc" {
			t.Errorf("example %s has no runs: add it to runs", name)
		}
		write(filepath.Join(pkg, name+"_test.go"), testFile(t, pkg, stem, name, obj))
	}
	// A ring buffer's event, declared through Options.Types (bpf2go's
	// -type), decodes the records the program sends.
	if err := os.MkdirAll(filepath.Join(dir, "ringevent"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "ringevent", "ring_bpfel.go"), object(t, ringEventSrc), Options{Package: "ringevent", Stem: "ring", Types: []string{"syn_event"}}); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join("ringevent", "ring_test.go"), []byte(ringEventTest))
	goEnv := func(env []string, args ...string) ([]byte, error) {
		cmd := exec.Command(goTool(t), args...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0"), env...)
		return cmd.CombinedOutput()
	}
	goCmd := func(args ...string) {
		t.Helper()
		out, err := goEnv(nil, args...)
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("go %s:\n%s", strings.Join(args, " "), out)
	}
	goCmd("vet", "./...")
	// For a big-endian GOARCH the bindings are left out, and code using
	// them does not compile (README.md, "Endianness").
	out, err := goEnv([]string{"GOARCH=s390x"}, "vet", "./xdppass")
	if err == nil || !strings.Contains(string(out), "undefined: xdpPass") {
		t.Errorf("GOARCH=s390x go vet ./xdppass: %v, want undefined: xdpPass...\n%s", err, out)
	}
	// The struct layouts need no kernel: they are checked everywhere.
	goCmd("test", "-count=1", "-run", "^TestLayout$", "./...")
	testenv.Root(t)
	goCmd("test", "-count=1", "-v", "./...")
}

// ringEventSrc sends one event of a struct that only its code uses,
// which ringbuf_event exports to the object's BTF (README.md, "Go").
const ringEventSrc = `load("@std//bpf.star", "ringbuf_event")
syn_event = types.struct("syn_event", [("saddr", types.u32), ("daddr", types.u32), ("sport", types.u16), ("dport", types.u16)])
events = bpf_map("events", "ringbuf", max_entries = 1 << 12)
section("xdp", "send", [
    ringbuf_event(events, syn_event, "out", saddr = 0x0100000a, daddr = 0x0200000a, sport = 1234, dport = 53),
    label("out"),
    insn.mov64_imm(r0, 2),
    exit(),
])
license("GPL")
`

// ringEventTest decodes the event with the generated ringSynEvent.
const ringEventTest = `package ringevent

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

func TestLayout(t *testing.T) {
	if s, o := unsafe.Sizeof(ringSynEvent{}), unsafe.Offsetof(ringSynEvent{}.Dport); s != 12 || o != 10 {
		t.Errorf("ringSynEvent: size %d, Dport at %d; want 12, 10", s, o)
	}
}

func TestEvent(t *testing.T) {
	var objs ringObjects
	if err := loadRingObjects(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	rd, err := ringbuf.NewReader(objs.Events)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if ret, err := objs.Send.Run(&ebpf.RunOptions{Data: make([]byte, 64)}); err != nil || ret != 2 {
		t.Fatalf("Send.Run = %d, %v; want 2", ret, err)
	}
	rd.SetDeadline(time.Now().Add(10 * time.Second))
	rec, err := rd.Read()
	if err != nil {
		t.Fatal(err)
	}
	var ev ringSynEvent
	if err := binary.Read(bytes.NewReader(rec.RawSample), binary.LittleEndian, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Saddr != 0x0100000a || ev.Daddr != 0x0200000a || ev.Sport != 1234 || ev.Dport != 53 {
		t.Errorf("event %+v, want saddr 0x0100000a daddr 0x0200000a sport 1234 dport 53", ev)
	}
}
`
