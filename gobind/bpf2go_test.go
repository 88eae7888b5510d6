package gobind

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// flowStatsC is examples/flow_stats.star's maps, global and program in C,
// as a bpf2go user writes them, with a ring buffer event that only a
// global pointer puts in the BTF (the C idiom README.md documents).
const flowStatsC = `typedef unsigned int __u32; typedef unsigned char __u8; typedef unsigned long long __u64; typedef unsigned short __u16;
struct flow_key { __u32 saddr; __u32 daddr; __u8 proto; };
struct flow_stats { __u64 packets; __u64 bytes; };
struct config { __u32 verdict; __u16 min_len; };
struct { int (*type)[1]; int (*max_entries)[1024]; struct flow_key *key; struct flow_stats *value; } flows __attribute__((section(".maps"), used));
const volatile struct config cfg = { 2, 34 };
struct syn_event { __u32 saddr; __u16 sport; };
struct syn_event *unused_syn_event __attribute__((unused));
__attribute__((section("xdp"), used)) int count_flows(void *ctx) { return cfg.verdict; }
char _license[] __attribute__((section("license"), used)) = "GPL";
`

// The real bpf2go (go run github.com/cilium/ebpf/cmd/bpf2go, of the
// version go.mod requires, with clang-19) on flow_stats in C writes the
// file bpfstar gen go writes for examples/flow_stats.star (with the event
// added the same way and --type), but for the first line, which names
// bpf2go, and the embedded file's name; and given bpf2go's own object,
// Generate writes bpf2go's file but for the first line.
func TestBpf2go(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go run and clang; skipped in -short mode")
	}
	clang, _ := testenv.ClangBPF(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flow.c"), []byte(flowStatsC), 0o644); err != nil {
		t.Fatal(err)
	}
	// Run from this module, so that bpf2go is the version of go.mod.
	cmd := exec.Command(goTool(t), "run", "github.com/cilium/ebpf/cmd/bpf2go",
		"-go-package", "flowstats", "-output-dir", dir, "-target", "bpfel", "-no-strip", "-cc", clang,
		"-type", "syn_event", "flowStats", filepath.Join(dir, "flow.c"))
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bpf2go: %v\n%s", err, out)
	}
	theirs, err := os.ReadFile(filepath.Join(dir, "flowstats_bpfel.go"))
	if err != nil {
		t.Fatal(err)
	}
	clangObj, err := os.ReadFile(filepath.Join(dir, "flowstats_bpfel.o"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(theirs), bpf2goHeader, Header, 1)
	if want == string(theirs) {
		t.Fatalf("bpf2go's file does not start with %q:\n%s", bpf2goHeader, theirs)
	}
	opts := Options{Package: "flowstats", Stem: "flowStats", ObjectFile: "flowstats_bpfel.o", Types: []string{"syn_event"}}
	got, err := Generate(clangObj, opts)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("Generate(bpf2go's object) differs from bpf2go's file but for the first line:\n%s\nwant:\n%s", got, want)
	}
	src, err := os.ReadFile("../examples/flow_stats.star")
	if err != nil {
		t.Fatal(err)
	}
	star := string(src) + "\n" + `syn_event = types.struct("syn_event", [("saddr", types.u32), ("sport", types.u16)])` + "\n" +
		`bss("unused_syn_event", type = types.ptr(syn_event))` + "\n"
	got, err = Generate(object(t, star), opts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Errorf("bindings of flow_stats.star differ from bpf2go's for C but for the first line:\n%s\nwant:\n%s", got, want)
	}
}
