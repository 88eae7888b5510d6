//go:build unix

package workspace

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockExclusive takes an exclusive advisory lock (flock) on the file at
// path, creating it, and returns the function that releases it. It waits
// while another process, or another open of the file in this one, holds
// it.
func lockExclusive(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing releases the lock
}
