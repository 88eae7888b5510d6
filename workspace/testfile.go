package workspace

import (
	"path/filepath"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/starlib"
)

// BuildFileUnit is BuildFile that returns the evaluated unit too, for its
// test cases (starlib.Unit.Tests), instead of the dependencies.
func BuildFileUnit(file string, opts starlib.Options) (obj []byte, u *starlib.Unit, err error) {
	src, err := compile.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	w, err := Find(filepath.Dir(file))
	if err != nil {
		return nil, nil, err
	}
	var im interface{ Bytes() ([]byte, error) }
	if w == nil {
		i, uu, err := compile.Image(file, src, opts)
		if err != nil {
			return nil, nil, err
		}
		im, u = i, uu
	} else {
		rel, err := w.Rel(file)
		if err != nil {
			return nil, nil, err
		}
		i, uu, err := w.compile(rel, src, opts)
		if err != nil {
			return nil, nil, err
		}
		im, u = i, uu
	}
	obj, err = im.Bytes()
	if err != nil {
		return nil, nil, err
	}
	return obj, u, nil
}
