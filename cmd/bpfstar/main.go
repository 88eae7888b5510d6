// Command bpfstar builds eBPF object files from Starlark program files.
//
// Usage:
//
//	bpfstar build [-j N] [--lock|--check] [--max-steps N] [LABEL...]
//	bpfstar build [-o OUT] [--depfile FILE] [--max-steps N] FILE.star
//	bpfstar disasm [--max-steps N] OBJ|LABEL|FILE.star
//	bpfstar verify [--max-steps N] OBJ|LABEL|FILE.star
//	bpfstar test [-j N] [--run REGEXP] [-v] [--junit FILE] [--nocache] [--noskip] [--engine kernel|vm|both] [--trace] [--coverage FILE] [--max-steps N] [LABEL|FILE.star|DIR ...]
//	bpfstar run [--engine kernel|vm] [--program NAME] [--data FILE] [--repeat N] [--max-steps N] OBJ|LABEL|FILE.star
//	bpfstar fmt [--check] [FILE|DIR|LABEL ...]
//	bpfstar gen go [--package P] [--stem S] [-o FILE.go] OBJ|LABEL|FILE.star
//	bpfstar version
//	bpfstar help [COMMAND]
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

	"github.com/bpfstar/bpfstar/disasm"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/verify"
)

// Version is the bpfstar version; release builds set it with -ldflags.
var Version = "0.1.0-dev"

const usage = `bpfstar builds eBPF object files from Starlark program files.

Usage:
  bpfstar build [LABEL...]                           build targets of the workspace (default: //... below .)
  bpfstar build [-o OUT] [--max-steps N] FILE.star   build one program file
  bpfstar disasm OBJ|LABEL|FILE.star                 print the instructions of an object
  bpfstar verify OBJ|LABEL|FILE.star                 load every program into the kernel verifier
  bpfstar test [-v] [--run REGEXP] [FILE.star|DIR]   run the test() cases of test files (default: all *_test.star under .)
  bpfstar run [--data FILE] OBJ|LABEL|FILE.star      run one program once with BPF_PROG_TEST_RUN
  bpfstar fmt [--check] [FILE|DIR|LABEL ...]         format .star files (default: all under .)
  bpfstar gen go [-o FILE.go] OBJ|LABEL|FILE.star    write Go bindings (bpf2go's) for an object
  bpfstar version                                    print the version (also: bpfstar --version)
  bpfstar help [COMMAND]                             print this, or the help of a command

Run 'bpfstar help COMMAND' (or 'bpfstar COMMAND -h') for the flags and
details of a command.
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
	case "test":
		err = testCmd(args[1:], stdout, stderr)
	case "run":
		err = runCmd(args[1:], stdout, stderr)
	case "gen":
		err = genCmd(args[1:], stdout, stderr)
	case "fmt":
		return fmtMain(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		err = versionCmd(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return helpCmd(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "bpfstar: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return exitStatus(err, stderr)
}

// exitStatus prints err, unless it is already reported, and returns the
// exit status it calls for: 0 for none (or for help that was asked for),
// 2 for a usage error, 1 for the others.
func exitStatus(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errTestsFailed):
		return 1
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
}

// errHelp reports that a command printed its help, as asked (exit status 0).
var errHelp = errors.New("help printed")

// commands documents each command for "bpfstar help COMMAND" and
// "bpfstar COMMAND -h": the arguments after its name, and what it does.
var commands = map[string]struct{ args, doc string }{
	"build": {buildArgs, `Build builds the targets of the workspace that the labels and patterns
select (//pkg:name, :name, //pkg/..., ...; default: ..., every target below
the current directory) into bpfstar-out/bin/PKG/NAME.o under the workspace
root, or, given one FILE.star, that program file on its own into
STEM.o in the current directory (-o chooses another output).`},
	"disasm": {"[--max-steps N] OBJ|LABEL|FILE.star", `Disasm prints the instructions of every executable section of an object,
