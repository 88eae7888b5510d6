package vm_test

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

// TestLoadObject loads examples/xdp_count.o: its programs (not the .text
// functions), its maps and data sections, and a program's run leaves its
// counts in the map, with .data and .bss as the code sees them.
func TestLoadObject(t *testing.T) {
	b, err := os.ReadFile("../examples/testdata/xdp_count.o")
	if err != nil {
		t.Fatal(err)
	}
	o, err := vm.LoadObject(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Programs(), " "); got != "xdp_count" {
		t.Errorf("programs %q", got)
	}
	var maps []string
	for _, s := range o.Maps() {
		maps = append(maps, fmt.Sprintf("%s:%s:%d", s.Name, s.TypeName(), s.ValueSize))
	}
	if got := strings.Join(maps, " "); got != "stats:array:8 .rodata:array:4 .data:array:4 .bss:array:8" {
		t.Errorf("maps %s", got)
	}
	if _, err := o.Program("packet_length"); err == nil {
		t.Error("a .text function is a program")
	}
	m, err := o.NewMachine(vm.Env{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Program("xdp_count")
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.RunProgram(p, vm.Input{Data: make([]byte, 42)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Retval != 2 || len(out.Data) != 42 {
		t.Errorf("retval %d, %d bytes", out.Retval, len(out.Data))
	}
	for key, want := range map[uint32]uint64{0: 1, 1: 42} {
		if v, ok := m.Map("stats").Lookup(u32(key), 0); !ok || binary.LittleEndian.Uint64(v) != want {
			t.Errorf("stats[%d] = %x, want %d", key, v, want)
		}
	}
	if v, ok := m.Map(".bss").Lookup(u32(0), 0); !ok || binary.LittleEndian.Uint64(v) != 1 {
		t.Errorf(".bss (seen) = %x, want 1", v)
	}
	// .rodata is read-only for the program.
	if err := m.Map(".rodata").Update(u32(0), u32(1)); err != nil {
		t.Errorf("user space may set .rodata before a run: %v", err)
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
