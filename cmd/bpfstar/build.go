package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/atomicfile"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/workspace"
)

const buildArgs = `[-j N] [--lock | --check] [--max-steps N] [LABEL...]
       bpfstar build [-o OUT] [--depfile FILE] [--max-steps N] FILE.star`

// buildCmd builds targets of the workspace given by labels (//pkg:name,
// :name, //pkg/..., //...; by default //... below the current directory),
// or, when the one argument ends in .star, that program file on its own.
func buildCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("build", stdout, stderr)
	out := fs.String("o", "", "FILE.star only: output object `file` (default: the input's stem + .o, in the current directory)")
	depfile := fs.String("depfile", "", "FILE.star only: also write a Make-style dependency `file` listing the program file, every file it loaded and every BTF file it read")
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps` (per target)")
	jobs := fs.Int("j", 0, "build up to `N` targets at once (default: the number of CPUs)")
	lock := fs.Bool("lock", false, "record the sha256 of each target's output in bpfstar.lock")
	check := fs.Bool("check", false, "rebuild the targets from scratch (no cache) and fail if an output differs from bpfstar.lock")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(buildGCPercent)
	}
	usageErr := func(msg string) error {
		fmt.Fprintf(stderr, "bpfstar build: %s\n", msg)
		fs.Usage()
		return errUsage
	}
	var files int
	for _, p := range pos {
		if strings.HasSuffix(p, ".star") {
			files++
		}
	}
	if files > 0 {
		for _, p := range pos {
			if err := notBuildFile("build", p); err != nil {
				return err
			}
		}
		if len(pos) != 1 {
			return usageErr("give either one FILE.star or labels")
		}
		if *jobs != 0 || *lock || *check {
			return usageErr("-j, --lock and --check apply to labels, not to a FILE.star")
		}
		return buildFile(pos[0], *out, *depfile, *steps, stderr)
	}
	if *out != "" || *depfile != "" {
		return usageErr("-o and --depfile apply to a FILE.star, not to labels (outputs of labels go to bpfstar-out/bin)")
	}
	if *lock && *check {
		return usageErr("--lock and --check do not go together")
	}
	if *jobs < 0 {
		return usageErr("-j must be positive")
	}
	opts := labelOptions(*steps, stderr)
	opts.Jobs, opts.NoCache = *jobs, *check
	return buildLabels(pos, opts, *lock, *check, stdout, stderr)
}

// buildGCPercent is the collector's GOGC percentage for a build, unless
// GOGC is set in the environment. Evaluating a program makes a heap that
// only grows (its instructions and lists live until the end) amid as much
// short-lived garbage (the argument tuples of a million builtin calls); at
// the default of 100 the collector runs a dozen times over it for a
// million instructions, each time marking all of it, and slows the
// evaluation while it does. At 150 it runs a few times less. Measured on
// the 1M benchmark (8 interleaved runs): 571 -> 548 ms, 102 -> 113 MB peak
// RSS; at 200, 539 ms and 119 MB. (Go's own compiler raises its starting
// heap for the same reason.)
const buildGCPercent = 150

func buildFile(in, out, depfile string, steps uint64, stderr io.Writer) error {
	if out == "" {
		out = strings.TrimSuffix(filepath.Base(in), ".star") + ".o"
	}
	// An output never replaces an input, nor the other output.
	if err := notSame(out, "-o", in); err != nil {
		return err
	}
	if depfile != "" {
		if err := notSame(depfile, "--depfile", in, out); err != nil {
			return err
		}
	}
	obj, deps, err := workspace.BuildFileImage(in, compile.Options{MaxSteps: steps, Print: stderr})
	if err != nil {
		return err
	}
	for _, d := range deps[1:] {
		if err := notSame(out, "-o", d); err != nil {
			return err
		}
		if depfile != "" {
			if err := notSame(depfile, "--depfile", d); err != nil {
				return err
			}
		}
	}
	// Both outputs are written in full before either replaces a file:
	// a dependency file that cannot be written leaves the object as it
	// was.
	pending, err := atomicfile.Prepare(out, obj, 0o644)
	if err != nil {
		return err
	}
	if depfile != "" {
		dep, err := atomicfile.Prepare(depfile, bytes.NewReader(workspace.Depfile(out, deps)), 0o644)
		if err != nil {
			pending.Abort()
			return fmt.Errorf("writing the dependency file: %v", err)
		}
		if err := pending.Commit(); err != nil {
			dep.Abort()
			return err
		}
		return dep.Commit()
	}
	return pending.Commit()
}

// notSame refuses an output path (given with flag) that names the same
// file as one of files, or the same path.
func notSame(path, flag string, files ...string) error {
	out, err := os.Stat(path)
	for _, f := range files {
		if filepath.Clean(path) == filepath.Clean(f) {
			return fmt.Errorf("%s %s would replace %s, an input or the other output of the build: choose another path", flag, path, f)
		}
		if err == nil {
			if fi, err := os.Stat(f); err == nil && os.SameFile(out, fi) {
				return fmt.Errorf("%s %s would replace %s, an input or the other output of the build: choose another path", flag, path, f)
			}
		}
	}
	return nil
}

// labelOptions are the workspace options of a build of labels: those of
// bpfstar build, for disasm and verify too, so that they share its cache.
func labelOptions(steps uint64, stderr io.Writer) workspace.Options {
	return workspace.Options{
		MaxSteps: steps,
		ToolID:   Version + " " + workspace.ExecutableID(),
		Stderr:   stderr,
		Terminal: isTerminal(stderr),
	}
}

// findTargets returns the workspace around the current directory, the
// targets the patterns select there (default: ...) and the parsed
// patterns.
func findTargets(patterns []string, opts workspace.Options) (*workspace.Workspace, []*workspace.Target, []workspace.Pattern, error) {
	w, err := workspace.Find(".")
	if err != nil {
		return nil, nil, nil, err
	}
	if w == nil {
		wd, _ := os.Getwd()
		return nil, nil, nil, fmt.Errorf("not in a workspace: no %s file in %s or any directory above it (to build one file: bpfstar build FILE.star)", workspace.MarkerFile, wd)
	}
	cwd, err := w.CwdPackage()
	if err != nil {
		return nil, nil, nil, err
	}
	if len(patterns) == 0 {
		patterns = []string{"..."}
	}
	targets, pats, err := w.Targets(patterns, cwd, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	return w, targets, pats, nil
}

// buildTargets builds targets of w and writes the manifest; an error if a
// target failed (the progress has reported it).
func buildTargets(w *workspace.Workspace, targets []*workspace.Target, opts workspace.Options) ([]*workspace.Result, error) {
	results := w.Build(targets, opts)
	if len(workspace.Failed(results)) > 0 {
		return nil, errors.New("build failed: " + workspace.Summary(results))
	}
	if err := w.WriteManifest(results); err != nil {
		return nil, err
	}
	return results, nil
}

func buildLabels(patterns []string, opts workspace.Options, lock, check bool, stdout, stderr io.Writer) error {
	w, targets, pats, err := findTargets(patterns, opts)
	if err != nil {
		return err
	}
	results, err := buildTargets(w, targets, opts)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "bpfstar:", workspace.Summary(results))
	switch {
	case lock:
		if err := w.UpdateLock(results, pats); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bpfstar: recorded %d %s in %s\n", len(results), plural(len(results), "digest"), workspace.LockFile)
	case check:
		report, err := w.CheckLock(results, pats)
		if err != nil {
			return err
		}
		for _, line := range report {
			fmt.Fprintln(stdout, line)
		}
		if len(report) > 0 {
			return fmt.Errorf("%s check failed: %d %s (run 'bpfstar build --lock' to record the new outputs)", workspace.LockFile, len(report), plural(len(report), "difference"))
		}
		if len(results) == 1 {
			fmt.Fprintf(stdout, "1 output matches %s\n", workspace.LockFile)
		} else {
			fmt.Fprintf(stdout, "%d outputs match %s\n", len(results), workspace.LockFile)
		}
	}
	return nil
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// isTerminal reports whether w is a terminal that can redraw a status line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminalFd(f.Fd())
}
