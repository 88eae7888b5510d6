package examples_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// flow_stats.star's map has struct key and value types: cilium/ebpf sees
// them as the map's Key and Value, and the initial value of its typed
// global is laid out member by member.
func TestFlowStatsTypes(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "flow_stats.star"))
	if err != nil {
		t.Fatal(err)
	}
	m := spec.Maps["flows"]
	key, ok := m.Key.(*btf.Struct)
	if !ok || key.Name != "flow_key" || key.Size != 12 || len(key.Members) != 3 || key.Members[2].Name != "proto" || key.Members[2].Offset != 64 {
		t.Errorf("flows: key %v, want struct flow_key of 12 bytes with proto at bit 64", m.Key)
	}
	value, ok := m.Value.(*btf.Struct)
	if !ok || value.Name != "flow_stats" || value.Size != 16 || value.Members[1].Name != "bytes" {
		t.Errorf("flows: value %v, want struct flow_stats of 16 bytes", m.Value)
	}
	if m.KeySize != 12 || m.ValueSize != 16 {
		t.Errorf("flows: key size %d, value size %d, want 12 and 16", m.KeySize, m.ValueSize)
	}
	ro := spec.Maps[".rodata"]
	if want := []byte{2, 0, 0, 0, 34, 0, 0, 0}; len(ro.Contents) != 1 || !bytes.Equal(ro.Contents[0].Value.([]byte), want) {
		t.Errorf(".rodata contents %v, want %v", ro.Contents, want)
	}
	vs := spec.Variables["cfg"]
	if vs == nil {
		t.Fatalf("no variable cfg")
	}
	if st, ok := btf.UnderlyingType(vs.Type.Type).(*btf.Struct); !ok || st.Name != "config" {
		t.Errorf("cfg has type %v, want struct config", vs.Type.Type)
	}
}

// bpftool btf dump file shows the typed map members and the typed global.
func TestFlowStatsBTFDump(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	obj := buildExample(t, "flow_stats.star")
	out, err := exec.Command(bpftool, "btf", "dump", "file", obj).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool btf dump file: %v\n%s", err, out)
	}
	for _, want := range []string{
		"STRUCT 'flow_key' size=12 vlen=3\n\t'saddr' type_id=",
		"\t'proto' type_id=",
		"STRUCT 'config' size=8 vlen=2\n\t'verdict' type_id=",
		"\t'min_len' type_id=",
		"VAR 'cfg' type_id=",
		"(VAR 'cfg')",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bpftool btf dump lacks %q:\n%s", want, out)
		}
	}
	// The C view: the structs as bpftool writes them back.
	c, err := exec.Command(bpftool, "btf", "dump", "file", obj, "format", "c").CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool btf dump format c: %v\n%s", err, c)
	}
	if !strings.Contains(string(c), "struct flow_key {\n\t__u32 saddr;\n\t__u32 daddr;\n\t__u8 proto;\n};") {
		t.Errorf("bpftool format c lacks struct flow_key:\n%s", c)
	}
}

