// Package inputfile reads the files a build takes as input (program files,
// BUILD.star files, loaded libraries), which are untrusted: only regular
// files are read, and only up to a size, so that a FIFO does not hang a
// build and a link to /dev/zero does not exhaust its memory.
package inputfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxSize is the most bytes an input file may have: 256 MiB, the largest
// string a program file may make.
const MaxSize = 256 << 20

// Read returns the contents of the regular file at path. Its errors read
// "cannot read PATH: REASON" ("no such file or directory", "is a
// directory", "is a named pipe, not a regular file", "larger than 256
// MiB"); errors.Is(err, fs.ErrNotExist) tells a missing file.
func Read(path string) ([]byte, error) { return ReadAs(path, path) }

// ReadAs is Read with errors that call the file name (a path relative to
// a workspace, say) instead of path.
func ReadAs(path, name string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, describe(name, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("cannot read %s: is a directory", name)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot read %s: is %s, not a regular file", name, kind(fi.Mode()))
	}
	if fi.Size() > MaxSize {
		return nil, fmt.Errorf("cannot read %s: larger than %d MiB", name, MaxSize>>20)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, describe(name, err)
	}
	defer f.Close()
	// The file may have grown since Stat, or been replaced: read what
	// there is, up to one byte past the limit, into a buffer of the size
	// Stat gave (io.ReadAll's growing buffer would copy a 5 MB BTF file
	// a dozen times and fault in twice the pages).
	data, err := readAll(io.LimitReader(f, MaxSize+1), fi.Size())
	if err != nil {
		return nil, describe(name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("cannot read %s: larger than %d MiB", name, MaxSize>>20)
	}
	return data, nil
}

// readAll reads r to its end into a buffer of size bytes, grown if r has
// more.
func readAll(r io.Reader, size int64) ([]byte, error) {
	data := make([]byte, 0, size+1) // one more: the read that sees EOF
	populate(data[:cap(data)])
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// describe turns an error of the file system into "cannot read PATH:
// REASON", keeping the reason for errors.Is.
func describe(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a file"
}
