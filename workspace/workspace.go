// Package workspace builds many targets the way Bazel does: a workspace is
// a directory tree whose root holds a file named bpfstar.workspace; every
// directory with a BUILD.star file is a package, whose BUILD.star declares
// targets with bpf_object(name, src). Targets are named by labels
// (//pkg:name) and selected by patterns (//pkg/..., //...).
//
// Program and library files load() others by label: "//pkg:file.star"
// from the root, ":file.star" from the loading file's directory. The
// loader hands starlib the contents of each file (starlib has no file
// access of its own); every position, error and line of debug info names
// files by their path relative to the root, so nothing in an output
// depends on where the workspace lives.
//
// Builds are incremental and parallel. Outputs go to
// bpfstar-out/bin/<pkg>/<name>.o (and, for a bpf_object with go_package,
// its Go bindings to bpfstar-out/go/<pkg>/<name>_bpfel.go, made by package
// gobind from the object), with bpfstar-out/manifest.json listing each
// output's sha256 and inputs. A content-addressed cache under
// bpfstar-out/cache remembers, for each program file, the contents of every
// file its last build read and the output that build made, so a rebuild
// whose inputs are unchanged evaluates nothing. Targets build in parallel;
// each output is a function of its inputs alone, so the bytes never depend
// on the number of jobs, the order of completion, the clock, the
// environment or the path of the workspace. A lock file, bpfstar.lock,
// records each target's output digest, so that a rebuild can prove it.
package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/inputfile"
	"github.com/bpfstar/bpfstar/objwriter"
	"github.com/bpfstar/bpfstar/starlib"
)

// Names of the files and directories that make up a workspace.
const (
	MarkerFile    = "bpfstar.workspace" // marks the root
	BuildFileName = "BUILD.star"        // declares a package's targets
	OutDir        = "bpfstar-out"       // outputs and cache, under the root
	LockFile      = "bpfstar.lock"      // output digests, under the root
)

// A Workspace is a directory tree rooted at a bpfstar.workspace file.
//
// The zero Workspace, like a nil *Workspace (which Find returns when there
// is no workspace), has no root: its methods that return an error return
// one saying so, and touch no file; Build fails every target with it; Abs
// returns rel as a path relative to the current directory.
type Workspace struct {
	// Root is the absolute path of the root directory. Symbolic links in
	// it are not resolved: in a sandbox of links (as Bazel makes), the
	// workspace is the tree of links.
	Root string
}

// root returns the root directory, or an error for a workspace without
// one: the zero Workspace or a nil *Workspace.
func (w *Workspace) root() (string, error) {
	if w == nil || w.Root == "" {
		return "", fmt.Errorf("no workspace: the Workspace has no Root (Find returns nil when there is no %s file)", MarkerFile)
	}
	return w.Root, nil
}

// Find returns the workspace that contains dir: the nearest directory, dir
// itself or above, holding a bpfstar.workspace file. It returns nil and no
// error when there is none.
func Find(dir string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for d := abs; ; {
		if fi, err := os.Stat(filepath.Join(d, MarkerFile)); err == nil && !fi.IsDir() {
			return &Workspace{Root: d}, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return nil, nil
		}
		d = parent
	}
}

// Rel returns the path of the file or directory p relative to the root,
// slash-separated ("" for the root itself), or an error when p is outside
// the workspace.
func (w *Workspace) Rel(p string) (string, error) {
	root, err := w.root()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the workspace %s", p, root)
	}
	rel = filepath.ToSlash(rel)
	if rel == "." {
		rel = ""
	}
	return rel, nil
}

// Abs returns the file system path of rel, a path relative to the root.
func (w *Workspace) Abs(rel string) string {
	root, _ := w.root() // "" without a root: rel, relative to the current directory
	return filepath.Join(root, filepath.FromSlash(rel))
}

// readSource reads the workspace file rel for a load.
func (w *Workspace) readSource(rel string) ([]byte, error) {
	src, err := w.readInput(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", rel)
	}
	return src, err
}

// readInput reads the workspace file rel, an input of a build: a regular
// file (inputfile.Read) whose real path, once every symbolic link is
// followed, is inside the workspace. A link may point anywhere in the
// tree, but a build reads nothing outside it. The tree is the root's, or
// the one of the real bpfstar.workspace file where the marker is itself a
// link: Bazel runs bpfstar in a sandbox of links to the source tree.
func (w *Workspace) readInput(rel string) ([]byte, error) {
	root, err := w.root()
	if err != nil {
		return nil, err
	}
	p := w.Abs(rel)
	if real, err := filepath.EvalSymlinks(p); err == nil {
		var trees []string
		if r, err := filepath.EvalSymlinks(root); err == nil {
			trees = append(trees, r)
		}
		if m, err := filepath.EvalSymlinks(filepath.Join(root, MarkerFile)); err == nil {
			trees = append(trees, filepath.Dir(m))
		}
		if !slices.ContainsFunc(trees, func(t string) bool { return inside(t, real) }) {
			return nil, fmt.Errorf("cannot read %s: it is a link to %s, outside the workspace", rel, real)
		}
	}
	return inputfile.ReadAs(p, rel)
}

