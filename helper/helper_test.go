package helper

import (
	"os"
	"testing"

	"github.com/cilium/ebpf/asm"
	"github.com/google/go-cmp/cmp"

	"github.com/bpfstar/bpfstar/helper/internal/parse"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

func TestLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   int32
		fn   asm.BuiltinFunc
	}{
		{"map_lookup_elem", 1, asm.FnMapLookupElem},
		{"bpf_map_lookup_elem", 1, asm.FnMapLookupElem},
		{"trace_printk", 6, asm.FnTracePrintk},
		{"ringbuf_output", 130, asm.FnRingbufOutput},
		{"bpf_loop", 181, asm.FnLoop},
		{"cgrp_storage_delete", 211, asm.FnCgrpStorageDelete},
	} {
		h, ok := Lookup(tc.name)
		if !ok || h.ID != tc.id || int32(tc.fn) != tc.id {
			t.Errorf("Lookup(%q) = %v, %v; want id %d (cilium: %d)", tc.name, h, ok, tc.id, tc.fn)
		}
		if byID, _ := ByID(tc.id); byID.Name != h.Name {
			t.Errorf("ByID(%d) = %q, want %q", tc.id, byID.Name, h.Name)
		}
	}
	if _, ok := Lookup("no_such_helper"); ok {
		t.Error("Lookup found a helper that does not exist")
	}
	if _, ok := ByID(10000); ok {
		t.Error("ByID found helper 10000")
	}
}

// Every helper number from 1 up to the last one is in the table, as in the
// kernel's enum bpf_func_id, which has no gaps.
func TestDense(t *testing.T) {
	for i, h := range All() {
		if h.ID != int32(i+1) {
			t.Fatalf("helper %d is %v, want id %d", i, h, i+1)
		}
	}
	if n := len(All()); n < int(asm.FnCgrpStorageDelete) {
		t.Errorf("table has %d helpers, fewer than cilium/ebpf knows (%d)", n, asm.FnCgrpStorageDelete)
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"map_lookup_elm":     "bpf_map_lookup_elem",
		"bpf_trace_prinkt":   "bpf_trace_printk",
		"ktime_get_ns_":      "bpf_ktime_get_ns",
		"completely_unknown": "",
	} {
		if got := Suggest(in); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}

// The committed table matches the installed libbpf header.
func TestTableMatchesHeader(t *testing.T) {
	const path = "/usr/include/bpf/bpf_helper_defs.h"
	src, err := os.ReadFile(path)
	if err != nil {
		testenv.Missing(t, path+" is missing (Debian: apt-get install -y libbpf-dev)")
	}
	hs, err := parse.Header(src)
	if err != nil {
		t.Fatal(err)
	}
	var want []Helper
	for _, h := range hs {
		want = append(want, Helper(h))
	}
	if diff := cmp.Diff(want, All()); diff != "" {
		t.Errorf("table.go is stale, run `go generate ./helper` (-header +table):\n%s", diff)
	}
}
