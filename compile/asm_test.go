package compile

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/disasm"
	"github.com/bpfstar/bpfstar/internal/golden"
	"github.com/bpfstar/bpfstar/internal/testenv"
)

// TestAsmGolden builds testdata/asm/text.star, a program written with
// asm(), and insn.star, the same program written with the insn module,
// and checks that the objects agree byte for byte in every section but
// the two of debug info (.BTF, whose strings quote the source lines, and
// .BTF.ext, whose line records point at them), where the asm() object's
// line info must quote the lines of the text. The asm() object is pinned
// in testdata/asm/text.o (regenerate with go test -update) and loaded into
// the kernel.
func TestAsmGolden(t *testing.T) {
	build := func(name string) []byte {
		src, err := ReadFile(filepath.Join("testdata", "asm", name))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := Source(name, src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return obj
	}
	text, ins := build("text.star"), build("insn.star")
	tf, err := elf.NewFile(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	inf, err := elf.NewFile(bytes.NewReader(ins))
	if err != nil {
		t.Fatal(err)
	}
	if len(tf.Sections) != len(inf.Sections) {
		t.Fatalf("%d sections, want %d", len(tf.Sections), len(inf.Sections))
	}
	compared := 0
	for i, s := range tf.Sections {
		o := inf.Sections[i]
		if s.SectionHeader.Name != o.SectionHeader.Name || s.Type != o.Type || s.Flags != o.Flags {
			t.Errorf("section %d: %+v, want %+v", i, s.SectionHeader, o.SectionHeader)
		}
		if s.Name == ".BTF" || s.Name == ".BTF.ext" || s.Type == elf.SHT_NOBITS {
			continue
		}
		a, _ := s.Data()
		b, _ := o.Data()
		if !bytes.Equal(a, b) {
			t.Errorf("section %s differs:\n% x\nwant\n% x", s.Name, a, b)
		}
		compared++
	}
	if compared < 10 {
		t.Errorf("compared %d sections, want the code, relocations, maps, globals, symbols and strings", compared)
	}
	btf, _ := tf.Section(".BTF").Data()
	for _, line := range []string{"    r3 = atomic_fetch_add((u64 *)(r2 + 0), r3)", "    may_goto +4", "    r1 = {map} ll"} {
		if !bytes.Contains(btf, []byte(line+"\x00")) {
			t.Errorf(".BTF does not quote the line %q of the text", line)
		}
	}

	var listing bytes.Buffer
	if err := disasm.Object(&listing, "text.o", text); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "asm", "text.disasm"), listing.Bytes())
	golden.Check(t, filepath.Join("testdata", "asm", "text.o"), text)

	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	ret, _, err := coll.Programs["xdp_count"].Test(make([]byte, 64))
	if err != nil {
		t.Fatal(err)
	}
	if ret != 2 {
		t.Errorf("xdp_count(64-byte packet) = %d, want 2 (XDP_PASS)", ret)
	}
}

// TestAsmREADME builds the example of the README's section on asm() and
// runs it in the kernel: it counts every packet in counts[0] and passes it.
func TestAsmREADME(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "### Instructions as text: asm()")
	if !ok {
		t.Fatal("README.md has no section on asm()")
	}
	_, rest, _ = strings.Cut(rest, "```python\n")
	example, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("no python example in the README's section on asm()")
	}
	obj, err := Source("readme.star", []byte(example+"license(\"GPL\")\n"), Options{})
	if err != nil {
		t.Fatalf("%v\n%s", err, example)
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		t.Fatal(err)
	}
	coll := testenv.Collection(t, spec)
	for range 3 {
		ret, _, err := coll.Programs["count_all"].Test(make([]byte, 64))
		if err != nil {
			t.Fatal(err)
		}
		if ret != 2 {
			t.Fatalf("count_all returned %d, want 2 (XDP_PASS)", ret)
		}
	}
	var n uint64
	if err := coll.Maps["counts"].Lookup(uint32(0), &n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("counts[0] = %d after 3 runs, want 3", n)
	}
}
