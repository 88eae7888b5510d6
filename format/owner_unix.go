//go:build unix

package format

import (
	"os"
	"syscall"
)

// links returns the number of hard links of the file fi describes.
func links(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// keepOwner gives the file at path, just replaced, the owner and group of
// the file fi described (the replacement belongs to whoever ran fmt).
func keepOwner(path string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || (int(st.Uid) == os.Geteuid() && int(st.Gid) == os.Getegid()) {
		return nil
	}
	return os.Lchown(path, int(st.Uid), int(st.Gid))
}
