package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/bpfstar/bpfstar/build"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/workspace"
)

func buildCmd(args []string, stderr io.Writer) error {
	fs := newFlags("build", "[-o OUT] [--depfile FILE] [--max-steps N] FILE.star", stderr)
	out := fs.String("o", "", "output object `file` (default: the input's stem + .o, in the current directory)")
	depfile := fs.String("depfile", "", "also write a Make-style dependency `file` listing the program file and every file it loaded")
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps`")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errUsage
	}
	in := pos[0]
	if *out == "" {
		*out = strings.TrimSuffix(filepath.Base(in), ".star") + ".o"
	}
	obj, deps, err := workspace.BuildFile(in, build.Options{MaxSteps: *steps, Print: stderr})
	if err != nil {
		return err
	}
	if err := build.WriteFile(*out, obj); err != nil {
		return err
	}
	if *depfile != "" {
		if err := build.WriteFile(*depfile, workspace.Depfile(*out, deps)); err != nil {
			return fmt.Errorf("writing the dependency file: %v", err)
		}
	}
	return nil
}
