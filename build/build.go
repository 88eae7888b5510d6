// Package build runs the pipeline that turns a program file into a BPF
// object: evaluate the Starlark (starlib), assemble each program (asm) and
// lay out the ELF file (objwriter). It also writes outputs atomically, so a
// failed build never leaves a half-written or clobbered file behind.
package build

import (
	"errors"
	"fmt"
	"os"

	"github.com/bpfstar/bpfstar/internal/atomicfile"
	"github.com/bpfstar/bpfstar/objwriter"
	"github.com/bpfstar/bpfstar/starlib"
)

// Options control a build.
type Options = starlib.Options

// ReadFile reads a program file, with an error that names it and the
// reason alone ("cannot read prog.star: no such file or directory"). To
// build a file, use workspace.BuildFile: it names the file as the
// workspace around it requires.
func ReadFile(path string) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	return src, nil
}

// Source builds a program file from its contents.
func Source(filename string, src []byte, opts Options) ([]byte, error) {
	im, err := SourceImage(filename, src, opts)
	if err != nil {
		return nil, err
	}
	return im.Bytes()
}

// SourceImage is Source that returns the laid-out object, to be written
// (WriteImage) without first being made in memory.
func SourceImage(filename string, src []byte, opts Options) (*objwriter.Image, error) {
	u, err := starlib.Exec(filename, src, opts)
	if err != nil {
		return nil, err
	}
	obj, err := Link(u)
	if err != nil {
		return nil, err
	}
	return obj.Layout()
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
