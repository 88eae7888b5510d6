package workspace

import (
	"errors"
	"fmt"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/starlib"
)

// A Target is a bpf_object (or a bpf_test) declared in a BUILD.star file.
type Target struct {
	Label Label
	Src   string  // the program file, relative to the root
	Pos   asm.Pos // the bpf_object call
	// GoPackage, when set (bpf_object's go_package), asks for Go bindings
	// of the object in that Go package: see Label.GoOutput.
	GoPackage string
	// GoTypes (bpf_object's go_types) names more BTF types for the Go
	// bindings to declare: gobind.Options.Types, 'bpfstar gen go --type'.
	GoTypes []string
}

// A Package is a directory with a BUILD.star file.
type Package struct {
	Path    string // relative to the root; "" for the root package
	Targets []*Target
	// Tests are the bpf_test targets: test files for `bpfstar test`,
	// which `bpfstar build` leaves alone.
	Tests []*Target
}

// buildFileOptions returns the dialect of BUILD.star files: declarations
// only. Top-level if and for are refused by the resolver; def, lambda, load
// and *args/**kwargs by checkBuildFile.
func buildFileOptions() *syntax.FileOptions { return &syntax.FileOptions{} }

// maxBuildSteps bounds the evaluation of one BUILD file.
const maxBuildSteps = 10_000_000

// declared is what evaluating a BUILD file yields, before the file system
// checks; it is what the cache keeps.
type declared struct {
	Name string `json:"name"`
	Src  string `json:"src"`
	Line int32  `json:"line"`
	Col  int32  `json:"col"`
	Test bool   `json:"test,omitempty"` // a bpf_test
	// GoPackage is bpf_object's go_package.
	GoPackage string `json:"go_package,omitempty"`
	// GoTypes is bpf_object's go_types.
	GoTypes []string `json:"go_types,omitempty"`
}

// loadPackage reads and evaluates pkg/BUILD.star.
func (w *Workspace) loadPackage(pkg string, c *cache, print io.Writer) (*Package, error) {
	file := path.Join(pkg, BuildFileName)
	src, err := w.readInput(file)
	if errors.Is(err, fs.ErrNotExist) {
		if fi, err := os.Stat(w.Abs(pkg)); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("no package //%s: directory %s does not exist", pkg, displayDir(pkg))
		}
		return nil, fmt.Errorf("no package //%s: %s does not exist", pkg, file)
	}
	if err != nil {
		return nil, err
	}
	var decls []declared
	key := c.key("BUILD", pkg, string(src))
	if !c.getJSON("build", key, &decls) || !validDecls(decls) {
		if decls, err = evalBuildFile(file, src, print); err != nil {
			return nil, err
		}
		c.putJSON("build", key, decls)
	}
	p := &Package{Path: pkg}
	for _, d := range decls {
		pos := asm.Pos{File: file, Line: d.Line, Col: d.Col}
		rule := "bpf_object"
		if d.Test {
			rule = "bpf_test"
		}
		if err := w.checkSrc(pkg, d.Src); err != nil {
			return nil, &asm.Error{Pos: pos, Msg: fmt.Sprintf("%s %q: %v", rule, d.Name, err)}
		}
		t := &Target{Label: Label{pkg, d.Name}, Src: path.Join(pkg, strings.TrimPrefix(d.Src, ":")), Pos: pos, GoPackage: d.GoPackage, GoTypes: d.GoTypes}
		if d.Test {
			p.Tests = append(p.Tests, t)
		} else {
			p.Targets = append(p.Targets, t)
		}
	}
	return p, nil
}

func displayDir(pkg string) string {
	if pkg == "" {
		return "."
	}
	return pkg
}

// checkSrc checks that src names an existing program file of package pkg.
func (w *Workspace) checkSrc(pkg, src string) error {
	rel := path.Join(pkg, src)
	fi, err := os.Stat(w.Abs(rel))
	if err != nil {
		return fmt.Errorf("src %q: %s does not exist", src, rel)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("src %q: %s is not a file", src, rel)
	}
	// A file below a subdirectory with its own BUILD.star belongs to
	// that package, not this one.
	for d := path.Dir(src); d != "."; d = path.Dir(d) {
		sub := path.Join(pkg, d)
		if _, err := os.Stat(w.Abs(path.Join(sub, BuildFileName))); err == nil {
			return fmt.Errorf("src %q belongs to package //%s, not //%s", src, sub, pkg)
		}
	}
	return nil
}

