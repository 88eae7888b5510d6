package starlib

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/internal/spell"
)

// nearest returns the candidate closest to name (by edit distance, at most
// a third of the name's length away, ties broken alphabetically), or "".
func nearest(name string, candidates []string) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	best, bestD := "", len(name)/3+1
	for _, c := range sorted {
		if d := spell.Distance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// explainForwardRef rewrites "undefined: x" when x is defined further down
// the file: in Starlark, top-level names exist only after their definition,
// so a map or global must be declared before the instructions that use it.
func explainForwardRef(err error, filename string, src []byte) error {
	ae, ok := err.(*asm.Error)
	if !ok || ae.Pos.File != filename {
		return err
	}
	name, ok := strings.CutPrefix(ae.Msg, "undefined: ")
	if !ok {
		return err
	}
	name, _, _ = strings.Cut(name, " ")
	f, perr := FileOptions().Parse(filename, src, 0)
	if perr != nil {
		return err
	}
	for _, stmt := range f.Stmts {
		var bound []*syntax.Ident
		switch s := stmt.(type) {
		case *syntax.AssignStmt:
			syntax.Walk(s.LHS, func(n syntax.Node) bool {
				if id, ok := n.(*syntax.Ident); ok {
					bound = append(bound, id)
				}
				return true
			})
		case *syntax.DefStmt:
			bound = append(bound, s.Name)
		}
		for _, id := range bound {
			if id.Name == name {
				return &asm.Error{Pos: ae.Pos, Msg: fmt.Sprintf("%s is used before its definition at %v: define it above its first use", name, toPos(id.NamePos))}
			}
		}
	}
	return err
}
