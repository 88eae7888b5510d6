package vm_test

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/vm"
)

// notApplicable lists the conformance vectors the interpreter does not
// run, with the reason.
var notApplicable = map[string]string{
	"callx.data": "callx (call through a register, opcode 0x8d) is not in RFC 9669, and the kernel rejects it",
}

// sections splits a conformance vector into its "-- NAME" sections.
func sections(s string) map[string]string {
	out := map[string]string{}
	name := ""
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, "-- ") {
			name = strings.TrimSpace(l[3:])
			out[name] = ""
			continue
		}
		if name != "" {
			out[name] += l
		}
	}
	return out
}

// TestConformance runs every vector of testdata/conformance (from
// bpf_conformance, see its README) and checks r0, except those in
// notApplicable.
func TestConformance(t *testing.T) {
	files, err := filepath.Glob("testdata/conformance/*.data")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 313 {
		t.Fatalf("%d vectors, want 313", len(files))
	}
	passed := 0
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".data"), func(t *testing.T) {
			if why, ok := notApplicable[name]; ok {
				t.Skip(why)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sec := sections(string(b))
			code, err := parseUBPF(sec["asm"])
			if err != nil {
				t.Fatal(err)
			}
			if raw, ok := sec["raw"]; ok {
				var want []byte
				for _, w := range strings.Fields(raw) {
					v, err := strconv.ParseUint(w, 0, 64)
					if err != nil {
						t.Fatal(err)
					}
					want = binary.LittleEndian.AppendUint64(want, v)
				}
				if string(want) != string(code) {
					t.Fatalf("assembled %x, raw section says %x", code, want)
				}
			}
			wantR0, err := strconv.ParseUint(strings.TrimSpace(sec["result"]), 0, 64)
			if err != nil {
				t.Fatalf("result: %v", err)
			}
			p, err := vm.Compile(code)
			if err != nil {
				t.Fatal(err)
			}
			m := vm.NewMachine()
			// Helper 5 of the conformance plugins ("unwind"): it returns
			// its argument, and the vectors that call it go on to exit.
			m.SetHelper(5, func(_ *vm.Machine, a [5]uint64) (uint64, error) { return a[0], nil })
			var r1, r2 uint64
			if mem, ok := sec["mem"]; ok {
				data, err := hex.DecodeString(strings.Join(strings.Fields(mem), ""))
				if err != nil {
					t.Fatalf("mem: %v", err)
				}
				r1, r2 = m.SetMemory("mem", data), uint64(len(data))
			}
			got, err := m.Run(p, r1, r2)
			if err != nil {
				t.Fatal(err)
			}
			if got != wantR0 {
				t.Fatalf("r0 = %#x, want %#x", got, wantR0)
			}
			passed++
		})
	}
	t.Logf("%d of %d vectors pass, %d not applicable", passed, len(files), len(notApplicable))
}
