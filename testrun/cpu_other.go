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
