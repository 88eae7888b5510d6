package workspace

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/gobind"
	"github.com/bpfstar/bpfstar/internal/atomicfile"
	"github.com/bpfstar/bpfstar/starlib"
)

// Options control a build of targets.
type Options struct {
	// Jobs is the number of targets built at once; 0 means the number of
	// CPUs. Outputs do not depend on it.
	Jobs int
	// MaxSteps limits the Starlark steps of each target; 0 means
	// starlib.DefaultMaxSteps.
	MaxSteps uint64
	// ToolID identifies the bpfstar binary (its version and something that
	// changes whenever the binary does, see ExecutableID). It is part of
	// every cache key and of nothing else.
	ToolID string
	// NoCache builds every target from scratch, neither reading nor
	// writing the cache (bpfstar build --check).
	NoCache bool
	// Stderr receives progress, errors and the output of print(); nil
	// discards them.
	Stderr io.Writer
	// Terminal makes progress a single line updated in place.
	Terminal bool
}

// An Input is a file a target's build read.
type Input struct {
	Path   string `json:"path"` // relative to the root
	SHA256 string `json:"sha256"`
}

// A Result is the outcome of building one target.
type Result struct {
	Target *Target
	Output string  // the object, relative to the root
	SHA256 string  // of the object
	Inputs []Input // the program file first, then the files it loaded, in load order, then the data files it read (btf_types)
	Cached bool    // the cache had it: nothing was evaluated
	// GoOutput and GoSHA256 are the Go bindings' file (relative to the
	// root) and its sha256, for a target with go_package.
	GoOutput, GoSHA256 string
	Err                error
}

// action is a cache entry: what a program file's last build read, and
// what it made.
type action struct {
	Inputs []Input `json:"inputs"`
	Output string  `json:"output"`
}

// Build builds the targets, in parallel, and returns their results in the
// order of targets. Each output is written only when its bytes change, so
// an up-to-date output keeps its modification time. In a workspace without
// a root every result fails, and nothing is written.
func (w *Workspace) Build(targets []*Target, opts Options) []*Result {
	if _, err := w.root(); err != nil {
		results := make([]*Result, len(targets))
		for i, t := range targets {
			results[i] = &Result{Target: t, Err: err}
			if t != nil {
				results[i].Output = t.Label.Output()
			}
		}
		return results
	}
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	c := newCache(w, opts.ToolID, opts.NoCache)
	prog := newProgress(opts.Stderr, opts.Terminal, len(targets))
	results := make([]*Result, len(targets))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			prog.start(t.Label)
			var printed bytes.Buffer
			r := w.buildTarget(t, c, opts, &printed)
			results[i] = r
			prog.finish(r, printed.Bytes())
		}()
	}
	wg.Wait()
	prog.end()
	return results
}

// buildTarget builds one target: from the cache when every file its last
// build read is unchanged, else by evaluating it.
func (w *Workspace) buildTarget(t *Target, c *cache, opts Options, print io.Writer) *Result {
	r := &Result{Target: t, Output: t.Label.Output()}
	src, err := w.readSource(t.Src)
	if err != nil {
		r.Err = err
		return r
	}
	steps := opts.MaxSteps
	if steps == 0 {
		steps = starlib.DefaultMaxSteps
	}
	key := c.key("action", strconv.FormatUint(steps, 10), t.Src, digest(src))
	var obj []byte
	var a action
	if c.getJSON("actions", key, &a) && a.valid() && w.unchanged(a.Inputs, t.Src, src) {
		if current, err := os.ReadFile(w.Abs(r.Output)); err == nil && digest(current) == a.Output {
			r.SHA256, r.Inputs, r.Cached = a.Output, a.Inputs, true
			w.writeBindings(r, current)
			return r
		}
		if blob, ok := c.getBlob(a.Output); ok {
			obj, r.Inputs, r.Cached = blob, a.Inputs, true
		}
	}
	if obj == nil {
		im, u, err := w.compile(t.Src, src, starlib.Options{MaxSteps: steps, Print: print})
		if err == nil {
			obj, err = im.Bytes()
		}
		if err != nil {
			r.Err = err
			return r
		}
		r.Inputs = []Input{{Path: t.Src, SHA256: digest(src)}}
		for _, l := range u.Loads {
			r.Inputs = append(r.Inputs, Input{Path: l, SHA256: digest(u.Sources[l].Text)})
		}
		for _, d := range u.DataFiles {
			r.Inputs = append(r.Inputs, Input{Path: d.Name, SHA256: digest(d.Data)})
		}
		c.putBlob(obj)
		c.putJSON("actions", key, action{Inputs: r.Inputs, Output: digest(obj)})
	}
	r.SHA256 = digest(obj)
	if err := w.writeIfChanged(r.Output, obj); err != nil {
		r.Err = err
		return r
	}
	w.writeBindings(r, obj)
	return r
}

