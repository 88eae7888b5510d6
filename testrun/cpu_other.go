//go:build !linux

package testrun

import (
	"fmt"
	"runtime"
)

// onOneCPU needs Linux's sched_setaffinity; elsewhere (where no program
// runs anyway) it refuses.
func onOneCPU(run func()) (int, error) {
	return -1, fmt.Errorf("holding a thread to one CPU is not supported on %s", runtime.GOOS)
}

// threadID is the calling thread's id where the system has one (0).
func threadID() int { return 0 }

// comm is the process's name as the kernel gives it to BPF programs.
func comm() string { return "" }
