package stdlib_test

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/internal/golden"
	"github.com/bpfstar/bpfstar/stdlib"
)

// The reference of the library in README.md is made from the library's
// doc comments (docstrings): the module's, then each public function's,
// with its parameters; uapi.star's constants are listed by group. It is
// kept current: go test ./stdlib -run Reference -update rewrites it.
func TestReference(t *testing.T) {
	const file = "../README.md"
	readme, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	begin, end := []byte(refBegin+"\n"), []byte(refEnd+"\n")
	i, j := bytes.Index(readme, begin), bytes.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", refBegin, refEnd)
	}
	ref, err := reference()
	if err != nil {
		t.Fatal(err)
	}
	got := append(append(append([]byte{}, readme[:i+len(begin)]...), ref...), readme[j:]...)
	if bytes.Equal(got, readme) {
		return
	}
	if golden.Updating() {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's library reference is not current: run go test ./stdlib -run Reference -update")
}

const (
	refBegin = "<!-- The reference below is generated from the library's doc comments by go test ./stdlib -run Reference -update: do not edit it. -->"
	refEnd   = "<!-- End of the generated reference. -->"
)

// order is the order of the files in the reference: the one-load module
// last, the generated ones first.
var order = []string{"uapi.star", "helpers.star", "endian.star", "ctx.star", "frame.star", "call.star", "flow.star", "net.star", "events.star", "bpf.star"}

func reference() ([]byte, error) {
	var b bytes.Buffer
	names := stdlib.Names()
	if len(names) != len(order) {
		return nil, fmt.Errorf("the library has %q; the reference orders %q", names, order)
	}
	for _, name := range order {
		src, ok := stdlib.File(name)
		if !ok {
			return nil, fmt.Errorf("no %s in the library", name)
		}
		f, err := (&syntax.FileOptions{}).Parse(name, src, 0)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "\n#### `@std//%s`\n\n", name)
		stmts := f.Stmts
		if doc, ok := docstring(stmts); ok {
			b.WriteString(doc + "\n")
			stmts = stmts[1:]
		}
		if name == "uapi.star" {
			b.WriteString(constants(src))
			continue
		}
		for _, s := range stmts {
			def, ok := s.(*syntax.DefStmt)
			if !ok || strings.HasPrefix(def.Name.Name, "_") {
				continue
			}
			doc, ok := docstring(def.Body)
			if !ok {
				return nil, fmt.Errorf("%s: %s has no doc comment", name, def.Name.Name)
			}
			fmt.Fprintf(&b, "\n`%s(%s)`\n\n%s\n", def.Name.Name, params(src, def), doc)
		}
	}
	return b.Bytes(), nil
}

// docstring returns the text of a leading string statement, dedented.
func docstring(stmts []syntax.Stmt) (string, bool) {
	if len(stmts) == 0 {
		return "", false
	}
	e, ok := stmts[0].(*syntax.ExprStmt)
	if !ok {
		return "", false
	}
	lit, ok := e.X.(*syntax.Literal)
	if !ok || lit.Token != syntax.STRING {
		return "", false
	}
	lines := strings.Split(strings.TrimSpace(lit.Value.(string)), "\n")
	indent := -1
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); indent < 0 || n < indent {
			indent = n
		}
	}
	for k := 1; k < len(lines); k++ {
		if len(lines[k]) >= indent && indent > 0 {
			lines[k] = lines[k][indent:]
		}
	}
	return strings.Join(lines, "\n"), true
}

// params renders a function's parameters as the source spells them.
func params(src []byte, def *syntax.DefStmt) string {
	var ps []string
	for _, p := range def.Params {
		start, end := p.Span()
		ps = append(ps, strings.Join(strings.Fields(string(src[offset(src, start):offset(src, end)])), " "))
	}
	return strings.Join(ps, ", ")
}

// offset returns the byte offset of a position in src.
func offset(src []byte, p syntax.Position) int {
	off := 0
	for line := int32(1); line < p.Line; line++ {
		off += bytes.IndexByte(src[off:], '\n') + 1
	}
	return off + int(p.Col) - 1
}

var (
	groupRE = regexp.MustCompile(`^# ([a-z0-9_/]+\.h): (.*)$`)
	constRE = regexp.MustCompile(`^([A-Z][A-Z0-9_]*) = (.*)$`)
)

// constants lists uapi.star's constants by group.
func constants(src []byte) string {
	var b strings.Builder
	for _, line := range strings.Split(string(src), "\n") {
		if m := groupRE.FindStringSubmatch(line); m != nil {
			fmt.Fprintf(&b, "\n* %s (`%s`):", m[2], m[1])
		} else if m := constRE.FindStringSubmatch(line); m != nil {
			fmt.Fprintf(&b, " `%s` = %s", m[1], m[2])
		}
	}
	return b.String() + "\n"
}

// bpf.star has every public function of the library and the header types
// of net.star, as its doc comment says: each public def of the other
// files (but the generated ones) is assigned in bpf.star.
func TestOneLoadHasAll(t *testing.T) {
	all, _ := stdlib.File("bpf.star")
	f, err := (&syntax.FileOptions{}).Parse("bpf.star", all, 0)
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, s := range f.Stmts {
		if a, ok := s.(*syntax.AssignStmt); ok {
			if id, ok := a.LHS.(*syntax.Ident); ok {
				has[id.Name] = true
			}
		}
	}
	for _, name := range order {
		if name == "bpf.star" || name == "uapi.star" || name == "helpers.star" {
			continue
		}
		src, _ := stdlib.File(name)
		f, err := (&syntax.FileOptions{}).Parse(name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range f.Stmts {
			if def, ok := s.(*syntax.DefStmt); ok && !strings.HasPrefix(def.Name.Name, "_") && !has[def.Name.Name] {
				t.Errorf("bpf.star lacks %s of %s", def.Name.Name, name)
			}
		}
	}
	for _, h := range []string{"ETHHDR", "VLAN_HDR", "IPHDR", "IPV6HDR", "UDPHDR", "TCPHDR"} {
		if !has[h] {
			t.Errorf("bpf.star lacks %s", h)
		}
	}
}
