package workspace

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// packagesBelow lists the packages in and below the directory pkg, sorted.
// It does not descend into hidden directories, the output tree, or nested
// workspaces.
func (w *Workspace) packagesBelow(pkg string) ([]string, error) {
	top := w.Abs(pkg)
	if fi, err := os.Stat(top); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("//%s/...: directory %s does not exist", pkg, displayDir(pkg))
	}
	var pkgs []string
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(w.Root, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		if p != top && strings.HasPrefix(d.Name(), ".") || rel == OutDir {
			return filepath.SkipDir
		}
		if rel != "" {
			if _, err := os.Stat(filepath.Join(p, MarkerFile)); err == nil {
				return filepath.SkipDir // another workspace
			}
		}
		if fi, err := os.Stat(filepath.Join(p, BuildFileName)); err == nil && fi.Mode().IsRegular() {
			pkgs = append(pkgs, rel)
		}
		return nil
	})
	sort.Strings(pkgs)
	return pkgs, err
}

// Targets returns the targets the patterns select, sorted by label and
// without duplicates. cwd is the current directory relative to the root,
// for relative patterns; print receives the output of print() in BUILD
// files.
func (w *Workspace) Targets(patterns []string, cwd string, opts Options) ([]*Target, []Pattern, error) {
	return w.selectTargets(patterns, cwd, opts, false)
}

// TestTargets is Targets for the bpf_test targets.
func (w *Workspace) TestTargets(patterns []string, cwd string, opts Options) ([]*Target, []Pattern, error) {
	return w.selectTargets(patterns, cwd, opts, true)
}

func (w *Workspace) selectTargets(patterns []string, cwd string, opts Options, tests bool) ([]*Target, []Pattern, error) {
	of := func(p *Package) []*Target {
		if tests {
			return p.Tests
		}
		return p.Targets
	}
	rule := "bpf_object"
	if tests {
		rule = "bpf_test"
	}
	if _, err := w.root(); err != nil {
		return nil, nil, err
	}
	c := newCache(w, opts.ToolID, opts.NoCache)
	pkgs := map[string]*Package{}
	load := func(pkg string) (*Package, error) {
		if p, ok := pkgs[pkg]; ok {
			return p, nil
		}
		p, err := w.loadPackage(pkg, c, opts.Stderr)
		if err != nil {
			return nil, err
		}
		pkgs[pkg] = p
		return p, nil
	}
	seen := map[Label]bool{}
	var targets []*Target
	var pats []Pattern
	for _, s := range patterns {
		pat, err := ParsePattern(s, cwd)
		if err != nil {
			return nil, nil, err
		}
		pats = append(pats, pat)
		var found []*Target
		if pat.Recursive {
			below, err := w.packagesBelow(pat.Pkg)
			if err != nil {
				return nil, nil, err
			}
			for _, pkg := range below {
				p, err := load(pkg)
				if err != nil {
					return nil, nil, err
				}
				found = append(found, of(p)...)
			}
			if len(found) == 0 {
				return nil, nil, fmt.Errorf("%s matches no targets (no %s file with a %s below %s)", pat, BuildFileName, rule, displayDir(pat.Pkg))
			}
		} else {
			p, err := load(pat.Pkg)
			if err != nil {
				return nil, nil, err
			}
			i := slices.IndexFunc(of(p), func(t *Target) bool { return t.Label.Name == pat.Name })
			if i < 0 {
				var names []string
				for _, t := range of(p) {
					names = append(names, t.Label.Name)
				}
				what := "target"
				if tests {
					what = "bpf_test target"
				}
				return nil, nil, fmt.Errorf("no %s %q in package //%s (it declares: %s)", what, pat.Name, pat.Pkg, strings.Join(names, ", "))
			}
			found = of(p)[i : i+1]
		}
		for _, t := range found {
			if !seen[t.Label] {
				seen[t.Label] = true
				targets = append(targets, t)
			}
		}
	}
	sort.Slice(targets, func(i, j int) bool { return targets[i].Label.String() < targets[j].Label.String() })
	if err := checkOutputs(targets); err != nil {
		return nil, nil, err
	}
	return targets, pats, nil
}

// checkOutputs refuses targets whose outputs would collide: the object of
// //a:x, bpfstar-out/bin/a/x.o, is the directory of the objects of a
// package //a/x.o.
func checkOutputs(targets []*Target) error {
	files := map[string]Label{}
	for _, t := range targets {
		files[t.Label.Output()] = t.Label
	}
	for _, t := range targets {
		for d := path.Dir(t.Label.Output()); d != "." && d != "/" && d != OutDir; d = path.Dir(d) {
			if other, ok := files[d]; ok {
				return fmt.Errorf("the output of %s, %s, is the directory of the output of %s: rename the target or the package", other, d, t.Label)
			}
		}
	}
	return nil
}

// CwdPackage returns the current directory relative to the root.
func (w *Workspace) CwdPackage() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return w.Rel(wd)
}