// inside reports whether path is dir or below it.
func inside(dir, path string) bool {
	r, err := filepath.Rel(dir, path)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

// loadFunc is the starlib Load hook of this workspace.
func (w *Workspace) loadFunc(from, module string) (string, []byte, error) {
	rel, err := resolveLoad(from, module)
	if err != nil {
		return "", nil, err
	}
	src, err := w.readSource(rel)
	if err != nil {
		return "", nil, err
	}
	return rel, src, nil
}

// readFileFunc is the starlib ReadFile hook of this workspace: the data
// files btf_types() reads.
func (w *Workspace) readFileFunc(from, label string) (string, []byte, error) {
	rel, err := resolveData(from, label)
	if err != nil {
		return "", nil, err
	}
	data, err := w.readSource(rel)
	if err != nil {
		return "", nil, err
	}
	return rel, data, nil
}

// singleFileRead is the ReadFile hook of a build outside of any
// workspace: a label ":name" names a file relative to the directory of
// the program file (dir), and the file is named by that relative path.
func singleFileRead(dir string) func(from, label string) (string, []byte, error) {
	return func(from, label string) (string, []byte, error) {
		rel, ok := strings.CutPrefix(label, ":")
		if !ok {
			return "", nil, fmt.Errorf("want :FILE, a file relative to the program (outside a workspace, there is no //pkg to name)")
		}
		if err := checkRelPath(rel); err != nil || rel == "" {
			if err == nil {
				err = fmt.Errorf("no file name after the colon")
			}
			return "", nil, err
		}
		data, err := inputfile.ReadAs(filepath.Join(dir, filepath.FromSlash(rel)), rel)
		if err != nil {
			return "", nil, err
		}
		return rel, data, nil
	}
}

// compile builds the program file rel of the workspace, with contents src:
// its load()s resolve in the workspace, and positions and debug info name
// it by rel.
func (w *Workspace) compile(rel string, src []byte, opts starlib.Options) (*objwriter.Image, *starlib.Unit, error) {
	opts.DebugName = rel
	opts.Load = w.loadFunc
	opts.ReadFile = w.readFileFunc
	return compile.Image(rel, src, opts)
}

// BuildFile builds one program file outside of any target: the
// single-file form, `bpfstar build FILE.star`. When the file lies in a
// workspace (Find, from the file's directory), its load()s resolve in that
// workspace and it is named, in positions and debug info, by its path
// relative to the root: the object is the same as the one a bpf_object
// target with that src builds. Otherwise it is named by its base name and
// load() fails.
//
// deps lists the files the build read, the file itself first, as paths
// usable from the current directory: what a Make-style dependency file
// lists.
func BuildFile(file string, opts starlib.Options) (obj []byte, deps []string, err error) {
	im, deps, err := BuildFileImage(file, opts)
	if err != nil {
		return nil, nil, err
	}
	b, err := im.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return b, deps, nil
}

// BuildFileImage is BuildFile that returns the laid-out object, for
// compile.WriteImage to write without first making it in memory.
func BuildFileImage(file string, opts starlib.Options) (im *objwriter.Image, deps []string, err error) {
	im, u, w, err := buildFile(file, opts)
	if err != nil {
		return nil, nil, err
	}
	deps = []string{file}
	if w != nil {
		for _, l := range u.Loads {
			deps = append(deps, w.displayPath(l))
		}
		for _, d := range u.DataFiles {
			deps = append(deps, w.displayPath(d.Name))
		}
	} else {
		for _, d := range u.DataFiles {
			deps = append(deps, filepath.Join(filepath.Dir(file), filepath.FromSlash(d.Name)))
		}
	}
	return im, deps, nil
}

// buildFile builds the program file file in the workspace it lies in, if
// any (w, nil outside of one): what BuildFile says.
func buildFile(file string, opts starlib.Options) (im *objwriter.Image, u *starlib.Unit, w *Workspace, err error) {
	src, err := compile.ReadFile(file)
	if err != nil {
		return nil, nil, nil, err
	}
	if w, err = Find(filepath.Dir(file)); err != nil {
		return nil, nil, nil, err
	}
	if w == nil {
		opts.ReadFile = singleFileRead(filepath.Dir(file))
		im, u, err = compile.Image(file, src, opts)
	} else {
		var rel string
		if rel, err = w.Rel(file); err != nil {
			return nil, nil, nil, err
		}
		im, u, err = w.compile(rel, src, opts)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return im, u, w, nil
}

// displayPath returns the workspace file rel as a path relative to the
// current directory when it can, else as an absolute path.
func (w *Workspace) displayPath(rel string) string {
	abs := w.Abs(rel)
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, abs); err == nil {
			return r
		}
	}
	return abs
}
