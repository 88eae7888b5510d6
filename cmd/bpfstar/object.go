package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/workspace"
)

// readObject returns the object that the argument of disasm or verify
// (cmd) names, and the name to show for it:
//
//   - FILE.star, a program file, built in memory as 'bpfstar build
//     FILE.star' builds it (a BUILD.star is refused: it is not a program);
//   - a file, an object;
//   - otherwise a label of the workspace around the current directory
//     (//pkg:name, :name, pkg:name; a pattern must select one target),
//     built as 'bpfstar build LABEL' builds it, through the cache, into
//     bpfstar-out/bin; the name is its output's path.
func readObject(cmd, arg string, steps uint64, stderr io.Writer) (name string, obj []byte, err error) {
	name, obj, _, err = readTarget(cmd, arg, steps, stderr)
	return name, obj, err
}

// readTarget is readObject, which also returns the target a label names
// (nil for a file).
func readTarget(cmd, arg string, steps uint64, stderr io.Writer) (name string, obj []byte, target *workspace.Target, err error) {
	if err := notBuildFile(cmd, arg); err != nil {
		return "", nil, nil, err
	}
	if strings.HasSuffix(arg, ".star") {
		obj, _, err := workspace.BuildFile(arg, compile.Options{MaxSteps: steps, Print: stderr})
		return arg, obj, nil, err
	}
	if _, err := os.Stat(arg); err == nil || !isLabel(arg) {
		obj, err := os.ReadFile(arg)
		return arg, obj, nil, err
	}
	opts := labelOptions(steps, stderr)
	w, targets, _, err := findTargets([]string{arg}, opts)
	if err != nil {
		return "", nil, nil, err
	}
	if len(targets) != 1 {
		var labels []string
		for _, t := range targets {
			labels = append(labels, t.Label.String())
		}
		fmt.Fprintf(stderr, "bpfstar %s: %s selects %d targets (%s): give one\n", cmd, arg, len(targets), strings.Join(labels, ", "))
		return "", nil, nil, errUsage
	}
	results, err := buildTargets(w, targets, opts)
	if err != nil {
		return "", nil, nil, err
	}
	out := w.Abs(results[0].Output)
	obj, err = os.ReadFile(out)
	if err != nil {
		return "", nil, nil, err
	}
	name = out
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, out); err == nil {
			name = rel
		}
	}
	return name, obj, targets[0], nil
}

// isLabel reports whether arg has the form of a label or a pattern rather
// than of a file name.
func isLabel(arg string) bool {
	return strings.HasPrefix(arg, "//") || strings.Contains(arg, ":") || arg == "..." || strings.HasSuffix(arg, "/...")
}

// notBuildFile refuses a BUILD.star given where a program file or an
// object is wanted, saying what to give instead: the labels of the
// targets it declares.
func notBuildFile(cmd, arg string) error {
	if filepath.Base(arg) != workspace.BuildFileName {
		return nil
	}
	if _, err := os.Stat(arg); err != nil {
		return nil // reading it will say what is wrong
	}
	want := "//PKG:NAME"
	if w, err := workspace.Find(filepath.Dir(arg)); err == nil && w != nil {
		if rel, err := w.Rel(arg); err == nil {
			pkg := path.Dir(rel)
			if pkg == "." {
				pkg = ""
			}
			want = fmt.Sprintf("//%s:NAME", pkg)
			if labels := packageLabels(w, pkg); len(labels) > 0 {
				want += ": " + strings.Join(labels, ", ")
			}
		}
	}
	return fmt.Errorf("%s is a BUILD file, which declares targets: to %s one, give its label (%s) or its program file", arg, cmd, want)
}

// packageLabels returns the labels of the targets of package pkg, or none
// if its BUILD file does not evaluate.
func packageLabels(w *workspace.Workspace, pkg string) []string {
	targets, _, err := w.Targets([]string{"//" + path.Join(pkg, "...")}, "", labelOptions(0, io.Discard))
	if err != nil {
		return nil
	}
	var labels []string
	for _, t := range targets {
		if t.Label.Pkg == pkg {
			labels = append(labels, t.Label.String())
		}
	}
	return labels
}
