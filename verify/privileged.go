package verify

// Privileged reports whether the process may load BPF programs: it is root
// or has CAP_BPF or CAP_SYS_ADMIN in its effective set.
func Privileged() bool { return privileged() }
