package vm_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

func TestExampleObjects(t *testing.T) {
	for _, tc := range []struct {
		obj, prog string
		data      []byte
		want      uint32
	}{
		{"xdp_pass", "", make([]byte, 14), 2},
	} {
		b, err := os.ReadFile("../examples/testdata/" + tc.obj + ".o")
		if err != nil {
			t.Fatal(err)
		}
		o, err := vm.LoadObject(b)
		if err != nil {
			t.Fatal(err)
		}
		t.Log(o.Programs())
	}
}

// TestCoverage counts the lines of examples/xdp_pass.star over two
// objects (as two test files that load it give): the counts add up.
func TestCoverage(t *testing.T) {
	b, err := os.ReadFile("../examples/testdata/xdp_pass.o")
	if err != nil {
		t.Fatal(err)
	}
	var c vm.Coverage
	for range 2 {
		o, err := vm.LoadObject(b)
		if err != nil {
			t.Fatal(err)
		}
		m, err := o.NewMachine(vm.Env{})
		if err != nil {
			t.Fatal(err)
		}
		m.Hook = c.Hook(o)
		p, err := o.Program("xdp_pass")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.RunProgram(p, vm.Input{Data: make([]byte, 14)}); err != nil {
			t.Fatal(err)
		}
	}
	var lcov, text strings.Builder
	if err := vm.WriteLCOV(&lcov, c.Files()); err != nil {
		t.Fatal(err)
	}
	if err := vm.WriteText(&text, c.Files()); err != nil {
		t.Fatal(err)
	}
	if want := "TN:\nSF:examples/xdp_pass.star\nDA:6,2\nDA:7,2\nLH:2\nLF:2\nend_of_record\n"; lcov.String() != want {
		t.Errorf("LCOV:\n%s\nwant:\n%s", lcov.String(), want)
	}
	want := "examples/xdp_pass.star: 2 of 2 lines ran\n" +
		"        2     6 |     insn.mov64_imm(r0, XDP_PASS),\n" +
		"        2     7 |     exit(),\n" +
		"total: 2 of 2 lines ran\n"
	if text.String() != want {
		t.Errorf("listing:\n%s\nwant:\n%s", text.String(), want)
	}
}
