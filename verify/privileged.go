package verify

// Privileged reports whether the process may load BPF programs: it is root
// or has CAP_BPF or CAP_SYS_ADMIN in its effective set.
func Privileged() bool { return privileged() }

// UninitStackAllowed reports whether the kernel's verifier lets the
// programs this process loads read stack bytes they never wrote: it does
// for a process with CAP_PERFMON or CAP_SYS_ADMIN (root), and refuses such
// a read otherwise ("invalid read from stack").
func UninitStackAllowed() bool { return uninitStackAllowed() }
