package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	buildtools "github.com/bazelbuild/buildtools/build"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/workspace"
)

// fmtMain runs bpfstar fmt and returns the exit status: 0 when every file
// is (now) formatted; 1 after a syntax or I/O error, or when --check found
// files that need formatting (listed on stdout); 2 on a usage error.
func fmtMain(args []string, stdout, stderr io.Writer) int {
	switch err := fmtCmd(args, stdout, stderr); {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	case errors.Is(err, errFmtFailed):
		return 1 // the reasons, or the unformatted files, are already printed
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}

// errFmtFailed reports that fmt could not format some files, or that
// fmt --check found some that are not formatted; the files are already
// listed.
var errFmtFailed = errors.New("fmt failed")

func fmtCmd(args []string, stdout, stderr io.Writer) error {
	flags := newFlags("fmt", "[--check] [FILE|DIR|LABEL ...]", stderr)
	check := flags.Bool("check", false, "list the files that are not formatted and exit 1, writing nothing")
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		pos = []string{"."}
	}
	files, err := fmtFiles(pos)
	if err != nil {
		return err
	}
	failed := false
	for _, file := range files {
		changed, err := fmtFile(file, *check)
		if err != nil {
			fmt.Fprintln(stderr, err)
			failed = true
			continue
		}
		if changed && *check {
			fmt.Fprintln(stdout, file)
			failed = true
		}
	}
	if failed {
		return errFmtFailed
	}
	return nil
}

// fmtFile formats one file, or with check only reports whether it needs
// formatting. A syntax error reads FILE:LINE:COL: msg.
func fmtFile(file string, check bool) (changed bool, err error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return false, err
	}
	out, err := formatStar(file, src)
	if err != nil {
		return false, err
	}
	if bytes.Equal(src, out) {
		return false, nil
	}
	if check {
		return true, nil
	}
	return true, writeAtomic(file, out)
}

// formatStar formats a BUILD.star file as a Bazel BUILD file and every
// other file (programs and libraries) as a .bzl file, with buildifier's
// printer and rewrites.
func formatStar(file string, src []byte) ([]byte, error) {
	parse := buildtools.ParseBzl
	if filepath.Base(file) == "BUILD.star" {
		parse = buildtools.ParseBuild
	}
	f, err := parse(file, src)
	if err != nil {
		// Prefer the error bpfstar build would report: the Starlark
		// parser's position is that of the offending token, while
		// buildifier's is where its lexer stopped.
		var se syntax.Error
		if _, serr := starlib.FileOptions.Parse(file, src, 0); errors.As(serr, &se) {
			return nil, se
		}
		return nil, err
	}
	return buildtools.Format(f), nil
}

// writeAtomic replaces file with data through a temporary file in the same
// directory and a rename, keeping the file's permissions: an interrupted
// write leaves the old contents in place.
func writeAtomic(file string, data []byte) (err error) {
	fi, err := os.Stat(file)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %v", file, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %v", file, err)
	}
	if err = f.Chmod(fi.Mode().Perm()); err != nil {
		return fmt.Errorf("cannot write %s: %v", file, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %v", file, err)
	}
	if err = os.Rename(f.Name(), file); err != nil {
		return fmt.Errorf("cannot write %s: %v", file, err)
	}
	return nil
}

// fmtFiles expands fmt's arguments into the files to format, each once:
// a file stands for itself; a directory for every .star file below it
// (except in bpfstar-out and hidden directories), in sorted order. A label
// (//pkg:file.star, or :file.star in the current directory's package)
// names that file of the workspace; a pattern //pkg/... (//..., or
// relative: ..., sub/...) every .star file in pkg and below.
func fmtFiles(args []string) ([]string, error) {
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

// isLabel reports whether a fmt argument is a label or a pattern rather
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
