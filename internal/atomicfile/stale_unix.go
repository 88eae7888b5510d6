//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Temporary files are locked (flock) by the process writing them, from
// creation to rename. A temporary file of the same path that can be
// locked was left by a writer that died (kill -9, a crash): removeStale
// removes it. Flock locks are released by the kernel when their process
// ends, so no time, pid or guess decides it.

// lockTemp locks the new temporary file at path through a descriptor of
// its own (so that the file can be written and closed while the lock is
// held), and returns the function that releases it.
func lockTemp(path string) func() {
	f, err := os.Open(path)
	if err != nil {
		return func() {}
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return func() {}
	}
	return func() { f.Close() } // closing releases the lock
}

// removeStale removes the files of dir whose names start with prefix and
// that no living writer holds locked.
func removeStale(dir, prefix string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), prefix) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			os.Remove(p)
		}
		f.Close()
	}
}
