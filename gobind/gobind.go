// Package gobind writes Go bindings for a BPF object: the Go file that
// cilium/ebpf's bpf2go writes for an object it compiled from C, here for
// any object, bpfstar's own or clang's.
//
// The bindings are made by bpf2go's own generator
// (github.com/cilium/ebpf/cmd/bpf2go/gen), so they look exactly like
// bpf2go's: for a stem "xdpPass" and an object with a program xdp_pass, a
// map counts and a global cfg they declare
//
//	func loadXdpPass() (*ebpf.CollectionSpec, error)
//	func loadXdpPassObjects(obj any, opts *ebpf.CollectionOptions) error
//	type xdpPassObjects struct { xdpPassPrograms; xdpPassMaps; xdpPassVariables }
//	type xdpPassPrograms struct { XdpPass *ebpf.Program `ebpf:"xdp_pass"` }
//	type xdpPassMaps struct { Counts *ebpf.Map `ebpf:"counts"` }
//	type xdpPassVariables struct { Cfg *ebpf.Variable `ebpf:"cfg"` }
//
// with the ...Specs structs of the same shape, name constants
// (xdpPassProgXdpPass = "xdp_pass", ...) and a Go type for every named
// struct, union and enum that a map's key or value or a global has
// (xdpPassConfig for struct config, with the C layout: padding is written
// out as _ [N]byte fields), and for every type [Options.Types] names, as
// bpf2go's -type: a ring buffer's event, say. The object itself is
// embedded with //go:embed from a file beside the Go file, which Write
// writes too.
//
// What this package adds to the generator is what makes the output safe
// to commit:
//
//   - Determinism. The output depends on the object's bytes and the
//     Options only: no path but the embedded file's base name, no time,
//     no host, no version (the generator orders everything it writes by
//     name; the types are chosen here in name order, see [Generate]; the
//     generator's first line, which names bpf2go, becomes [Header]), and
//     it is gofmt'ed.
//   - Checked names. C names become Go names by [Identifier], bpf2go's
//     mapping. A name that maps to no exported Go identifier, or two names
//     that map to the same one, would make Go code that does not compile;
//     Generate refuses them, naming both.
//   - Endianness. The file carries the build constraint of the
//     little-endian GOARCHes (386, amd64, arm, arm64, loong64, mips64le,
//     mipsle, ppc64le, riscv64, wasm), as bpf2go's _bpfel.go files do:
//     bpfstar writes little-endian objects only, so on a big-endian
//     GOARCH (s390x, ppc64, mips, mips64) the package has no bindings and
//     fails to compile instead of loading an object the kernel there
//     cannot run.
package gobind

import (
	"bytes"
	"errors"
	"fmt"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/cmd/bpf2go/gen"

	"github.com/bpfstar/bpfstar/internal/atomicfile"
)

// Options name what the bindings declare.
type Options struct {
	// Package is the Go package clause's name.
	Package string
	// Stem prefixes every top-level name: loadSTEMObjects, STEMMaps, ...
	// A stem that starts with an upper-case letter makes them exported
	// (LoadSTEMObjects).
	Stem string
	// ObjectFile is the name of the object file, beside the Go file, that
	// //go:embed embeds.
	ObjectFile string
	// Types names more types of the object's BTF to declare in Go, as
	// bpf2go's -type does: a struct that no map or global has, such as
	// the event a program sends through a ring buffer, which user space
	// decodes. Each must be in the object's BTF (under that name, once)
	// and expressible in Go.
	Types []string
}

// Generate returns the Go source of the bindings of the object obj.
//
// Programs, maps (but the loaders' own .data, .rodata, .bss and .kconfig)
// and global variables get accessors. Types are those named in
// opts.Types, and those of map keys and values and of globals, as bpf2go
// collects them: a named struct, union or enum, or the element type of an
// array of one, or a typedef of an anonymous one; taken in the order of the names of the maps (key, then
// value) and then of the globals, the first of a name wins. A type that Go
// cannot express (one with a pointer or a function pointer, say) is left
// out: its map or global still has its accessor, and the caller passes
// values of the right size (a []byte, or a struct of its own).
func Generate(obj []byte, opts Options) ([]byte, error) {
	if !token.IsIdentifier(opts.Package) || opts.Package == "_" {
		return nil, fmt.Errorf("package name %q is not a Go identifier", opts.Package)
	}
	if !token.IsIdentifier(opts.Stem) {
		return nil, fmt.Errorf("stem %q is not a Go identifier", opts.Stem)
	}
	if err := checkObjectFile(opts.ObjectFile); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(obj, []byte("\x7fELF")) {
		return nil, errors.New("not an ELF object (no ELF magic number at its start)")
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil, fmt.Errorf("cannot read the object: %v", err)
	}
	if len(spec.Programs) == 0 {
		return nil, errors.New("the object has no programs: there is nothing to load")
	}
	var maps, vars, progs []string
	for name := range spec.Maps {
		if !strings.HasPrefix(name, ".") { // .data, .rodata, ...: their globals are Variables
			maps = append(maps, name)
		}
	}
	for name := range spec.Variables {
		vars = append(vars, name)
	}
	for name := range spec.Programs {
		progs = append(progs, name)
	}
	slices.Sort(maps)
	slices.Sort(vars)
	slices.Sort(progs)
	types := globalTypes(spec, maps, vars)
	if types, err = namedTypes(spec, types, opts.Types); err != nil {
		return nil, err
	}

	if err := checkObjects("program", progs, "Close"); err != nil {
		return nil, err
	}
	if err := checkObjects("map", maps, "Close"); err != nil {
		return nil, err
	}
	if err := checkObjects("global", vars); err != nil {
		return nil, err
	}
	if err := checkTopLevel(opts.Stem, maps, progs, vars, types); err != nil {
		return nil, err
	}

	_, goarches, err := gen.FindTarget("bpfel")
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = gen.Generate(gen.GenerateArgs{
		Package:     opts.Package,
		Stem:        opts.Stem,
		Constraints: goarches.Constraint(),
		Maps:        maps,
		Variables:   vars,
		Programs:    progs,
		Types:       types,
		ObjectFile:  opts.ObjectFile,
		Output:      &out,
		Identifier:  Identifier,
	})
	if err != nil {
		return nil, fmt.Errorf("bpf2go's generator: %v", err)
	}
	src, ok := bytes.CutPrefix(out.Bytes(), []byte(bpf2goHeader))
	if !ok {
		return nil, fmt.Errorf("bpf2go's generator wrote an unexpected first line (not %q): this bpfstar does not know this version of cilium/ebpf", strings.TrimSpace(bpf2goHeader))
	}
	return append([]byte(Header), src...), nil
}

