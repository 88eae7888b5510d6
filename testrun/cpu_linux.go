package testrun

import (
	"errors"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// onOneCPU calls run on an OS thread allowed on one CPU only (the first
// it was allowed on), so that BPF_PROG_TEST_RUN, which runs the program
// on the calling CPU, runs it there; it returns the CPU. The thread's
// affinity is put back; if it cannot be, the thread stays locked to the
// goroutine and ends with it, never running other goroutines.
func onOneCPU(run func()) (int, error) {
	runtime.LockOSThread()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		runtime.UnlockOSThread()
		return -1, err
	}
	if all.Count() == 0 {
		runtime.UnlockOSThread()
		return -1, errors.New("the thread may run on no CPU")
	}
	cpu := 0
	for !all.IsSet(cpu) {
		cpu++
	}
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		runtime.UnlockOSThread()
		return -1, err
	}
	run()
	if err := unix.SchedSetaffinity(0, &all); err != nil {
		return -1, err
	}
	runtime.UnlockOSThread()
	return cpu, nil
}

// threadID is the calling thread's id (gettid).
func threadID() int { return unix.Gettid() }

// comm is the process's name as bpf_get_current_comm gives it (the
// thread's, which Go's threads share with the process).
func comm() string {
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(b), "\n")
}