// validDecls reports whether declarations read from the cache (untrusted:
// anyone may edit it) are ones evaluating a BUILD file could give: names
// and program files as bpf_object checks them. Anything else is a miss.
func validDecls(decls []declared) bool {
	for _, d := range decls {
		if !targetNameRE.MatchString(d.Name) || len(d.Name) > maxTargetName ||
			d.Src == "" || checkRelPath(d.Src) != nil || !strings.HasSuffix(d.Src, ".star") ||
			path.Base(d.Src) == BuildFileName || d.Line < 1 || d.Col < 1 ||
			d.GoPackage != "" && (d.Test || checkGoPackage(d.Name, d.GoPackage) != nil) ||
			d.GoTypes != nil && (d.GoPackage == "" || checkGoTypes(d.GoTypes) != nil) {
			return false
		}
	}
	return true
}

// maxTargetName is the longest target name: NAME.o and the temporary
// names beside it must fit in a file name's 255 bytes.
const maxTargetName = 200

// evalBuildFile checks and evaluates a BUILD.star file.
func evalBuildFile(file string, src []byte, print io.Writer) ([]declared, error) {
	f, err := buildFileOptions().Parse(file, src, 0)
	if err != nil {
		return nil, toAsmError(err)
	}
	if err := starlib.CheckNesting(f); err != nil {
		return nil, err
	}
	if err := checkBuildFile(f); err != nil {
		return nil, err
	}
	var decls []declared
	names := map[string]asm.Pos{}
	rule := func(test bool) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if len(args) > 0 {
				return nil, fmt.Errorf("%s: takes keyword arguments only: %s(name = ..., src = ...)", b.Name(), b.Name())
			}
			var name, src, goPkg string
			var goTypesArg starlark.Value = starlark.None
			params := []any{"name", &name, "src", &src}
			if !test {
				params = append(params, "go_package?", &goPkg, "go_types?", &goTypesArg)
			}
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, params...); err != nil {
				return nil, err
			}
			p := thread.CallFrame(1).Pos
			pos := asm.Pos{File: p.Filename(), Line: p.Line, Col: p.Col}
			if !targetNameRE.MatchString(name) {
				return nil, fmt.Errorf("%s: name %q: want letters, digits and _ . + - (it names the output file)", b.Name(), name)
			}
			if len(name) > maxTargetName {
				return nil, fmt.Errorf("%s: name of %d bytes: at most %d (it names the output file, NAME.o)", b.Name(), len(name), maxTargetName)
			}
			if prev, dup := names[name]; dup {
				return nil, fmt.Errorf("%s: duplicate target name %q (first declared at %v)", b.Name(), name, prev)
			}
			names[name] = pos
			file := strings.TrimPrefix(src, ":")
			if err := checkRelPath(file); err != nil || file == "" {
				if err == nil {
					err = errors.New("empty")
				}
				return nil, fmt.Errorf("%s %q: src: %v", b.Name(), name, err)
			}
			if !strings.HasSuffix(file, ".star") || path.Base(file) == BuildFileName {
				return nil, fmt.Errorf("%s %q: src %q: want a program file (.star, not %s) of this package", b.Name(), name, src, BuildFileName)
			}
			if goPkg != "" {
				if err := checkGoPackage(name, goPkg); err != nil {
					return nil, fmt.Errorf("%s %q: %v", b.Name(), name, err)
				}
			}
			goTypes, err := unpackGoTypes(goTypesArg)
			if err == nil && goTypes != nil && goPkg == "" {
				err = errors.New("go_types without go_package: the types are for the Go bindings, which go_package asks for")
			}
			if err != nil {
				return nil, fmt.Errorf("%s %q: %v", b.Name(), name, err)
			}
			decls = append(decls, declared{Name: name, Src: file, Line: pos.Line, Col: pos.Col, Test: test, GoPackage: goPkg, GoTypes: goTypes})
			return starlark.None, nil
		}
	}
	thread := &starlark.Thread{
		Name: file,
		Print: func(_ *starlark.Thread, msg string) {
			if print != nil {
				fmt.Fprintln(print, msg)
			}
		},
	}
	predeclared := starlark.StringDict{
		"bpf_object": starlark.NewBuiltin("bpf_object", rule(false)),
		"bpf_test":   starlark.NewBuiltin("bpf_test", rule(true)),
	}
	// The limits of program files: bounded steps, heap, and values made
	// by + and * or copied by list(), sorted(), ...
	if err := starlib.Limit(thread, f, predeclared, maxBuildSteps, 0); err != nil {
		return nil, err
	}
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return nil, toAsmError(err)
	}
	if _, err := prog.Init(thread, predeclared); err != nil {
		return nil, toAsmError(err)
	}
	return decls, nil
}

