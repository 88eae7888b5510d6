//go:build !unix

package atomicfile

// Without flock, temporary files of dead writers are left in place (see
// stale_unix.go).
func lockTemp(path string) func()    { return func() {} }
func removeStale(dir, prefix string) {}
