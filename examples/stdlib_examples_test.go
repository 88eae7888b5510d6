package examples_test

import (
	"os"
	"strings"
	"testing"
)

// The three examples of issue 13 are written with the standard library:
// at most 15 lines of code each (neither blank nor comments), with no
// load or store by hand (so no hand-computed offset and no register
// saved to the stack) and no byte swap.
func TestStdlibExamplesShort(t *testing.T) {
	for _, name := range []string{"xdp_drop_dns.star", "pid_counter.star", "tc_syn_ringbuf.star"} {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		code := 0
		for _, line := range strings.Split(string(src), "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				code++
			}
		}
		if code > 15 {
			t.Errorf("%s has %d lines of code, want at most 15", name, code)
		}
		for _, by := range []string{"ldx_mem", "stx_mem", "st_mem", "to_be", "to_le", "bswap"} {
			if strings.Contains(string(src), by) {
				t.Errorf("%s uses %s: an offset, a byte swap or a register save by hand", name, by)
			}
		}
	}
}