// goStemRE is what the name of a bpf_object with Go bindings may be: it
// names the Go file and gives the stem of the Go names.
var goStemRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// checkGoPackage checks bpf_object's go_package, and the target's name,
// which gives the Go file's name and the stem of the names it declares.
func checkGoPackage(name, goPkg string) error {
	if !token.IsIdentifier(goPkg) || goPkg == "_" {
		return fmt.Errorf("go_package %q is not a Go package name (an identifier)", goPkg)
	}
	if !goStemRE.MatchString(name) {
		return fmt.Errorf("with go_package, the name must be letters, digits and _, starting with a letter (it gives the Go file's name and the stem of its names)")
	}
	return nil
}

// unpackGoTypes returns bpf_object's go_types, a list of the names of BTF
// types (nil for None).
func unpackGoTypes(v starlark.Value) ([]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	l, ok := v.(*starlark.List)
	if !ok {
		return nil, fmt.Errorf("go_types: want a list of type names (struct syn_event: \"syn_event\"), not %s", v.Type())
	}
	names := []string{}
	for i := range l.Len() {
		s, ok := starlark.AsString(l.Index(i))
		if !ok {
			return nil, fmt.Errorf("go_types[%d]: want a type's name, a string, not %s", i, l.Index(i).Type())
		}
		names = append(names, s)
	}
	if err := checkGoTypes(names); err != nil {
		return nil, err
	}
	return names, nil
}

// goTypeRE is what a name in go_types may be, as for 'bpfstar gen go
// --type'.
var goTypeRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// checkGoTypes checks the names of go_types: each a BTF type's name, once.
func checkGoTypes(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if !goTypeRE.MatchString(n) {
			return fmt.Errorf("go_types: %q: a type's name is letters, digits and _ (struct syn_event is \"syn_event\")", n)
		}
		if seen[n] {
			return fmt.Errorf("go_types: %q is named twice", n)
		}
		seen[n] = true
	}
	return nil
}

// checkBuildFile refuses what a declaration-only BUILD file may not
// contain: top-level if and for, def, lambda, load, *args and **kwargs.
func checkBuildFile(f *syntax.File) error {
	var err error
	fail := func(pos syntax.Position, format string, args ...any) {
		if err == nil {
			err = &asm.Error{Pos: asm.Pos{File: pos.Filename(), Line: pos.Line, Col: pos.Col}, Msg: fmt.Sprintf(format, args...)}
		}
	}
	const why = "BUILD files are declarations only; put logic in a program or library file"
	for _, stmt := range f.Stmts {
		start, _ := stmt.Span()
		switch stmt.(type) {
		case *syntax.IfStmt:
			fail(start, "if statements are not allowed in BUILD files: %s", why)
		case *syntax.ForStmt:
			fail(start, "for loops are not allowed in BUILD files: %s", why)
		case *syntax.WhileStmt:
			fail(start, "while loops are not allowed in BUILD files: %s", why)
		case *syntax.DefStmt:
			fail(start, "def is not allowed in BUILD files: %s", why)
		case *syntax.LoadStmt:
			fail(start, "load() is not allowed in BUILD files: %s", why)
		}
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.LambdaExpr:
			start, _ := n.Span()
			fail(start, "lambda is not allowed in BUILD files: %s", why)
		case *syntax.CallExpr:
			for _, arg := range n.Args {
				if u, ok := arg.(*syntax.UnaryExpr); ok && (u.Op == syntax.STAR || u.Op == syntax.STARSTAR) {
					fail(u.OpPos, "%s is not allowed in BUILD files: spell out every argument", u.Op)
				}
			}
		}
		return err == nil
	})
	return err
}

// toAsmError gives a Starlark error from a BUILD file the usual
// FILE:LINE:COL form.
func toAsmError(err error) error {
	at := func(p syntax.Position, msg string) error {
		return &asm.Error{Pos: asm.Pos{File: p.Filename(), Line: p.Line, Col: p.Col}, Msg: msg}
	}
	var se syntax.Error
	if errors.As(err, &se) {
		return at(se.Pos, se.Msg)
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		msg := rl[0].Msg
		if strings.Contains(msg, "not within a function") {
			msg += " (BUILD files are declarations only)"
		}
		return at(rl[0].Pos, msg)
	}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		stack := ee.CallStack
		for n := len(stack); n > 1 && stack[n-1].Pos.Filename() == "<builtin>"; n = len(stack) {
			stack = stack[:n-1]
		}
		if n := len(stack); n > 0 {
			return at(stack[n-1].Pos, ee.Msg)
		}
	}
	return err
}