// bpf2goHeader is the first line the generator writes.
const bpf2goHeader = "// Code generated by bpf2go; DO NOT EDIT.\n"

// Header is the first line of the bindings, instead of the generator's,
// which names bpf2go: it says what wrote them, with no version, so that
// the bytes do not change with bpfstar's version. It is the form Go tools
// recognise as generated code.
const Header = "// Code generated by bpfstar gen go (bpf2go's generator); DO NOT EDIT.\n"

// Identifier is the Go name of a C name (a program's, a map's, a global's,
// a type's or a member's), as bpf2go makes it: letters and digits are
// kept and every other character but _ is dropped; the first letter is
// upper-cased; an underscore at the start, or after a lower-case letter or
// a digit, is dropped and the letter after it upper-cased; other
// underscores are kept. So xdp_pass is XdpPass, rx.count is Rxcount, and
// MAX_LEN stays MAX_LEN.
func Identifier(name string) string {
	var b strings.Builder
	prev := rune(-1) // the last rune written; -1 at the start and after a dropped underscore
	for _, r := range name {
		switch {
		case unicode.IsLetter(r):
			if prev == -1 {
				r = unicode.ToUpper(r)
			}
		case unicode.IsDigit(r):
		case r == '_':
			if prev == -1 || unicode.IsDigit(prev) || unicode.IsLower(prev) {
				prev = -1
				continue
			}
		default:
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// Stem returns the default stem for bindings of an object or program file
// named file: its base name without extension, by [Identifier] with a
// lower-case first letter (xdp_pass.o: xdpPass), so that the names are
// the package's own (loadXdpPassObjects).
func Stem(file string) (string, error) {
	base := filepath.Base(file)
	base = strings.TrimSuffix(base, filepath.Ext(base))
	id := Identifier(base)
	if id == "" || !token.IsIdentifier(id) || !unicode.IsLetter([]rune(id)[0]) {
		return "", fmt.Errorf("%s gives no Go identifier for a stem (%q): give one", base, id)
	}
	r := []rune(id)
	r[0] = unicode.ToLower(r[0])
	return string(r), nil
}

// ObjectFile returns the name of the object file that the bindings in
// goFile embed: goFile with .o for .go (xdp_pass_bpfel.go:
// xdp_pass_bpfel.o), as bpf2go names them.
func ObjectFile(goFile string) string {
	return strings.TrimSuffix(goFile, ".go") + ".o"
}

// objectFileRE is what an embedded file's name may be: //go:embed takes
// it unquoted, and Go modules refuse many characters in file names.
var objectFileRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]*$`)

func checkObjectFile(name string) error {
	if !objectFileRE.MatchString(name) {
		return fmt.Errorf("cannot embed a file named %q: name it with letters, digits and _ . + - (not starting with . _ + or -)", name)
	}
	return nil
}

// Write writes the bindings of obj to goFile and the object beside it,
// to ObjectFile(goFile), which the bindings embed (opts.ObjectFile is set
// to its base name). Both are made and written in full under temporary
// names before either replaces a file, so that on an error (bindings
// that cannot be made, a directory that is missing or not writable, a
// full disk) the files that were there are untouched; only the two final
// renames could fail between them.
func Write(goFile string, obj []byte, opts Options) error {
	base := filepath.Base(goFile)
	if !strings.HasSuffix(base, ".go") || len(base) == len(".go") {
		return fmt.Errorf("%s: the bindings' file name must end in .go", goFile)
	}
	if base[0] == '_' || base[0] == '.' {
		return fmt.Errorf("%s: go build ignores files whose name starts with %q: choose another name", goFile, base[:1])
	}
	objFile := ObjectFile(goFile)
	opts.ObjectFile = filepath.Base(objFile)
	src, err := Generate(obj, opts)
	if err != nil {
		return err
	}
	var pending []*atomicfile.Pending
	defer func() {
		for _, p := range pending {
			p.Abort()
		}
	}()
	for _, f := range []struct {
		path string
		data []byte
	}{{objFile, obj}, {goFile, src}} {
		p, err := atomicfile.Prepare(f.path, bytes.NewReader(f.data), 0o644)
		if err != nil {
			return err
		}
		pending = append(pending, p)
	}
	for _, p := range pending {
		if err := p.Commit(); err != nil {
			return err
		}
	}
	return nil
}
