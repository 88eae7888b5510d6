package verify

import (
	"os"

	"golang.org/x/sys/unix"
)

// privileged reports whether the process may load BPF programs: it is root
// or has CAP_BPF or CAP_SYS_ADMIN in its effective set.
func privileged() bool {
	if os.Geteuid() == 0 {
		return true
	}
	return hasCap(unix.CAP_BPF) || hasCap(unix.CAP_SYS_ADMIN)
}

// hasCap reports whether capability c is in the process's effective set.
func hasCap(c int) bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<(uint(c)%32)) != 0
}

// uninitStackAllowed reports whether the verifier lets this process's
// programs read stack they never wrote: bpf_allow_uninit_stack() is
// perfmon_capable(), CAP_PERFMON or CAP_SYS_ADMIN.
func uninitStackAllowed() bool {
	return hasCap(unix.CAP_PERFMON) || hasCap(unix.CAP_SYS_ADMIN)
}
