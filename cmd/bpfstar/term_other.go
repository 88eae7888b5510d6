//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd

package main

// isTerminalFd reports false: no status line where terminals cannot be
// told apart.
func isTerminalFd(fd uintptr) bool { return false }
