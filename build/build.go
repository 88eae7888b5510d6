// Package build runs the pipeline that turns a program file into a BPF
// object: evaluate the Starlark (starlib), assemble each program (asm) and
// lay out the ELF file (objwriter). It also writes outputs atomically, so a
// failed build never leaves a half-written or clobbered file behind.
package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bpfstar/bpfstar/starlib"
)

// Options control a build.
type Options = starlib.Options

// File builds the program file at path and returns the object's bytes. The
// file name in error messages is path as given.
func File(path string, opts Options) ([]byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %v", path, err)
	}
	return Source(path, src, opts)
}

// Source builds a program file from its contents.
func Source(filename string, src []byte, opts Options) ([]byte, error) {
	u, err := starlib.Exec(filename, src, opts)
	if err != nil {
		return nil, err
	}
	obj, err := Link(u)
	if err != nil {
		return nil, err
	}
	return obj.Bytes()
}

// WriteFile writes data to path atomically: into a temporary file in the
// same directory, then renamed over path. On failure path is untouched.
func WriteFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		// Name the part of the path that is in the way.
		for p := filepath.Dir(dir); p != dir; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil {
				if !fi.IsDir() {
					return fmt.Errorf("cannot write %s: %s is not a directory", path, p)
				}
				break
			}
			if p == filepath.Dir(p) {
				break
			}
		}
		return fmt.Errorf("cannot write %s: directory %s does not exist", path, dir)
	} else if !fi.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a directory", path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("cannot write %s: it is a directory", path)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name means nothing to the user
		}
		return fmt.Errorf("cannot write %s: cannot create a file in directory %s: %v", path, dir, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	return nil
}
