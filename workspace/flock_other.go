//go:build !unix

package workspace

// lockExclusive is a no-op where flock is not available: concurrent lock
// updates may then lose entries (see flock_unix.go).
func lockExclusive(path string) (unlock func(), err error) { return func() {}, nil }
