package verify

import (
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/objwriter"
)

// The kernel's log with line info (as printed for a program built from
// unsafe.star): each instruction gets the FILE:LINE of the source line
// above it, and the rejection is placed at the last instruction.
var kernelLog = strings.Split(`0: R1=ctx() R10=fp0
; insn.call("map_lookup_elem"), @ unsafe.star:9
5: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=counts,ks=4,vs=8)
; insn.ldx_mem("dw", r0, r0, 0), @ unsafe.star:10
6: (79) r0 = *(u64 *)(r0 +0)
R0 invalid mem access 'map_value_or_null'
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0`, "\n")

func TestAnnotate(t *testing.T) {
	got := Annotate(kernelLog)
	want := `0: R1=ctx() R10=fp0
; insn.call("map_lookup_elem"), @ unsafe.star:9
5: (85) call bpf_map_lookup_elem#1    ; R0=map_value_or_null(id=1,map=counts,ks=4,vs=8)	// unsafe.star:9
; insn.ldx_mem("dw", r0, r0, 0), @ unsafe.star:10
6: (79) r0 = *(u64 *)(r0 +0)	// unsafe.star:10
R0 invalid mem access 'map_value_or_null'
processed 6 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`
	if got != want {
		t.Errorf("Annotate =\n%s\nwant\n%s", got, want)
	}
	if at := lastSource(kernelLog); at != "unsafe.star:10" {
		t.Errorf("lastSource = %q", at)
	}
	if n := processed(strings.Join(kernelLog, "\n")); n != 6 {
		t.Errorf("processed = %d", n)
	}
}

// An object without programs is an error, not an empty success.
func TestNoPrograms(t *testing.T) {
	o := objwriter.New()
	if err := o.SetLicense("GPL"); err != nil {
		t.Fatal(err)
	}
	obj, err := o.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Object(obj); err == nil || err.Error() != "the object has no programs" {
		t.Errorf("Object = %v, want 'the object has no programs'", err)
	}
}
