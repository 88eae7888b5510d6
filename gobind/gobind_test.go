package gobind

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/golden"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

func TestIdentifier(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"xdp_pass", "XdpPass"},
		{"count_flows", "CountFlows"},
		{"min_len", "MinLen"},
		{"saddr", "Saddr"},
		{"MAX_LEN", "MAX_LEN"},  // an underscore after an upper-case letter stays
		{"a_b", "A_b"},          // ... even one upper-cased from the first letter, as bpf2go does
		{"__x", "X"},            // leading underscores go
		{"v4_1_x", "V41X"},      // after a digit too
		{"rx.count", "Rxcount"}, // other characters go
		{"_", ""},               // nothing is left
		{"1abc", "1abc"},        // not an identifier: Generate refuses it
		{"été", "Été"},          // letters are Unicode letters
		{"tcp__cc", "TcpCc"},    // a run of underscores
		{"x-y", "Xy"},           // '-' goes, and the next letter stays as it is
		{"bpfstar_cc", "BpfstarCc"},
	} {
		if got := Identifier(c.in); got != c.want {
			t.Errorf("Identifier(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestStem(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"xdp_pass.o", "xdpPass", ""},
		{"dir/flow_stats.star", "flowStats", ""},
		{"bpfstar-out/bin/examples/tcp_cc.o", "tcpCc", ""},
		{"Upper.o", "upper", ""},
		{"123.o", "", `123 gives no Go identifier for a stem ("123")`},
		{"-.o", "", `- gives no Go identifier for a stem ("")`},
	} {
		got, err := Stem(c.in)
		if got != c.want || (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("Stem(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
}

// object builds a program file with the given source.
func object(t *testing.T, src string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "prog.star")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return buildExample(t, p)
}

// mapsOnly returns an object with a map and a global and no program,
// which bpfstar refuses to build: clang-19 makes it from C.
func mapsOnly(t *testing.T) []byte {
	t.Helper()
	return clangObject(t, "struct { int (*type)[2]; int (*max_entries)[1]; int *key; long *value; } counts __attribute__((section(\".maps\"), used));\n"+
		"int limit __attribute__((used)) = 1;\n")
}

// The bindings of an object clang made from C (no headers needed).
func TestGenerateClang(t *testing.T) {
	obj := clangObject(t, `struct key { unsigned int addr; unsigned char proto; };
struct { int (*type)[1]; int (*max_entries)[4]; struct key *key; unsigned long long *value; } conn_counts __attribute__((section(".maps"), used));
__attribute__((section("xdp"), used)) int pass_all(void *ctx) { return 2; }
char _license[] __attribute__((section("license"), used)) = "GPL";
`)
	out, err := Generate(obj, Options{Package: "c", Stem: "c", ObjectFile: "c.o"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"type cKey struct {\n\t_     structs.HostLayout\n\tAddr  uint32\n\tProto uint8\n\t_     [3]byte\n}\n",
		"\tPassAll *ebpf.Program `ebpf:\"pass_all\"`\n",
		"\tConnCounts *ebpf.Map `ebpf:\"conn_counts\"`\n",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("bindings lack %q:\n%s", want, out)
		}
	}
}

// clangObject compiles C source with clang-19 -target bpf.
func clangObject(t *testing.T, src string) []byte {
	t.Helper()
	clang, _ := testenv.ClangBPF(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prog.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-c", filepath.Join(dir, "prog.c"), "-o", filepath.Join(dir, "prog.o")).CombinedOutput()
	if err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	obj, err := os.ReadFile(filepath.Join(dir, "prog.o"))
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

const prog = "section(\"xdp\", \"p\", [insn.mov64_imm(r0, 2), exit()])\nlicense(\"GPL\")\n"

// Generate refuses what would not make a compiling Go file, saying why.
func TestGenerateErrors(t *testing.T) {
	opts := Options{Package: "p", Stem: "p", ObjectFile: "p_bpfel.o"}
	for _, c := range []struct {
		name, src string
		opts      *Options
		want      string
	}{
		{"no Go name", `bpf_map("_", "array", 4, 4, 1)` + "\n" + prog, nil,
			`map "_" has no Go name: it maps to "", not an exported Go identifier (see Identifier, or 'bpfstar help gen', for how C names become Go names): rename it`},
		{"two names, one Go name", `bpf_map("ab_c", "array", 4, 4, 1)` + "\n" + `bpf_map("abC", "array", 4, 4, 1)` + "\n" + prog, nil,
			`maps "abC" and "ab_c" both have the Go name AbC: rename one`},
		{"a program named as a method", `section("xdp", "close", [insn.mov64_imm(r0, 2), exit()])`, nil,
			`program "close" has the Go name Close, which is the generated struct's method Close: rename it`},
		{"a global with no Go name", `data("_", 1, size = 4)` + "\n" + prog, nil,
			`global "_" has no Go name`},
		{"members, one Go name", `s = types.struct("s", [("ab_c", types.u32), ("abC", types.u32)])` + "\n" +
			`bpf_map("m", "array", key = types.u32, value = s, max_entries = 1)` + "\n" + prog, nil,
			`members "ab_c" and "abC" of struct s both have the Go name AbC: rename one`},
		{"a member with no Go name", `s = types.struct("s", [("_", types.u32)])` + "\n" +
			`bpf_map("m", "array", key = types.u32, value = s, max_entries = 1)` + "\n" + prog, nil,
			`member of struct s "_" has no Go name`},
		{"a type named as a declaration", `s = types.struct("objects", [("a", types.u32)])` + "\n" +
			`bpf_map("m", "array", key = types.u32, value = s, max_entries = 1)` + "\n" + prog, nil,
			`struct objects has the Go name pObjects, which is a name the bindings declare: rename it`},
		{"a type and a constant", `s = types.struct("map_m", [("a", types.u32)])` + "\n" +
			`bpf_map("m", "array", key = types.u32, value = s, max_entries = 1)` + "\n" + prog, nil,
			`the name constant of map "m" and struct map_m both have the Go name pMapM: rename one`},
		{"a bad package", prog, &Options{Package: "my-pkg", Stem: "p", ObjectFile: "p.o"},
			`package name "my-pkg" is not a Go identifier`},
		{"a bad stem", prog, &Options{Package: "p", Stem: "1p", ObjectFile: "p.o"},
			`stem "1p" is not a Go identifier`},
		{"an object name //go:embed cannot take", prog, &Options{Package: "p", Stem: "p", ObjectFile: "my prog.o"},
			`cannot embed a file named "my prog.o": name it with letters, digits and _ . + - (not starting with . _ + or -)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := opts
			if c.opts != nil {
				o = *c.opts
			}
			src, err := Generate(object(t, c.src), o)
			if err == nil || err.Error() != c.want && !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Generate: %v\nwant error %q\n%s", err, c.want, src)
			}
		})
	}
	if _, err := Generate(mapsOnly(t), opts); err == nil || err.Error() != "the object has no programs: there is nothing to load" {
		t.Errorf("Generate(an object without programs): %v", err)
	}
	if _, err := Generate([]byte("not an object"), opts); err == nil || err.Error() != "not an ELF object (no ELF magic number at its start)" {
		t.Errorf("Generate(garbage): %v", err)
	}
	if _, err := Generate([]byte("\x7fELF\x02\x01"), opts); err == nil || !strings.HasPrefix(err.Error(), "cannot read the object: ") {
		t.Errorf("Generate(a truncated ELF header): %v", err)
	}
}

// A type Go cannot express (a pointer member) is left out; its map keeps
// its accessor.
func TestGenerateSkipsPointers(t *testing.T) {
	src := `s = types.struct("with_ptr", [("p", types.ptr(types.u8)), ("n", types.u32)])` + "\n" +
		`ok = types.struct("plain", [("n", types.u32)])` + "\n" +
		`bpf_map("m", "array", key = types.u32, value = s, max_entries = 1)` + "\n" +
		`bpf_map("n", "array", key = types.u32, value = ok, max_entries = 1)` + "\n" + prog
	out, err := Generate(object(t, src), Options{Package: "p", Stem: "p", ObjectFile: "p.o"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type pPlain struct {", "\tM *ebpf.Map `ebpf:\"m\"`", "\tN *ebpf.Map `ebpf:\"n\"`"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("bindings lack %q:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("WithPtr")) {
		t.Errorf("bindings declare the type with a pointer:\n%s", out)
	}
}

// Options.Types declares types no map or global has, as bpf2go's -type:
// a ring buffer's event struct, in the object's BTF through a global
// pointer to it, as the C idiom puts it there; the types of maps and
// globals stay, once each.
func TestGenerateTypes(t *testing.T) {
	src := `ev = types.struct("syn_event", [("saddr", types.u32), ("sport", types.u16)])` + "\n" +
		`kind = types.enum("kind", ["KIND_A", "KIND_B"])` + "\n" +
		`bss("unused_syn_event", type = types.ptr(ev))` + "\n" +
		`bss("unused_kind", type = types.ptr(kind))` + "\n" +
		`val = types.struct("val", [("n", types.u64)])` + "\n" +
		`bpf_map("m", "array", key = types.u32, value = val, max_entries = 1)` + "\n" + prog
	obj := object(t, src)
	plain, err := Generate(obj, Options{Package: "p", Stem: "p", ObjectFile: "p.o"})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain, []byte("pSynEvent")) {
		t.Errorf("without Types, the bindings declare the event:\n%s", plain)
	}
	out, err := Generate(obj, Options{Package: "p", Stem: "p", ObjectFile: "p.o", Types: []string{"syn_event", "val", "kind"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"type pKind uint32\n\nconst (\n\tpKindKIND_A pKind = 0\n\tpKindKIND_B pKind = 1\n)\n\n" +
			"type pSynEvent struct {\n\t_     structs.HostLayout\n\tSaddr uint32\n\tSport uint16\n\t_     [2]byte\n}\n\n" +
			"type pVal struct {\n\t_ structs.HostLayout\n\tN uint64\n}\n",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("bindings lack %q:\n%s", want, out)
		}
	}
	// The order of the names does not matter.
	if again, err := Generate(obj, Options{Package: "p", Stem: "p", ObjectFile: "p.o", Types: []string{"kind", "val", "syn_event"}}); err != nil || !bytes.Equal(again, out) {
		t.Errorf("Types in another order: %v\n%s\nwant\n%s", err, again, out)
	}
	opts := Options{Package: "p", Stem: "p", ObjectFile: "p.o"}
	for _, c := range []struct {
		types []string
		want  string
	}{
		{[]string{"nosuch"}, `the object's BTF has no type "nosuch": only the types the object uses reach it (maps', globals', programs' contexts, and what export_type names); for a struct that only a program's code uses, write export_type(TYPE) in the program (the standard library's ring buffer and perf event functions do it for their events)`},
		{[]string{"struct syn_event"}, `type "struct syn_event": a type's name is letters, digits and _ (struct syn_event is syn_event)`},
		{[]string{"syn_event", "syn_event"}, `type "syn_event" is named twice`},
		{[]string{"p"}, `"p" is a function in the object's BTF (a program's), not a type`},
		{[]string{"unused_kind"}, `"unused_kind" is a global variable in the object's BTF, not a type`},
	} {
		opts.Types = c.types
		if _, err := Generate(obj, opts); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Generate(Types: %q): %v, want %s", c.types, err, c.want)
		}
	}
	// A type's Go name is checked as the others are.
	clash := object(t, `ev = types.struct("objects", [("a", types.u32)])`+"\n"+`bss("unused", type = types.ptr(ev))`+"\n"+prog)
	opts.Types = []string{"objects"}
	if _, err := Generate(clash, opts); err == nil || err.Error() != "struct objects has the Go name pObjects, which is a name the bindings declare: rename it" {
		t.Errorf("Generate(a type named objects): %v", err)
	}
	// C's typedef struct ev {...} ev; has two types of one name, which
	// bpf2go's -type refuses too.
	twice := clangObject(t, `typedef struct ev { int a; } ev;
ev *unused_ev __attribute__((unused));
__attribute__((section("xdp"), used)) int p(void *ctx) { return 2; }
`)
	opts.Types = []string{"ev"}
	if _, err := Generate(twice, opts); err == nil || !strings.HasPrefix(err.Error(), `the object's BTF has 2 types named "ev" (`) {
		t.Errorf("Generate(two types named ev): %v", err)
	}
}

// The bindings of flow_stats, byte for byte (testdata/flow_stats_bpfel.go;
// regenerate with go test ./gobind -update): the header, the build
// constraint of the little-endian GOARCHes, the types of the map's key
// and value and of the global, and the embed of the file beside it.
func TestGolden(t *testing.T) {
	out, err := Generate(buildExample(t, "../examples/flow_stats.star"), Options{Package: "flowstats", Stem: "flowStats", ObjectFile: "flow_stats_bpfel.o"})
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "testdata/flow_stats_bpfel.go.golden", out)
	if formatted, err := format.Source(out); err != nil || !bytes.Equal(formatted, out) {
		t.Errorf("the bindings are not gofmt'ed: %v", err)
	}
	for _, want := range []string{
		"// Code generated by bpfstar gen go (bpf2go's generator); DO NOT EDIT.\n//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm\n\npackage flowstats\n",
		"type flowStatsFlowKey struct {\n\t_     structs.HostLayout\n\tSaddr uint32\n\tDaddr uint32\n\tProto uint8\n\t_     [3]byte\n}\n",
		"func loadFlowStatsObjects(obj any, opts *ebpf.CollectionOptions) error {",
		"\tCfg *ebpf.Variable `ebpf:\"cfg\"`\n",
		"//go:embed flow_stats_bpfel.o\nvar _FlowStatsBytes []byte\n",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("bindings lack %q", want)
		}
	}
}

// Write writes the bindings and the object beside them, or, on any
// error, neither: the files that were there stay as they were.
func TestWrite(t *testing.T) {
	obj := buildExample(t, "../examples/xdp_pass.star")
	dir := t.TempDir()
	goFile := filepath.Join(dir, "xdp_pass_bpfel.go")
	opts := Options{Package: "xdppass", Stem: "xdpPass"}
	if err := Write(goFile, obj, opts); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "xdp_pass_bpfel.o")); !bytes.Equal(got, obj) {
		t.Fatal("the object beside the bindings is not the object")
	}
	if got, _ := os.ReadFile(goFile); !bytes.Contains(got, []byte("//go:embed xdp_pass_bpfel.o\n")) {
		t.Fatalf("the bindings do not embed xdp_pass_bpfel.o:\n%s", got)
	}
	// Old contents that every failure below must leave.
	for _, f := range []string{"xdp_pass_bpfel.go", "xdp_pass_bpfel.o"} {
		os.WriteFile(filepath.Join(dir, f), []byte("old "+f), 0o644)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir_bpfel.o"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "dir_bpfel.go"), []byte("old dir_bpfel.go"), 0o644)
	noProgs := mapsOnly(t)
	for _, c := range []struct {
		name, goFile string
		obj          []byte
		opts         Options
		want         string
	}{
		{"no programs", goFile, noProgs, opts, "the object has no programs"},
		{"a bad package", goFile, obj, Options{Package: "a b", Stem: "x"}, `package name "a b" is not a Go identifier`},
		{"a missing directory", filepath.Join(dir, "missing", "x.go"), obj, opts, "cannot write " + filepath.Join(dir, "missing", "x.o") + ": directory " + filepath.Join(dir, "missing") + " does not exist"},
		{"a file as directory", filepath.Join(goFile, "x.go"), obj, opts, "is not a directory"},
		{"the object's path is a directory", filepath.Join(dir, "dir_bpfel.go"), obj, opts, "cannot write " + filepath.Join(dir, "dir_bpfel.o") + ": it is a directory"},
		{"not .go", filepath.Join(dir, "x.txt"), obj, opts, "the bindings' file name must end in .go"},
		{"ignored by go build", filepath.Join(dir, "_x.go"), obj, opts, `go build ignores files whose name starts with "_"`},
		{"a name //go:embed cannot take", filepath.Join(dir, "my prog.go"), obj, opts, `cannot embed a file named "my prog.o"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Write(c.goFile, c.obj, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Write: %v, want an error with %q", err, c.want)
			}
			for _, f := range []string{"xdp_pass_bpfel.go", "xdp_pass_bpfel.o", "dir_bpfel.go"} {
				if got, _ := os.ReadFile(filepath.Join(dir, f)); string(got) != "old "+f {
					t.Errorf("%s was changed: %q", f, got)
				}
			}
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if want := []string{"dir_bpfel.go", "dir_bpfel.o", "xdp_pass_bpfel.go", "xdp_pass_bpfel.o"}; !slices.Equal(names, want) {
				t.Errorf("directory holds %v, want %v", names, want)
			}
		})
	}
}

// The bindings depend on the object and the options only. For every
// example they are written, by Write, twice: into two directories, from
// two working directories, the second time with a different environment
// (GOOS, GOARCH, TZ, the locale, HOME, GOPACKAGE) and GOMAXPROCS=1; both
// runs give the same bytes. (What the host's operating system could
// change is checked by TestNoHostDependence.)
func TestReproducible(t *testing.T) {
	ex := examples(t)
	var names []string
	for name := range ex {
		names = append(names, name)
	}
	slices.Sort(names)
	objs := map[string][]byte{}
	for _, name := range names {
		objs[name] = buildExample(t, ex[name])
	}
	gen := func(dir string) map[string][]byte {
		out := map[string][]byte{}
		for _, name := range names {
			stem, _ := Stem(name)
			goFile := filepath.Join(dir, name+"_bpfel.go")
			if err := Write(goFile, objs[name], Options{Package: "bindings", Stem: stem}); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, f := range []string{goFile, ObjectFile(goFile)} {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out[filepath.Base(f)] = data
			}
		}
		return out
	}
	a := gen(t.TempDir())

	b := filepath.Join(t.TempDir(), "another place", "with spaces")
	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(b)
	for k, v := range map[string]string{"GOOS": "darwin", "GOARCH": "arm64", "TZ": "Asia/Kathmandu", "LANG": "tr_TR.UTF-8", "LC_ALL": "tr_TR.UTF-8", "HOME": b, "GOPACKAGE": "other"} {
		t.Setenv(k, v)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	second := gen(".")
	if len(a) != 2*len(names) || len(second) != len(a) {
		t.Fatalf("%d and %d files for %d examples", len(a), len(second), len(names))
	}
	for f, data := range a {
		if !bytes.Equal(data, second[f]) {
			t.Errorf("%s differs between the two runs", f)
		}
	}
}

// Nothing that differs between operating systems reaches the bindings:
// the Go files compiled into this package and what it imports are the
// same for GOOS=linux and GOOS=darwin but in three packages, which the
// generation does not use (x/sys/unix and cilium/ebpf's internal/unix:
// system calls; internal/platform: its Native constant, used only when
// loading, while the ELF reader reads instructions for platform.Linux
// whatever the host). A new OS-specific file on the path fails this test
// until it is looked at. And bpfstar cross-compiles for darwin (it cannot
// run here).
func TestNoHostDependence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list and go build; skipped in -short mode")
	}
	goCmd := func(goos string, args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool(t), args...)
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("GOOS=%s go %s: %v\n%s", goos, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	files := func(goos string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(goCmd(goos, "list", "-deps", "-f", "{{.ImportPath}} {{.GoFiles}}", ".")), "\n") {
			pkg, files, _ := strings.Cut(line, " ")
			m[pkg] = files
		}
		return m
	}
	linux, darwin := files("linux"), files("darwin")
	allowed := []string{"golang.org/x/sys/unix", "github.com/cilium/ebpf/internal/unix", "github.com/cilium/ebpf/internal/platform"}
	for pkg, f := range linux {
		if strings.Contains(pkg, ".") && darwin[pkg] != f && !slices.Contains(allowed, pkg) {
			t.Errorf("%s compiles other files for darwin (%s) than for linux (%s)", pkg, darwin[pkg], f)
		}
	}
	for pkg := range darwin {
		if _, ok := linux[pkg]; !ok && strings.Contains(pkg, ".") {
			t.Errorf("%s is imported for darwin only", pkg)
		}
	}
	if !strings.Contains(linux["github.com/cilium/ebpf/cmd/bpf2go/gen"], "output.go") {
		t.Fatalf("bpf2go's generator is not among the packages: %v", linux)
	}
	goCmd("darwin", "build", "-o", filepath.Join(t.TempDir(), "bpfstar"), "../cmd/bpfstar")
}
