package examples_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/disasm"
	"github.com/bpfstar/bpfstar/internal/golden"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/workspace"
)

// The bytes of every example's object, as bpfstar build makes it in this
// repository's workspace (line info names examples/<stem>.star), are
// pinned in testdata/<stem>.o, with its disassembly beside it
// (testdata/<stem>.disasm) so that a change shows up readably in review. Regenerate with go test ./examples -update.
func TestGoldenObjects(t *testing.T) {
	for _, file := range examples(t) {
		t.Run(file, func(t *testing.T) {
			obj, _, err := workspace.BuildFile(file, starlib.Options{})
			if err != nil {
				t.Fatal(err)
			}
			stem := strings.TrimSuffix(file, ".star")
			var text bytes.Buffer
			if err := disasm.Object(&text, stem+".o", obj); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", stem+".disasm"), text.Bytes())
			golden.Check(t, filepath.Join("testdata", stem+".o"), obj)
		})
	}
}

// README's tutorial ends with examples/xdp_drop_dns.star, as it is.
func TestTutorialIsExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("xdp_drop_dns.star")
	if err != nil {
		t.Fatal(err)
	}
	block := "```python\n# xdp_drop_dns.star\n" + string(example) + "```\n"
	if !bytes.Contains(readme, []byte(block)) {
		t.Errorf("README.md's tutorial does not end with examples/xdp_drop_dns.star as it is (a block %q)", block[:60])
	}
}
