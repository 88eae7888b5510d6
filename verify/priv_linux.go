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
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	has := func(c int) bool { return data[c/32].Effective&(1<<(uint(c)%32)) != 0 }
	return has(unix.CAP_BPF) || has(unix.CAP_SYS_ADMIN)
}
