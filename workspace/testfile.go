package workspace

import "github.com/bpfstar/bpfstar/starlib"

// BuildFileUnit is BuildFile that returns the evaluated unit too, for its
// test cases (starlib.Unit.Tests), instead of the dependencies.
func BuildFileUnit(file string, opts starlib.Options) (obj []byte, u *starlib.Unit, err error) {
	im, u, _, err := buildFile(file, opts)
	if err != nil {
		return nil, nil, err
	}
	if obj, err = im.Bytes(); err != nil {
		return nil, nil, err
	}
	return obj, u, nil
}
