// Package atomicfile replaces files atomically, so that a failed or
// interrupted write never leaves a half-written or clobbered file behind.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes data to path atomically: into a temporary file in the same
// directory, then renamed over path, with permissions perm. On failure path
// is untouched, no temporary file is left behind, and the error names what
// is in the way (a missing directory, a file where a directory should be).
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFrom(path, bytes.NewReader(data), perm)
}

// WriteFrom is Write with the contents that src writes: a large file need
// not be made in memory first.
func WriteFrom(path string, src io.WriterTo, perm fs.FileMode) (err error) {
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
	if _, err = src.WriteTo(f); err != nil {
		return fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err = f.Chmod(perm); err != nil {
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
