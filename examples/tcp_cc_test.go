package examples_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

const availableCC = "/proc/sys/net/ipv4/tcp_available_congestion_control"

// registered reports whether the kernel lists the congestion control name.
func registered(t *testing.T, name string) bool {
	t.Helper()
	b, err := os.ReadFile(availableCC)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range strings.Fields(string(b)) {
		if n == name {
			return true
		}
	}
	return false
}

// uniqueCC is a congestion control name of this test process (the kernel
// refuses a second one of a name, and tests may run side by side).
func uniqueCC() string { return fmt.Sprintf("bpfstar%d", os.Getpid()%100000000) }

// tcp_cc.star through cilium/ebpf: the object's .struct_ops.link holds a
// struct_ops map of tcp_congestion_ops with the three programs; it loads,
// registers (under a name of this test, written into the map's contents
// where the local struct's BTF puts the name member), is listed among the
// available congestion controls, and is gone once the link is closed.
func TestTCPCongestionControl(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "tcp_cc.star"))
	if err != nil {
		t.Fatal(err)
	}
	ms := spec.Maps["bpfstar_cc"]
	if ms == nil || ms.Type != ebpf.StructOpsMap {
		t.Fatalf("map bpfstar_cc: %+v, want a struct_ops map", ms)
	}
	st, ok := ms.Value.(*btf.Struct)
	if !ok || st.Name != "tcp_congestion_ops" {
		t.Fatalf("value type %v, want struct tcp_congestion_ops", ms.Value)
	}
	for _, p := range []string{"cc_ssthresh", "cc_cong_avoid", "cc_undo_cwnd"} {
		ps := spec.Programs[p]
		if ps == nil || ps.Type != ebpf.StructOps || ps.AttachTo != "tcp_congestion_ops:"+strings.TrimPrefix(p, "cc_") {
			t.Errorf("program %s: %+v, want a struct_ops program attached to its member", p, ps)
		}
	}
	value := ms.Contents[0].Value.([]byte)
	var nameOff uint32
	for _, m := range st.Members {
		if m.Name == "name" {
			nameOff = m.Offset.Bytes()
		}
	}
	if got := string(bytes.TrimRight(value[nameOff:nameOff+16], "\x00")); got != "bpfstar_cc" {
		t.Fatalf("name member %q, want bpfstar_cc", got)
	}
	name := uniqueCC()
	copy(value[nameOff:nameOff+16], make([]byte, 16))
	copy(value[nameOff:], name)

	coll := testenv.Collection(t, spec)
	l, err := link.AttachStructOps(link.StructOpsOptions{Map: coll.Maps["bpfstar_cc"]})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !registered(t, name) {
		t.Errorf("%s is not in %s after registering", name, availableCC)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if registered(t, name) {
		t.Errorf("%s is still in %s after closing the link", name, availableCC)
	}
}

// With link = False the map goes to .struct_ops, which libbpf 1.1 reads:
// bpftool struct_ops register registers it, and unregister removes it.
func TestTCPCongestionControlBpftool(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	src, err := os.ReadFile("tcp_cc.star")
	if err != nil {
		t.Fatal(err)
	}
	name := uniqueCC()
	text := strings.Replace(string(src), `"bpfstar_cc"`, fmt.Sprintf("%q", name), 1)
	text = strings.Replace(text, `b"bpfstar_cc"),
})`, fmt.Sprintf(`b%q),
}, link = False)`, name), 1)
	if !strings.Contains(text, "link = False") {
		t.Fatal("tcp_cc.star changed: cannot make the .struct_ops variant")
	}
	obj, err := compile.Source("tcp_cc.star", []byte(text), compile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tcp_cc.o")
	if err := os.WriteFile(file, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Root(t)
	if out, err := exec.Command(bpftool, "struct_ops", "register", file).CombinedOutput(); err != nil {
		t.Fatalf("bpftool struct_ops register: %v\n%s", err, out)
	}
	unregister := func() ([]byte, error) {
		return exec.Command(bpftool, "struct_ops", "unregister", "name", name).CombinedOutput()
	}
	t.Cleanup(func() {
		if registered(t, name) {
			unregister()
		}
	})
	if !registered(t, name) {
		t.Errorf("%s is not in %s after bpftool struct_ops register", name, availableCC)
	}
	if out, err := unregister(); err != nil {
		t.Fatalf("bpftool struct_ops unregister: %v\n%s", err, out)
	}
	if registered(t, name) {
		t.Errorf("%s is still in %s after bpftool struct_ops unregister", name, availableCC)
	}
}
