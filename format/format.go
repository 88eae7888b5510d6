// Package format formats Starlark files the way bpfstar fmt does: with the
// printer and rewrites of buildifier (the build package of
// github.com/bazelbuild/buildtools), BUILD.star files as Bazel BUILD files
// and programs and libraries as .bzl files. It also expands fmt's
// arguments (files, directories, labels and patterns) into files.
package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	buildtools "github.com/bazelbuild/buildtools/build"
	"github.com/bazelbuild/buildtools/tables"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/internal/atomicfile"
	"github.com/bpfstar/bpfstar/internal/inputfile"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/workspace"
)

// File formats one file in place (through a temporary file and a rename,
// keeping its permissions and owner; a file with other hard links is
// rewritten where it is, so that they keep seeing it), or with check only
// reports whether it needs formatting. A syntax error reads FILE:LINE:COL:
// msg.
func File(file string, check bool) (changed bool, err error) {
	src, err := inputfile.Read(file)
	if err != nil {
		return false, err
	}
	out, err := Source(file, src)
	if err != nil {
		return false, err
	}
	if bytes.Equal(src, out) {
		return false, nil
	}
	if check {
		return true, nil
	}
	// Write through a symbolic link, not over it.
	target, err := filepath.EvalSymlinks(file)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(target)
	if err != nil {
		return false, err
	}
	if links(fi) > 1 {
		// A rename would give this name a new file and leave the other
		// links with the old one.
		return true, os.WriteFile(target, out, fi.Mode().Perm())
	}
	if err := atomicfile.Write(target, out, fi.Mode().Perm()); err != nil {
		return true, err
	}
	return true, keepOwner(target, fi)
}

// MaxNesting is how deep the syntax tree of a file that fmt formats may
// be: a chain of 2,000 operators takes buildifier's printer about a tenth
// of a second.
const MaxNesting = 2000

// Source formats a BUILD.star file as a Bazel BUILD file and every
// other file (programs and libraries) as a .bzl file, with buildifier's
// printer and the rewrites that keep what the file builds (see
// bzlRewrites).
func Source(file string, src []byte) ([]byte, error) {
	// buildifier's parser and printer recurse over the tree, and its
	// printer takes time quadratic in the length of an operator chain
	// (40k terms: 40 s): refuse what is too deep to format, where the
	// Starlark parser already stops at excessive nesting.
	// A file bpfstar build cannot parse is not formatted either, with
	// build's error: the Starlark parser's position is that of the
	// offending token (buildifier's is where its lexer stopped), and it
	// stops at excessive nesting, where buildifier would recurse until
	// the stack runs out.
	sf, err := starlib.FileOptions().Parse(file, src, 0)
	if err != nil {
		return nil, err
	}
	if err := starlib.CheckNestingMax(sf, MaxNesting); err != nil {
		return nil, err
	}
	// buildifier's parser refuses bytes literals with escapes of bytes
	// past 0x7f (b"\xff"), which Starlark takes: they are hidden from it
	// behind placeholder strings, and put back as written.
	src, restore := hideBytes(src, sf)
	parse := buildtools.ParseBzl
	if filepath.Base(file) == "BUILD.star" {
		parse = buildtools.ParseBuild
	}
	f, err := parse(file, src)
	if err != nil {
		return nil, err
	}
	rewrites := bzlRewrites()
	if f.Type == buildtools.TypeBuild {
		rewrites = buildRewrites()
	}
	return restore(buildtools.FormatWithRewriter(&buildtools.Rewriter{
		RewriteSet:                      rewrites,
		IsLabelArg:                      tables.IsLabelArg,
		LabelDenyList:                   tables.LabelDenylist,
		IsSortableListArg:               tables.IsSortableListArg,
		SortableDenylist:                tables.SortableDenylist,
		SortableAllowlist:               tables.SortableAllowlist,
		NamePriority:                    tables.NamePriority,
		StripLabelLeadingSlashes:        tables.StripLabelLeadingSlashes,
		ShortenAbsoluteLabelsToRelative: tables.ShortenAbsoluteLabelsToRelative,
	}, f)), nil
}

// bzlRewrites returns the rewrites buildifier applies, less the ones that
// would change what a file builds: in bpfstar a load() runs its library's
// top-level declarations (maps, programs) where it stands, so loads are
// never moved to the top or sorted (loadTop, sortLoadStatements), and lists
// of strings in program files may be data, so they are never sorted
// (listsort). Reordering the names within one load, merging loads of the
// same file, and spelling literals canonically change nothing. Each call
// returns a new list (there is no shared one for a Rewriter to change).
func bzlRewrites() []string {
	return []string{"sameOriginLoad", "loadsort", "formatdocstrings", "reorderarguments", "editoctal", "editfloat", "collapseEmpty"}
}

// buildRewrites returns the rewrites of BUILD.star files: those of
// bzlRewrites and buildifier's rewrites of BUILD files (removeParens,
// callsort, label, listsort, multiplus).
func buildRewrites() []string {
	return []string{"removeParens", "callsort", "label", "listsort", "multiplus", "sameOriginLoad", "loadsort", "formatdocstrings", "reorderarguments", "editoctal", "editfloat", "collapseEmpty"}
}