as llvm-objdump -d does. A label (//pkg:name, :name) is built first, as
'bpfstar build LABEL' builds it; so is a program file FILE.star.`},
	"verify": {"[--max-steps N] OBJ|LABEL|FILE.star", `Verify loads every program of an object into the kernel verifier and
prints one verdict per program; for a rejected one, the verifier's log
annotated with the FILE.star:LINE of each instruction. A label
(//pkg:name, :name) is built first, as 'bpfstar build LABEL' builds it; so
is a program file FILE.star. Loading programs needs root (or CAP_BPF).`},
	"fmt": {"[--check] [FILE|DIR|LABEL ...]", `Fmt formats .star files in place (default: every .star file below the
current directory). With --check it writes nothing, lists the files that
are not formatted and exits 1 if there are any.`},
	"test":    {testArgs, testDoc},
	"run":     {runArgs, runDoc},
	"gen":     {genArgs, genDoc},
	"version": {"", `Version prints the version of bpfstar (so does 'bpfstar --version').`},
}

// helpCmd is "bpfstar help [COMMAND]".
func helpCmd(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		fmt.Fprint(stdout, usage)
		return 0
	case len(args) > 1:
		fmt.Fprintf(stderr, "usage: bpfstar help [COMMAND]\n")
		return 2
	case args[0] == "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	if _, ok := commands[args[0]]; !ok {
		fmt.Fprintf(stderr, "bpfstar help %s: unknown command %q. Run 'bpfstar help' for the list of commands.\n", args[0], args[0])
		return 2
	}
	return Main([]string{args[0], "-h"}, stdout, stderr)
}

func versionCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stdout, stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fs.Usage()
		return errUsage
	}
	fmt.Fprintln(stdout, "bpfstar", Version)
	return nil
}

// newFlags returns the flag set of a command. Its Usage prints the usage
// line and the flags to stderr, for usage errors; -h, -help and --help
// print the command's whole help to stdout (see parse).
func newFlags(name string, stdout, stderr io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), name: name, stdout: stdout}
	fs.SetOutput(stderr)
	fs.FlagSet.Usage = func() {} // parse prints what is needed
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n", usageLine(name))
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "Run 'bpfstar help %s' for details.\n", name)
	}
	return fs
}

// flagSet is a command's flag set, with what it needs to print its help.
type flagSet struct {
	*flag.FlagSet
	name   string
	stdout io.Writer
	Usage  func()
}

// usageLine returns the usage line of a command.
func usageLine(name string) string {
	return strings.TrimSpace("usage: bpfstar " + name + " " + commands[name].args)
}

// help prints the command's help to stdout.
func (fs *flagSet) help() {
	c := commands[fs.name]
	fmt.Fprintf(fs.stdout, "%s\n\n%s\n", usageLine(fs.name), c.doc)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintf(fs.stdout, "\nFlags:\n")
		out := fs.Output()
		fs.SetOutput(fs.stdout)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// parse parses flags anywhere among the arguments (as in "build prog.star
// -o prog.o"); after "--" everything is positional. It returns the
// positional arguments. On -h, -help or --help it prints the command's
// help to stdout and returns errHelp; on a bad flag, the flag package's
// message and the usage go to stderr, and it returns errUsage.
func parse(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return nil, errHelp
			}
			fs.Usage()
			return nil, errUsage // the flag package printed the error
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
func parseOne(fs *flagSet, args []string) (string, error) {
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
	fs := newFlags("disasm", stdout, stderr)
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps` (for a LABEL or FILE.star)")
	in, err := parseOne(fs, args)
	if err != nil {
		return err
	}
	name, data, err := readObject("disasm", in, *steps, stderr)
	if err != nil {
		return err
	}
	return disasm.Object(stdout, name, data)
}

// errRejected reports that the verifier rejected a program; the verdicts
// are already printed.
var errRejected = errors.New("the verifier rejected a program")

// errRefused reports that a program could not be loaded for another reason
// than the verifier's (the verdicts say which).
var errRefused = errors.New("a program could not be loaded (see above)")

func verifyCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("verify", stdout, stderr)
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps` (for a LABEL or FILE.star)")
	in, err := parseOne(fs, args)
	if err != nil {
		return err
	}
	_, obj, err := readObject("verify", in, *steps, stderr)
	if err != nil {
		return err
	}
	vs, err := verify.Object(obj)
	if err != nil {
		return err
	}
	verify.Print(stdout, vs)
	refused := false
	for _, v := range vs {
		if !v.Accepted {
			if v.Log != "" {
				return errRejected
			}
			refused = true
		}
	}
	if refused {
		return errRefused
	}
	return nil
}
