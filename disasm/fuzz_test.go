package disasm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/isatest"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/objwriter"
)

// FuzzCode checks that no instruction bytes make the disassembler panic:
// the bytes become the code of a program in a well-formed object, so that
// the fuzzer spends its time on the instruction printer rather than on the
// ELF parser (FuzzObject covers that). The seed corpus is in
// testdata/fuzz/FuzzCode.
func FuzzCode(f *testing.F) {
	f.Add(isa.Encode(isatest.Forms()[:40]), uint8(0))
	f.Add(isa.Encode(isatest.Noncanonical()), uint8(1))
	f.Fuzz(func(t *testing.T, code []byte, split uint8) {
		o := objwriter.New()
		// Two programs share the section when split is odd: symbols in
		// the middle of the code.
		cut := len(code)
		if split&1 == 1 {
			cut = int(split) % (len(code) + 1)
		}
		if _, err := o.AddProgram("xdp", "p", code[:cut]); err != nil {
			return
		}
		if cut < len(code) {
			if _, err := o.AddProgram("xdp", "q", code[cut:]); err != nil {
				return
			}
		}
		data, err := o.Bytes()
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := object(&out, "fuzz.o", data); err != nil {
			return
		}
		if !strings.HasPrefix(out.String(), "\nfuzz.o:\tfile format elf64-bpf\n") {
			t.Fatalf("no header: %q", out.String())
		}
	})
}