// After a run over a packet, bpftool map dump prints the entry by member.
func TestFlowStatsMapDump(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	pins := testenv.PinDir(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "flow_stats.star"))
	if err != nil {
		t.Fatal(err)
	}
	var objs struct {
		Prog  *ebpf.Program `ebpf:"count_flows"`
		Flows *ebpf.Map     `ebpf:"flows"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Prog.Close()
	defer objs.Flows.Close()

	pkt := make([]byte, 64)
	pkt[12], pkt[13] = 0x08, 0x00 // IPv4
	pkt[23] = 17                  // UDP
	copy(pkt[26:30], []byte{10, 0, 0, 1})
	copy(pkt[30:34], []byte{10, 0, 0, 2})
	for range 2 {
		ret, err := objs.Prog.Run(&ebpf.RunOptions{Data: pkt})
		if err != nil {
			t.Fatal(err)
		}
		if ret != 2 {
			t.Errorf("count_flows returned %d, want 2 (XDP_PASS from cfg.verdict)", ret)
		}
	}
	var key [12]byte
	copy(key[:], pkt[26:34])
	key[8] = 17
	var stats [16]byte
	if err := objs.Flows.Lookup(key[:], stats[:]); err != nil {
		t.Fatal(err)
	}
	if p, b := binary.LittleEndian.Uint64(stats[:]), binary.LittleEndian.Uint64(stats[8:]); p != 2 || b != 128 {
		t.Errorf("flow stats: %d packets, %d bytes; want 2 and 128", p, b)
	}

	pin := filepath.Join(pins, "flows")
	if err := objs.Flows.Pin(pin); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bpftool, "map", "dump", "pinned", pin).CombinedOutput()
	if err != nil {
		t.Fatalf("bpftool map dump: %v\n%s", err, out)
	}
	for _, want := range []string{`"key": {`, `"saddr": 16777226`, `"daddr": 33554442`, `"proto": 17`, `"value": {`, `"packets": 2`, `"bytes": 128`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bpftool map dump lacks %s:\n%s", want, out)
		}
	}
}

// The map definition is the one clang-19 makes of the same C: equal key
// and value types (members, offsets, sizes) and sizes, through
// cilium/ebpf's reading of both objects.
func TestFlowStatsLikeClang(t *testing.T) {
	clang := testenv.Tool(t, "clang-19")
	const src = `
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
struct flow_key { __u32 saddr; __u32 daddr; __u8 proto; };
struct flow_stats { __u64 packets; __u64 bytes; };
struct config { __u32 verdict; __u16 min_len; };
struct {
	int (*type)[1];
	struct flow_key *key;
	struct flow_stats *value;
	int (*max_entries)[1024];
} flows __attribute__((section(".maps"), used));
const volatile struct config cfg = { .verdict = 2, .min_len = 34 };
__attribute__((section("xdp"), used)) int count_flows(void *ctx) { return cfg.verdict; }
char _license[] __attribute__((section("license"), used)) = "GPL";
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "flow.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "flow.o")
	if out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-c", "-o", obj, filepath.Join(dir, "flow.c")).CombinedOutput(); err != nil {
		t.Fatalf("clang: %v\n%s", err, out)
	}
	theirs, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := ebpf.LoadCollectionSpec(buildExample(t, "flow_stats.star"))
	if err != nil {
		t.Fatal(err)
	}
	describe := func(typ btf.Type) string {
		s, ok := typ.(*btf.Struct)
		if !ok {
			return fmt.Sprintf("%T", typ)
		}
		d := fmt.Sprintf("struct %s size %d:", s.Name, s.Size)
		for _, m := range s.Members {
			d += fmt.Sprintf(" %s@%d:%s", m.Name, m.Offset, btf.UnderlyingType(m.Type).TypeName())
		}
		return d
	}
	o, c := ours.Maps["flows"], theirs.Maps["flows"]
	if describe(o.Key) != describe(c.Key) || describe(o.Value) != describe(c.Value) || o.KeySize != c.KeySize || o.ValueSize != c.ValueSize || o.Type != c.Type || o.MaxEntries != c.MaxEntries {
		t.Errorf("flows:\nbpfstar %s -> %s (%d, %d)\nclang   %s -> %s (%d, %d)", describe(o.Key), describe(o.Value), o.KeySize, o.ValueSize, describe(c.Key), describe(c.Value), c.KeySize, c.ValueSize)
	}
	t.Logf("flows: %s -> %s", describe(o.Key), describe(o.Value))
	ov, cv := ours.Variables["cfg"], theirs.Variables["cfg"]
	if ov == nil || cv == nil {
		t.Fatalf("cfg: bpfstar %v, clang %v", ov, cv)
	}
	if got, want := describe(btf.UnderlyingType(ov.Type.Type)), describe(btf.UnderlyingType(cv.Type.Type)); got != want {
		t.Errorf("cfg: bpfstar %s, clang %s", got, want)
	}
	t.Logf("cfg: %s", describe(btf.UnderlyingType(ov.Type.Type)))
	var ob, cb [8]byte
	if err := ov.Get(&ob); err != nil {
		t.Fatal(err)
	}
	if err := cv.Get(&cb); err != nil {
		t.Fatal(err)
	}
	if ob != cb {
		t.Errorf("cfg value: bpfstar % x, clang % x", ob, cb)
	}
}
