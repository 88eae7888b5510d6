// Command bpfstar builds eBPF object files from Starlark program files.
//
// Usage:
//
//	bpfstar build [-j N] [--lock|--check] [--max-steps N] [LABEL...]
//	bpfstar build [-o OUT] [--depfile FILE] [--max-steps N] FILE.star
//	bpfstar disasm OBJ
//	bpfstar verify OBJ|FILE.star
//	bpfstar fmt [--check] [FILE|DIR|LABEL ...]
//	bpfstar version
//
// See README.md for the Starlark reference.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/disasm"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/verify"
	"github.com/bpfstar/bpfstar/workspace"
)

// Version is the bpfstar version; release builds set it with -ldflags.
var Version = "0.1.0-dev"

const usage = `bpfstar builds eBPF object files from Starlark program files.

Usage:
  bpfstar build [LABEL...]                           build targets of the workspace (default: //... below .)
  bpfstar build [-o OUT] [--max-steps N] FILE.star   build one program file
  bpfstar disasm OBJ                                 print the instructions of an object
  bpfstar verify OBJ|FILE.star                       load every program into the kernel verifier
  bpfstar fmt [--check] [FILE|DIR|LABEL ...]         format .star files (default: all under .)
  bpfstar version                                    print the version

Run 'bpfstar COMMAND -h' for the flags of a command.
`

func main() { os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr)) }

// errUsage marks a command-line mistake (exit status 2).
var errUsage = errors.New("usage")

// Main runs the command line args and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = buildCmd(args[1:], stdout, stderr)
	case "disasm":
		err = disasmCmd(args[1:], stdout, stderr)
	case "verify":
		err = verifyCmd(args[1:], stdout, stderr)
	case "fmt":
		return fmtMain(args[1:], stdout, stderr)
	case "version":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "usage: bpfstar version\n")
			return 2
		}
		fmt.Fprintln(stdout, "bpfstar", Version)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "bpfstar: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		return 2
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}

func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bpfstar %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among the arguments (as in "build prog.star
// -o prog.o"); after "--" everything is positional. It returns the
// positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage // the flag package printed the error and the usage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseOne parses flags and exactly one positional argument.
func parseOne(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		fs.Usage()
		return "", errUsage
	}
	return pos[0], nil
}

func disasmCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("disasm", "OBJ", stderr)
	in, err := parseOne(fs, args)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	return disasm.Object(stdout, in, data)
}

// errRejected reports that the verifier rejected a program; the verdicts
// are already printed.
var errRejected = errors.New("the verifier rejected a program")

func verifyCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", "[--max-steps N] OBJ|FILE.star", stderr)
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps` (for FILE.star)")
	in, err := parseOne(fs, args)
	if err != nil {
		return err
	}
	var obj []byte
	if strings.HasSuffix(in, ".star") {
		obj, _, err = workspace.BuildFile(in, compile.Options{MaxSteps: *steps, Print: stderr})
	} else {
		obj, err = os.ReadFile(in)
	}
	if err != nil {
		return err
	}
	vs, err := verify.Object(obj)
	if err != nil {
		return err
	}
	verify.Print(stdout, vs)
	for _, v := range vs {
		if !v.Accepted {
			return errRejected
		}
	}
	return nil
}