// goModFile makes bpfstar-out/go a Go module of its own, so that the
// bindings there are not packages of a Go module around the workspace
// (which go build ./..., go vet ./... and go mod tidy would take in).
const goModFile = OutDir + "/go/go.mod"

const goMod = `// Written by bpfstar: this module of its own keeps the Go bindings below
// out of the Go module around the workspace. Copy them where their Go
// package is (see "Go" in bpfstar's README.md).
module bpfstar-out/go
`

// writeBindings writes the Go bindings of the object obj of a target with
// go_package, and the object beside them, into bpfstar-out/go (each file
// only when its bytes change), as 'bpfstar gen go' writes them. They are
// made again from the object on every build, cached or not: they are a
// function of the object, the package, the types named and the target's
// name alone.
func (w *Workspace) writeBindings(r *Result, obj []byte) {
	t := r.Target
	if t.GoPackage == "" {
		return
	}
	goFile := t.Label.GoOutput()
	objFile := gobind.ObjectFile(goFile)
	stem, err := gobind.Stem(t.Label.Name)
	if err == nil {
		var src []byte
		src, err = gobind.Generate(obj, gobind.Options{Package: t.GoPackage, Stem: stem, ObjectFile: path.Base(objFile), Types: t.GoTypes})
		if err == nil {
			err = w.writeIfChanged(goModFile, []byte(goMod))
		}
		if err == nil {
			if err = w.writeIfChanged(objFile, obj); err == nil {
				err = w.writeIfChanged(goFile, src)
			}
			r.GoOutput, r.GoSHA256 = goFile, digest(src)
		}
	}
	if err != nil {
		r.Err = fmt.Errorf("%v: Go bindings (go_package %q): %v", t.Pos, t.GoPackage, err)
	}
}

// valid reports whether a cache entry (untrusted: anyone may edit the
// cache) is one a build could have written: every input a path inside the
// workspace, every digest a sha256. Anything else is a miss, never a read
// outside the workspace.
func (a *action) valid() bool {
	if len(a.Inputs) == 0 || !isDigest(a.Output) {
		return false
	}
	for _, in := range a.Inputs {
		if in.Path == "" || checkRelPath(in.Path) != nil || !isDigest(in.SHA256) {
			return false
		}
	}
	return true
}

// isDigest reports whether s is a sha256 in lower-case hex, as digest
// writes it.
func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// unchanged reports whether every input still has the recorded contents.
func (w *Workspace) unchanged(inputs []Input, src string, srcData []byte) bool {
	if len(inputs) == 0 || inputs[0].Path != src || inputs[0].SHA256 != digest(srcData) {
		return false
	}
	for _, in := range inputs[1:] {
		data, err := w.readInput(in.Path)
		if err != nil || digest(data) != in.SHA256 {
			return false
		}
	}
	return true
}

// writeIfChanged writes the workspace file rel atomically unless it
// already holds data.
func (w *Workspace) writeIfChanged(rel string, data []byte) error {
	if err := w.mkdirOut(path.Dir(rel)); err != nil {
		return err
	}
	p := w.Abs(rel)
	if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file: bpfstar writes its outputs only over its own", rel)
	}
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		atomicfile.RemoveStale(p) // what a killed build left beside it
		return nil
	}
	return compile.WriteFile(p, data)
}

// checkResults checks that every result names its target, as those of
// Build do: a manifest or a lock entry needs the label.
func checkResults(results []*Result) error {
	for i, r := range results {
		if r == nil || r.Target == nil {
			return fmt.Errorf("result %d has no target", i)
		}
	}
	return nil
}

// resultLabel is the label of r's target, or a placeholder for a result
// without one.
func resultLabel(r *Result) string {
	if r.Target == nil {
		return "(no target)"
	}
	return r.Target.Label.String()
}

// Failed returns the results that failed. Nil results are skipped.
func Failed(results []*Result) []*Result {
	var failed []*Result
	for _, r := range results {
		if r != nil && r.Err != nil {
			failed = append(failed, r)
		}
	}
	return failed
}

// Summary describes the outcome of a build in one line. Nil results are
// skipped.
func Summary(results []*Result) string {
	var n, built, cached int
	var failed []string
	for _, r := range results {
		if r == nil {
			continue
		}
		n++
		switch {
		case r.Err != nil:
			failed = append(failed, resultLabel(r))
		case r.Cached:
			cached++
		default:
			built++
		}
	}
	s := fmt.Sprintf("%d %s: %d built, %d up to date", n, plural(n, "target"), built, cached)
	if len(failed) > 0 {
		s = fmt.Sprintf("%d %s: %d failed (%s), %d built, %d up to date", n, plural(n, "target"), len(failed), strings.Join(failed, " "), built, cached)
	}
	return s
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
