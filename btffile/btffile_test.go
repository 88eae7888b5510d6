package btffile

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/internal/btftest"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

func TestType(t *testing.T) {
	for layout, off := range btftest.Offsets {
		f, err := Parse(btftest.Kernel(btftest.Options{Layout: layout}))
		if err != nil {
			t.Fatal(err)
		}
		task, err := f.Type("task_struct")
		if err != nil {
			t.Fatal(err)
		}
		if err := btf.Check(task); err != nil {
			t.Fatal(err)
		}
		if task.Size() != off["size"] {
			t.Errorf("layout %d: size %d, want %d", layout, task.Size(), off["size"])
		}
		for _, m := range []string{"pid", "tgid", "comm", "real_parent", "se"} {
			loc, err := btf.Offsetof(task, m)
			if err != nil || loc.BitOffset != 8*uint64(off[m]) {
				t.Errorf("layout %d: %s at bit %d (%v), want %d", layout, m, loc.BitOffset, err, 8*off[m])
			}
		}
		loc, _ := btf.Offsetof(task, "flags")
		if loc.BitOffset != 8*uint64(off["flags"])+3 || loc.Bits != 5 {
			t.Errorf("flags: %+v", loc)
		}
		// real_parent points at a forward declaration, which Deref
		// turns into task_struct again.
		loc, _ = btf.Offsetof(task, "real_parent")
		fwd, ok := loc.Type.(*btf.Ptr).Target.(*btf.Fwd)
		if !ok || fwd.Name != "task_struct" {
			t.Fatalf("real_parent: %v", loc.Type)
		}
		def, ok, err := f.Deref(fwd)
		if !ok || err != nil || def != task {
			t.Errorf("Deref: %v %v %v", def, ok, err)
		}
		if e, err := f.Type("enum pid_type"); err != nil || len(e.(*btf.Enum).Values) != 5 {
			t.Errorf("enum pid_type: %v %v", e, err)
		}
		if fp, err := f.Func("bpf_task_from_pid"); err != nil || len(fp.Params) != 1 || fp.Return.String() != "struct task_struct *" {
			t.Errorf("bpf_task_from_pid: %v %v", fp, err)
		}
	}
}

func TestErrors(t *testing.T) {
	if _, err := Parse([]byte("#!/bin/sh\n")); !errors.Is(err, ErrNotBTF) {
		t.Errorf("Parse(script): %v", err)
	}
	data := btftest.Kernel(btftest.Options{})
	if _, err := Parse(data[:40]); !errors.Is(err, ErrNotBTF) {
		t.Errorf("Parse(truncated): %v", err)
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"no_such":           `no type "no_such"`,
		"union task_struct": `no type "union task_struct"`,
		"class task_struct": "want NAME, struct NAME",
	} {
		if _, err := f.Type(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Type(%q): %v, want %q", name, err, want)
		}
	}
	if _, err := f.Func("bpf_nope"); err == nil || !strings.Contains(err.Error(), `no function "bpf_nope"`) {
		t.Errorf("Func: %v", err)
	}
}

// TestVmlinux converts task_struct of the running kernel's BTF: every
// member, with the kernel's offsets and size, is a graph btf.Check
// accepts.
func TestVmlinux(t *testing.T) {
	data, err := os.ReadFile("/sys/kernel/btf/vmlinux")
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"task_struct", "struct sk_buff", "struct bpf_attr", "enum bpf_map_type", "union bpf_attr", "struct file"} {
		typ, err := f.Type(name)
		if name == "struct bpf_attr" {
			if err == nil {
				t.Errorf("%s: no error", name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := btf.Check(typ); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
