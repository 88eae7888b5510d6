package verify

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/isa"
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

// programOrder lists the programs in declaration order, without the
// functions they call.
func TestProgramOrder(t *testing.T) {
	for file, want := range map[string][]string{
		"xdp_count.o": {"xdp_count"}, // not packet_length, add, account (static, in .text)
		"isa_v4.o":    {"v4_arith", "v4_memory"},
		"xdp_pass.o":  {"xdp_pass"},
	} {
		obj, err := os.ReadFile(filepath.Join("../examples/testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := programOrder(obj)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("programOrder(%s) = %q, %v; want %q", file, got, err, want)
		}
	}
	if _, err := programOrder([]byte("not an object, not even close")); err == nil {
		t.Error("programOrder of text: no error")
	}
}

// TestGoldens loads every example's golden object into the kernel: each
// program is accepted, in declaration order.
func TestGoldens(t *testing.T) {
	testenv.Root(t)
	files, err := filepath.Glob("../examples/testdata/*.o")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden objects: %v", err)
	}
	for _, file := range files {
		obj, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := Object(obj)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		order, _ := programOrder(obj)
		var names []string
		for _, v := range vs {
			names = append(names, v.Program)
			if !v.Accepted {
				t.Errorf("%s: %s rejected: %v\n%s", file, v.Program, v.Err, v.Log)
			}
		}
		if !slices.Equal(names, order) {
			t.Errorf("%s: verdicts for %q, want %q", file, names, order)
		}
	}
}

// A program in a section neither loader knows (written by hand: bpfstar
// refuses such a section at build time) gets a verdict saying so, not a
// panic.
func TestUnknownSection(t *testing.T) {
	obj := objwriter.New()
	exit := isa.Encode([]isa.Instruction{{Op: 0xb7}, {Op: 0x95}})
	if _, err := obj.AddProgram("xpd", "p", exit); err != nil {
		t.Fatal(err)
	}
	if err := obj.SetLicense("GPL"); err != nil {
		t.Fatal(err)
	}
	b, err := obj.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Object(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Accepted || vs[0].Err == nil || !strings.Contains(vs[0].Err.Error(), `section "xpd": the loaders cannot tell the program type`) {
		t.Fatalf("verdicts %+v", vs)
	}
}

// The kernel's log names files by their base name; the verdict and the
// annotated log name them as the object's line info does (the standard
// library's @std//net.star, not net.star), unless two files share the base
// name.
func TestRestoreFiles(t *testing.T) {
	log := []string{
		"; out.append(insn.ldx_mem(letter, v, at, o)) @ net.star:108",
		"13: (69) r6 = *(u16 *)(r0 +6)",
		"; ret(1), @ prog.star:7",
		"14: (b7) r0 = 1",
		"; x @ a.star:3",
	}
	got := restoreFiles(log, map[string]string{"net.star": "@std//net.star", "prog.star": "prog.star", "a.star": ""})
	want := []string{
		"; out.append(insn.ldx_mem(letter, v, at, o)) @ @std//net.star:108",
		"13: (69) r6 = *(u16 *)(r0 +6)",
		"; ret(1), @ prog.star:7",
		"14: (b7) r0 = 1",
		"; x @ a.star:3",
	}
	if !slices.Equal(got, want) {
		t.Errorf("restoreFiles =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if at := lastSource(got); at != "prog.star:7" {
		t.Errorf("lastSource = %q", at)
	}
}