// Files expands fmt's arguments into the files to format, each once:
// a file stands for itself; a directory for every .star file below it
// (except in bpfstar-out and hidden directories), in sorted order. A label
// (//pkg:file.star, or :file.star in the current directory's package)
// names that file of the workspace; a pattern //pkg/... (//..., or
// relative: ..., sub/...) every .star file in pkg and below.
func Files(args []string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	add := func(file string) {
		if key := filepath.Clean(file); !seen[key] {
			seen[key] = true
			files = append(files, file)
		}
	}
	var ws *labelResolver // found on the first label
	for _, arg := range args {
		if isLabel(arg) {
			if ws == nil {
				r, err := newLabelResolver()
				if err != nil {
					return nil, fmt.Errorf("%s: %v", arg, err)
				}
				ws = r
			}
			file, recursive, err := ws.resolve(arg)
			if err != nil {
				return nil, err
			}
			fi, err := os.Stat(file)
			switch {
			case !recursive && (err != nil || fi.IsDir()):
				return nil, fmt.Errorf("%s: no such file %s", arg, file)
			case !recursive:
				add(file)
				continue
			case err != nil || !fi.IsDir():
				return nil, fmt.Errorf("%s: no such directory %s", arg, file)
			}
			arg = file
		}
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			add(arg)
			continue
		}
		err = filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != arg && (d.Name() == workspace.OutDir || strings.HasPrefix(d.Name(), ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, ".star") && d.Type().IsRegular() {
				add(p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// isLabel reports whether an argument is a label or a pattern rather
// than a path.
func isLabel(arg string) bool {
	return strings.HasPrefix(arg, "//") || strings.HasPrefix(arg, ":") || strings.HasPrefix(arg, "@") ||
		arg == "..." || strings.HasSuffix(arg, "/...")
}

// A labelResolver turns labels into paths in the workspace that contains
// the current directory.
type labelResolver struct {
	ws  *workspace.Workspace
	cwd string // the current directory
	pkg string // the current directory relative to the root
}

func newLabelResolver() (*labelResolver, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	ws, err := workspace.Find(cwd)
	if err != nil {
		return nil, err
	}
	if ws == nil {
		return nil, fmt.Errorf("labels need a workspace, but there is no %s file in %s or any directory above it", workspace.MarkerFile, cwd)
	}
	pkg, err := ws.Rel(cwd)
	if err != nil {
		return nil, err
	}
	return &labelResolver{ws: ws, cwd: cwd, pkg: pkg}, nil
}

// resolve returns the file a label names, or the directory of a recursive
// pattern, as a path relative to the current directory.
func (r *labelResolver) resolve(label string) (file string, recursive bool, err error) {
	rest := strings.TrimPrefix(label, "//")
	if !strings.Contains(rest, ":") && rest != "..." && !strings.HasSuffix(rest, "/...") {
		return "", false, fmt.Errorf("bad label %q: want //pkg:file.star, :file.star, //pkg/... or //...", label)
	}
	p, err := workspace.ParsePattern(label, r.pkg)
	if err != nil {
		return "", false, err
	}
	abs := r.ws.Abs(path.Join(p.Pkg, p.Name))
	if rel, err := filepath.Rel(r.cwd, abs); err == nil {
		return rel, p.Recursive, nil
	}
	return abs, p.Recursive, nil
}

// hideBytes replaces the text of every bytes literal of src (parsed as f)
// by a placeholder string literal that buildifier takes as it is, and
// returns the new source and the function that puts the literals back
// into formatted text. The placeholders name a digest of src, so that no
// text of the file can be mistaken for one.
func hideBytes(src []byte, f *syntax.File) ([]byte, func([]byte) []byte) {
	var lits []*syntax.Literal
	syntax.Walk(f, func(n syntax.Node) bool {
		if l, ok := n.(*syntax.Literal); ok && l.Token == syntax.BYTES {
			lits = append(lits, l)
		}
		return true
	})
	// In source order (Walk visits a if c else b's c first).
	slices.SortStableFunc(lits, func(a, b *syntax.Literal) int {
		if a.TokenPos.Line != b.TokenPos.Line {
			return int(a.TokenPos.Line - b.TokenPos.Line)
		}
		return int(a.TokenPos.Col - b.TokenPos.Col)
	})
	raws := make([]string, len(lits))
	for i, l := range lits {
		raws[i] = l.Raw
	}
	if len(raws) == 0 {
		return src, func(b []byte) []byte { return b }
	}
	sum := sha256.Sum256(src)
	tag := hex.EncodeToString(sum[:6])
	placeholder := func(i int) string { return fmt.Sprintf("\"bpfstar_bytes_%s_%d\"", tag, i) }
	// The literals in source order: each replaced at or after the end of
	// the one before.
	var b bytes.Buffer
	rest := src
	for i, raw := range raws {
		j := bytes.Index(rest, []byte(raw))
		if j < 0 {
			return src, func(b []byte) []byte { return b } // cannot happen: give up hiding
		}
		b.Write(rest[:j])
		b.WriteString(placeholder(i))
		rest = rest[j+len(raw):]
	}
	b.Write(rest)
	return b.Bytes(), func(out []byte) []byte {
		for i, raw := range raws {
			out = bytes.Replace(out, []byte(placeholder(i)), []byte(raw), 1)
		}
		return out
	}
}
