// Package compile is bpfstar's pipeline, in one place: it evaluates a
// program file (starlib), links the unit it declares into the sections of
// an object (link, which assembles each program with asm and describes it
// in BTF) and lays the object out (objwriter). Everything that turns
// Starlark into an object, the CLI's single-file build and a workspace's
// targets alike, goes through Image.
//
// It also reads inputs and writes outputs the way every command wants
// them: a read error names the file, and a write is atomic, so a failed
// build never leaves a half-written or clobbered file behind.
package compile

import (
	"errors"
	"runtime"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/internal/atomicfile"
	"github.com/bpfstar/bpfstar/internal/inputfile"
	"github.com/bpfstar/bpfstar/link"
	"github.com/bpfstar/bpfstar/objwriter"
	"github.com/bpfstar/bpfstar/starlib"
)

// Options control a build.
type Options = starlib.Options

// ReadFile reads a program file, with an error that names it and the
// reason alone ("cannot read prog.star: no such file or directory"). To
// build a file, use workspace.BuildFile: it names the file as the
// workspace around it requires.
//
// Only a regular file of at most inputfile.MaxSize bytes is read: a named
// pipe would hang the build, a link to /dev/zero exhaust its memory.
func ReadFile(path string) ([]byte, error) { return inputfile.Read(path) }

// Source builds a program file from its contents and returns the object's
// bytes.
func Source(filename string, src []byte, opts Options) ([]byte, error) {
	im, _, err := Image(filename, src, opts)
	if err != nil {
		return nil, err
	}
	return im.Bytes()
}

// Image builds the program file filename, with contents src: it evaluates
// it with opts, links what it declares and lays out the object, to be
// written (WriteImage) without first being made in memory. It returns the
// evaluated unit too, for the files it loaded. Errors name the position
// of the fault in the author's terms (see starlib.Phrase).
func Image(filename string, src []byte, opts Options) (*objwriter.Image, *starlib.Unit, error) {
	u, err := starlib.Exec(filename, src, opts)
	if err != nil {
		return nil, nil, err
	}
	if instructions(u) >= collectAfter {
		// A large file's evaluation leaves garbage (the Starlark values,
		// which section() and function() copied into the programs) that
		// the collector would look at again only once the heap had grown
		// by GOGC percent: linking on top of it would raise the build's
		// peak memory by a tenth. Collecting it now takes one cycle (10 ms
		// of marking at a million instructions, on the other CPU for the
		// most part) and linking reuses the memory it frees.
		runtime.GC()
	}
	obj, err := link.Link(&u.Unit)
	if err != nil {
		return nil, nil, explain(filename, src, opts, err)
	}
	im, err := obj.Layout()
	if err != nil {
		return nil, nil, err
	}
	return im, u, nil
}

// explain phrases a link error for the file's author; a label defined
// twice or never defined is explained with the calls that led to it, which
// a second evaluation of the file, tracing that label, notes (see
// starlib's locallabels.go).
func explain(filename string, src []byte, opts Options, err error) error {
	var ae *asm.Error
	if errors.As(err, &ae) && ae.Label != "" && (ae.Kind == asm.ErrDuplicateLabel || ae.Kind == asm.ErrUndefinedLabel) {
		opts.TraceLabel = ae.Label
		opts.Print = nil // print() said its piece the first time
		if u, terr := starlib.Exec(filename, src, opts); terr == nil {
			return u.Phrase(err)
		}
	}
	return starlib.Phrase(err)
}

// collectAfter is the number of instructions from which Image collects the
// evaluation's garbage before linking (see docs/perf.md).
const collectAfter = 1 << 17

// instructions returns the number of instructions of u's programs and
// functions.
func instructions(u *starlib.Unit) int {
	n := 0
	for _, ps := range [][]asm.Program{u.Programs, u.Functions} {
		for i := range ps {
			n += len(ps[i].Insns)
		}
	}
	return n
}

// WriteFile writes data to path atomically, with permissions 0644: into a
// temporary file in the same directory, then renamed over path. On failure
// path is untouched.
func WriteFile(path string, data []byte) error {
	return atomicfile.Write(path, data, 0o644)
}

// WriteImage writes the object im to path as WriteFile does.
func WriteImage(path string, im *objwriter.Image) error {
	return atomicfile.WriteFrom(path, im, 0o644)
}
