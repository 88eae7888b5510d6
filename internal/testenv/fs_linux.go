package testenv

import "golang.org/x/sys/unix"

const (
	fsBPF     = unix.BPF_FS_MAGIC
	fsCgroup2 = unix.CGROUP2_SUPER_MAGIC
)

// isFS reports whether dir is the root of a file system of type magic.
func isFS(dir string, magic int64) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == magic
}
