package vm_test

import (
	"os"
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
