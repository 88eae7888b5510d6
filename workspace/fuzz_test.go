package workspace

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bpfstar/bpfstar/asm"
)

// FuzzBuildFile evaluates arbitrary BUILD.star text: it never panics, and
// every error names a position in the file, as the CLI prints it.
func FuzzBuildFile(f *testing.F) {
	for _, seed := range []string{
		"bpf_object(name = \"p\", src = \"p.star\")\n",
		"bpf_object(name = \"p\", src = \"p.star\")\nbpf_object(name = \"q\", src = \"sub/q.star\")\n",
		"x = [1] * 3\nbpf_object(name = \"p\" + str(len(x)), src = \"p.star\")\n",
		"if True:\n    pass\n",
		"def f():\n    pass\n",
		"load(\"//a:b.star\", \"c\")\n",
		"x = list(range(1 << 40))\n",
		"bpf_object(\"p\", \"p.star\")\n",
		"x = " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100) + "\n",
		"bpf_object(name = \"../x\", src = \"p.star\")\n",
		"bpf_object(name = \"p\", src = \"../p.star\")\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := evalBuildFile("BUILD.star", src, nil)
		if err == nil {
			return
		}
		var ae *asm.Error
		if !errors.As(err, &ae) {
			// Errors without a position are allowed only where Starlark
			// has none to give (an empty call stack).
			if strings.Contains(err.Error(), "panic") {
				t.Fatalf("%v", err)
			}
			return
		}
		if ae.Pos.File != "BUILD.star" || ae.Pos.Line < 1 {
			t.Fatalf("error at %v: %v", ae.Pos, err)
		}
		if !utf8.ValidString(err.Error()) && utf8.Valid(src) {
			t.Fatalf("invalid UTF-8 in the error for valid input: %q", err.Error())
		}
	})
}
