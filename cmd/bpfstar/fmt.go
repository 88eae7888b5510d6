package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/bpfstar/bpfstar/format"
)

// fmtMain runs bpfstar fmt and returns the exit status: 0 when every file
// is (now) formatted; 1 after a syntax or I/O error, or when --check found
// files that need formatting (listed on stdout); 2 on a usage error.
func fmtMain(args []string, stdout, stderr io.Writer) int {
	switch err := fmtCmd(args, stdout, stderr); {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errFmtFailed):
		return 1 // the reasons, or the unformatted files, are already printed
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}

// errFmtFailed reports that fmt could not format some files, or that
// fmt --check found some that are not formatted; the files are already
// listed.
var errFmtFailed = errors.New("fmt failed")

func fmtCmd(args []string, stdout, stderr io.Writer) error {
	flags := newFlags("fmt", stdout, stderr)
	check := flags.Bool("check", false, "list the files that are not formatted and exit 1, writing nothing")
	pos, err := parse(flags, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		pos = []string{"."}
	}
	files, err := format.Files(pos)
	if err != nil {
		return err
	}
	failed := false
	for _, file := range files {
		changed, err := format.File(file, *check)
		if err != nil {
			fmt.Fprintln(stderr, err)
			failed = true
			continue
		}
		if changed && *check {
			fmt.Fprintln(stdout, file)
			failed = true
		}
	}
	if failed {
		return errFmtFailed
	}
	return nil
}
