package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// mkdirOut makes the directory dir (slash-separated, relative to the
// root, inside bpfstar-out) and its parents, and checks that every one of
// them is a real directory: a bpfstar-out, or a directory in it, that is a
// symbolic link (a repository may commit one) would send the build's
// writes outside the workspace.
func (w *Workspace) mkdirOut(dir string) error {
	root, err := w.root()
	if err != nil {
		return err
	}
	if dir != OutDir && !strings.HasPrefix(dir, OutDir+"/") {
		return fmt.Errorf("%s is not inside %s", dir, OutDir)
	}
	cur := ""
	for _, c := range strings.Split(dir, "/") {
		cur = path.Join(cur, c)
		p := filepath.Join(root, filepath.FromSlash(cur))
		fi, err := os.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			// Made by another build at the same moment: check it again.
			if fi, err = os.Lstat(p); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symbolic link: bpfstar writes only inside the workspace's %s; remove the link", cur, OutDir)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", cur)
		}
	}
	return nil
}
