//go:build !linux

package verify

import "os"

// privileged reports whether the process is root (there are no BPF
// capabilities to ask for outside Linux, nor BPF programs to load).
func privileged() bool { return os.Geteuid() == 0 }

// uninitStackAllowed is false: there is no kernel here to load programs.
func uninitStackAllowed() bool { return false }
