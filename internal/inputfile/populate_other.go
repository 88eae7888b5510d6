//go:build !linux

package inputfile

// populate does nothing but on Linux (populate_linux.go).
func populate(b []byte) {}
