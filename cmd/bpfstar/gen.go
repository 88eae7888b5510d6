package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bpfstar/bpfstar/gobind"
	"github.com/bpfstar/bpfstar/starlib"
)

const genArgs = "go [--package P] [--stem S] [--type NAME]... [-o FILE.go] [--max-steps N] OBJ|LABEL|FILE.star"

const genDoc = `Gen go writes Go bindings for an object, as cilium/ebpf's bpf2go does for
C (with bpf2go's own generator): FILE.go, gofmt'ed, declares
loadSTEMObjects, the structs STEMObjects, STEMPrograms, STEMMaps and
STEMVariables with a field per program, map and global, and a Go type for
each named struct, union and enum of a map's key or value or of a global,
and for each type --type names (repeated; bpf2go's -type; for a label, its
bpf_object's go_types too). A struct that only a program's code uses, such
as a ring buffer's event, is in the object's BTF when a global points at
it, as in C ("struct syn_event *unused"): bss("unused_syn_event", type =
types.ptr(syn_event)). The file embeds the object, which is written beside
it as FILE.o. A label or FILE.star is built first, as for disasm.

--package defaults to $GOPACKAGE, which go generate sets; --stem to the
object's name in lower camel case (xdp_pass: xdpPass); -o to NAME_bpfel.go
in the current directory (NAME: the object's or program file's name
without .o or .star, or the target's name). C names become Go names as
bpf2go makes them: the first letter upper-cased, an underscore after a
lower-case letter or digit dropped and the next letter upper-cased,
characters other than letters, digits and _ dropped (count_flows:
CountFlows). A name that gives no exported Go identifier, or two that give
the same one, is an error naming them. The file builds on little-endian
GOARCHes only (a //go:build line), as the object is little-endian. Both
files are written in full before either replaces a file: on an error, the
files that were there stay.`

// genCmd is "bpfstar gen go ...".
func genCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen", stdout, stderr)
	pkg := fs.String("package", os.Getenv("GOPACKAGE"), "the Go `package` name of the bindings (default: $GOPACKAGE)")
	stem := fs.String("stem", "", "the `prefix` of every top-level name (default: from the object's name)")
	out := fs.String("o", "", "write the bindings to `FILE.go`, and the object to FILE.o (default: NAME_bpfel.go)")
	var types typeNames
	fs.Var(&types, "type", "also declare the Go type of the BTF type `NAME` (struct syn_event: syn_event); may be repeated")
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps` (for a LABEL or FILE.star)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "go" {
		if len(pos) > 0 && pos[0] != "go" {
			fmt.Fprintf(stderr, "bpfstar gen: unknown language %q: bpfstar generates bindings for go\n", pos[0])
		}
		fs.Usage()
		return errUsage
	}
	in := pos[1]
	if *pkg == "" {
		fmt.Fprintf(stderr, "bpfstar gen go: give the Go package name with --package (go generate sets $GOPACKAGE)\n")
		return errUsage
	}
	name, obj, target, err := readTarget("gen go", in, *steps, stderr)
	if err != nil {
		return err
	}
	if target != nil { // a label: its bpf_object's go_types too, as build writes them
		for _, t := range target.GoTypes {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	if *stem == "" {
		if *stem, err = gobind.Stem(base); err != nil {
			return fmt.Errorf("%v with --stem", err)
		}
	}
	if *out == "" {
		*out = base + "_bpfel.go"
	}
	if err := gobind.Write(*out, obj, gobind.Options{Package: *pkg, Stem: *stem, Types: types}); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// typeNames is the value of a repeated --type.
type typeNames []string

func (t *typeNames) String() string { return strings.Join(*t, ",") }

func (t *typeNames) Set(s string) error {
	*t = append(*t, s)
	return nil
}
