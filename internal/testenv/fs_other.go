//go:build !linux

package testenv

const (
	fsBPF     = 0
	fsCgroup2 = 0
)

// isFS reports false: there is no bpffs or cgroup v2 outside Linux.
func isFS(dir string, magic int64) bool { return false }
