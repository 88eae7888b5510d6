package workspace

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// A Label names a target: //Pkg:Name. Pkg is the package's directory
// relative to the workspace root ("" for the root package).
type Label struct {
	Pkg, Name string
}

func (l Label) String() string { return "//" + l.Pkg + ":" + l.Name }

// Output is the path of the target's object, relative to the workspace
// root.
func (l Label) Output() string {
	return path.Join(OutDir, "bin", l.Pkg, l.Name+".o")
}

// GoOutput is where the Go bindings of the target's object go (for a
// bpf_object with go_package): bpfstar-out/go/<pkg>/<name>_bpfel.go, as
// 'bpfstar gen go' names them, with the object it embeds beside it,
// <name>_bpfel.o.
func (l Label) GoOutput() string {
	return path.Join(OutDir, "go", l.Pkg, l.Name+"_bpfel.go")
}

// A Pattern selects targets: one label, or every target in and below a
// package (//pkg/...).
type Pattern struct {
	Pkg       string
	Name      string // "" when Recursive
	Recursive bool
}

func (p Pattern) String() string {
	if p.Recursive {
		if p.Pkg == "" {
			return "//..."
		}
		return "//" + p.Pkg + "/..."
	}
	return Label{p.Pkg, p.Name}.String()
}

// Matches reports whether the pattern selects the label.
func (p Pattern) Matches(l Label) bool {
	if !p.Recursive {
		return l.Pkg == p.Pkg && l.Name == p.Name
	}
	return p.Pkg == "" || l.Pkg == p.Pkg || strings.HasPrefix(l.Pkg, p.Pkg+"/")
}

// targetNameRE is what a target name may contain: it becomes a file name.
var targetNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.+-]*$`)

// checkRelPath checks a slash-separated path relative to the workspace
// root or a package: no empty, "." or ".." components, no backslashes.
func checkRelPath(p string) error {
	if p == "" {
		return nil
	}
	if strings.ContainsAny(p, "\\\x00") {
		return fmt.Errorf("%q contains a backslash or NUL", p)
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			// A newline in a name would break the depfile and the lock
			// file, whose lines name files.
			return fmt.Errorf("%q contains a control character", p)
		}
	}
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "":
			return fmt.Errorf("%q has an empty path component (an absolute path or a doubled /)", p)
		case ".", "..":
			return fmt.Errorf("%q: a label may not contain %q (a label names a file below the workspace root, its package, or in a single-file build the program's directory)", p, c)
		}
	}
	return nil
}

// ParsePattern parses a target pattern given on the command line. A
// pattern not starting with // is relative to the package cwd, the
// current directory relative to the root: "...", "sub/...", ":name",
// "sub:name".
func ParsePattern(s, cwd string) (Pattern, error) {
	bad := func(format string, args ...any) (Pattern, error) {
		return Pattern{}, fmt.Errorf("bad target pattern %q: %s", s, fmt.Sprintf(format, args...))
	}
	if strings.HasPrefix(s, "@") {
		return bad("external repositories are not supported")
	}
	rest, abs := strings.CutPrefix(s, "//")
	join := func(p string) string {
		if abs {
			return p
		}
		return path.Join(cwd, p)
	}
	if rest == "..." || strings.HasSuffix(rest, "/...") {
		pkg := strings.TrimSuffix(strings.TrimSuffix(rest, "..."), "/")
		if err := checkRelPath(pkg); err != nil {
			return bad("%v", err)
		}
		pkg = join(pkg)
		if pkg == "." {
			pkg = ""
		}
		return Pattern{Pkg: pkg, Recursive: true}, nil
	}
	pkg, name, hasColon := strings.Cut(rest, ":")
	if !hasColon {
		if !abs {
			return bad("want //pkg:name, :name, //pkg/... or //...")
		}
		name = path.Base(pkg) // //pkg means //pkg:<last component>
	}
	if err := checkRelPath(pkg); err != nil {
		return bad("%v", err)
	}
	if !targetNameRE.MatchString(name) {
		return bad("target name %q: want letters, digits and _ . + -", name)
	}
	pkg = join(pkg)
	if pkg == "." {
		pkg = ""
	}
	return Pattern{Pkg: pkg, Name: name}, nil
}

// resolveLoad turns the module string of a load() in the file from (a
// path relative to the workspace root) into the loaded file's path
// relative to the root. "//pkg:file.star" is pkg/file.star; ":file.star"
// is file.star in the directory of from.
func resolveLoad(from, module string) (string, error) {
	rel, err := resolveLabel(from, module, "loaded", "file.star")
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(rel, ".star") {
		return "", fmt.Errorf("only .star files can be loaded")
	}
	return rel, nil
}

// resolveData turns the label given to btf_types() in the file from into
// the data file's path relative to the root, as resolveLoad does for
// load(): "//pkg:vmlinux.btf" or ":vmlinux.btf".
func resolveData(from, label string) (string, error) {
	return resolveLabel(from, label, "read", "vmlinux.btf")
}

// resolveLabel resolves a file label; done ("loaded") and example
// ("file.star") word its errors.
func resolveLabel(from, module, done, example string) (string, error) {
	var dir, file string
	switch {
	case strings.HasPrefix(module, "@"):
		return "", fmt.Errorf("external repositories are not supported")
	case strings.HasPrefix(module, "//"):
		var ok bool
		dir, file, ok = strings.Cut(module[2:], ":")
		if !ok {
			return "", fmt.Errorf("want //pkg:%s (a colon separates the package from the file)", example)
		}
	case strings.HasPrefix(module, ":"):
		dir, file = path.Dir(from), module[1:]
		if dir == "." {
			dir = ""
		}
	default:
		return "", fmt.Errorf("want a label: //pkg:%s (from the workspace root) or :%s (same package); paths outside the workspace cannot be %s", example, example, done)
	}
	if err := checkRelPath(dir); err != nil {
		return "", err
	}
	if file == "" {
		return "", fmt.Errorf("no file name after the colon")
	}
	if err := checkRelPath(file); err != nil {
		return "", err
	}
	if path.Base(file) == BuildFileName {
		return "", fmt.Errorf("%s files declare targets and cannot be %s", BuildFileName, done)
	}
	return path.Join(dir, file), nil
}
