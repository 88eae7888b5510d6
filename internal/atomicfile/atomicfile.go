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
func WriteFrom(path string, src io.WriterTo, perm fs.FileMode) error {
	p, err := Prepare(path, src, perm)
	if err != nil {
		return err
	}
	return p.Commit()
}

// A Pending file is written in full under a temporary name beside its
// path, and replaces it only on Commit. Several pending files are how a
// command writes several outputs all or none: every one is prepared (where
// a full disk or a missing directory shows) before any is committed.
type Pending struct {
	path, tmp string
	unlock    func() // drops the temporary file's lock (see stale_unix.go)
}

// release drops the lock on the temporary file.
func (p *Pending) release() {
	if p.unlock != nil {
		p.unlock()
		p.unlock = nil
	}
}

// Commit renames the file over its path. After an error the temporary
// file is gone and the path untouched.
func (p *Pending) Commit() error {
	if p == nil || p.tmp == "" {
		return errors.New("atomicfile: nothing to commit")
	}
	tmp := p.tmp
	p.tmp = ""
	// Renamed while still open and locked: a concurrent write of the
	// same path never takes it for a dead writer's.
	err := os.Rename(tmp, p.path)
	p.release()
	if err != nil {
		os.Remove(tmp)
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err // the temporary name means nothing to the user
		}
		return fmt.Errorf("cannot write %s: %v", p.path, err)
	}
	return nil
}

// Abort removes the temporary file; the path is untouched. It does
// nothing after Commit.
func (p *Pending) Abort() {
	if p != nil && p.tmp != "" {
		os.Remove(p.tmp)
		p.release()
		p.tmp = ""
	}
}

// Prepare writes what src writes into a temporary file beside path, with
// permissions perm, to replace path on Commit. On failure nothing is left
// behind, and the error names what is in the way.
func Prepare(path string, src io.WriterTo, perm fs.FileMode) (p *Pending, err error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		// Name the part of the path that is in the way.
		for p := filepath.Dir(dir); p != dir; p = filepath.Dir(p) {
			if fi, err := os.Stat(p); err == nil {
				if !fi.IsDir() {
					return nil, fmt.Errorf("cannot write %s: %s is not a directory", path, p)
				}
				break
			}
			if p == filepath.Dir(p) {
				break
			}
		}
		return nil, fmt.Errorf("cannot write %s: directory %s does not exist", path, dir)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("cannot write %s: %s is not a directory", path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("cannot write %s: it is a directory", path)
	}
	prefix := tempPrefix(filepath.Base(path))
	removeStale(dir, prefix)
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name means nothing to the user
		}
		return nil, fmt.Errorf("cannot write %s: cannot create a file in directory %s: %v", path, dir, err)
	}
	// The lock says that the file is being written: a writer killed
	// before Commit or Abort loses it, and the next write of the same
	// path removes what it left (removeStale).
	unlock := lockTemp(f.Name())
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			unlock()
		}
	}()
	if _, err = src.WriteTo(f); err != nil {
		return nil, fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return nil, fmt.Errorf("cannot write %s: %v", path, err)
	}
	if err = f.Close(); err != nil {
		return nil, fmt.Errorf("cannot write %s: %v", path, err)
	}
	return &Pending{path: path, tmp: f.Name(), unlock: unlock}, nil
}

// tempPrefix is the start of the names of path's temporary files:
// ".NAME.tmp", with NAME cut so that the whole name (and the random digits
// CreateTemp appends) stays within the 255 bytes a file name may have.
func tempPrefix(base string) string {
	const room = 255 - len(".") - len(".tmp") - 20
	if len(base) > room {
		base = base[:room]
	}
	return "." + base + ".tmp"
}

// RemoveStale removes the temporary files that writers of path which died
// left beside it (see stale_unix.go): for a path that a build finds up to
// date, and so does not write again.
func RemoveStale(path string) {
	removeStale(filepath.Dir(path), tempPrefix(filepath.Base(path)))
}
