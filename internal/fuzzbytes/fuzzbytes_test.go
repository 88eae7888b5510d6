package fuzzbytes

import (
	"testing"

	_ "github.com/bpfstar/bpfstar/internal/golden" // -update
)

func TestReader(t *testing.T) {
	r := &Reader{Data: []byte{7, 9}}
	var got []byte
	for range 4 {
		got = append(got, r.Next())
	}
	if string(got) != "\x07\x09\x00\x00" || !r.Done() {
		t.Errorf("Next x4 = %v, Done %v; want [7 9 0 0], true", got, r.Done())
	}
}

// The zero Reader and a nil *Reader have no bytes: they give zeros and are
// done from the start.
func TestZeroValue(t *testing.T) {
	for name, r := range map[string]*Reader{"zero": {}, "nil": nil} {
		if !r.Done() || r.Next() != 0 || r.Next() != 0 || !r.Done() {
			t.Errorf("%s Reader: not done, or a byte other than 0", name)
		}
	}
}
