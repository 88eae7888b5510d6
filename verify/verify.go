// Package verify loads the programs of an object into the kernel verifier,
// through cilium/ebpf, and reports a verdict for each: accepted, with the
// number of instructions the verifier processed, or rejected, with the
// verifier's log, each instruction annotated with the FILE.star:LINE it came
// from (read from the object's BTF line info).
package verify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstar/bpfstar/objreader"
)

// Verdict is the outcome of loading one program.
type Verdict struct {
	Section   string
	Program   string
	Accepted  bool
	Processed int    // instructions the verifier processed (when known)
	Log       string // the annotated verifier log of a rejected program
	At        string // FILE:LINE of the instruction the verifier stopped at
	Err       error  // why it was rejected or could not be loaded
}

// ErrPermission is returned when the process may not load BPF programs.
var ErrPermission = errors.New("loading BPF programs needs root (or CAP_BPF with CAP_PERFMON, CAP_NET_ADMIN or CAP_SYS_ADMIN as the program type requires)")

// Object loads each program of the ELF object obj, one at a time (with the
// maps it needs), and returns the verdicts in the object's symbol order.
func Object(obj []byte) ([]Verdict, error) {
	// objreader first: its errors say what is wrong with a file that is
	// not a BPF object, where cilium/ebpf's may only say EOF.
	f, err := objreader.Read(obj)
	if err != nil {
		return nil, err
	}
	files := sourceFiles(f)
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil, fmt.Errorf("reading object: %w", err)
	}
	if len(spec.Programs) == 0 {
		return nil, errors.New("the object has no programs")
	}
	order, err := programOrder(obj)
	if err != nil {
		return nil, err
	}
	// Programs that cilium/ebpf finds but objreader does not list come
	// last, by name (there should be none).
	listed := map[string]bool{}
	for _, name := range order {
		listed[name] = true
	}
	var rest []string
	for name := range spec.Programs {
		if !listed[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	order = append(order, rest...)
	var out []Verdict
	for _, name := range order {
		ps, ok := spec.Programs[name]
		if !ok {
			continue // a function in .text, linked into its callers
		}
		v := Verdict{Section: ps.SectionName, Program: name}
		if ps.Type == ebpf.UnspecifiedProgram {
			// cilium/ebpf leaves such a program out of the collection.
			v.Err = fmt.Errorf("section %q: the loaders cannot tell the program type of this section, so it was not loaded", ps.SectionName)
			out = append(out, v)
			continue
		}
		one := spec.Copy()
		for other := range one.Programs {
			if other != name {
				delete(one.Programs, other)
			}
		}
		// A prog_array's contents name programs, which this collection
		// leaves out: the program is verified without them (a tail
		// call to an empty slot falls through).
		for mname, m := range one.Maps {
			if m.Type == ebpf.ProgramArray {
				m.Contents = nil
			}
			// A struct_ops map is the kernel struct its programs
			// fill: without them the kernel refuses its value (a
			// tcp_congestion_ops needs ssthresh, ...). A struct_ops
			// program is verified against its member (AttachTo)
			// alone, without the map.
			if m.Type == ebpf.StructOpsMap {
				delete(one.Maps, mname)
			}
		}
		coll, err := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelStats}})
		if err == nil {
			if p := coll.Programs[name]; p != nil {
				v.Accepted = true
				v.Processed = processed(p.VerifierLog)
			} else {
				v.Err = fmt.Errorf("cilium/ebpf did not load program %q (section %q)", name, ps.SectionName)
			}
			coll.Close()
			out = append(out, v)
			continue
		}
		if errors.Is(err, unix.EPERM) && !hasVerifierLog(err) {
			if !privileged() {
				return out, ErrPermission
			}
			// Root, and still EPERM: the kernel refuses this program
			// type, or what it needs, for another reason.
			v.Err = fmt.Errorf("the kernel refused program %q (section %q) with EPERM although this process has the privileges to load programs: this kernel may not allow this program type here (tracing programs, for one, where tracing is disabled), or a helper the program calls (a GPL-only one needs a GPL-compatible license): %w", name, ps.SectionName, err)
			out = append(out, v)
			continue
		}
		// Load again with the full log, for the record of what failed.
		coll, err2 := ebpf.NewCollectionWithOptions(one, ebpf.CollectionOptions{Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelBranch | ebpf.LogLevelStats}})
		if err2 == nil { // should not happen; keep the first error
			coll.Close()
		} else {
			err = err2
		}
		v.Err = err
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			log := restoreFiles(ve.Log, files)
			v.Log = Annotate(log)
			v.At = lastSource(log)
			v.Processed = processed(strings.Join(ve.Log, "\n"))
		}
		out = append(out, v)
	}
	return out, nil
}

// sourceFiles maps the base name of each file the object's line info
// names to the name itself ("net.star" -> "@std//net.star",
// "xdp.star" -> "examples/xdp.star"), for the base names that stand for
// one file only.
func sourceFiles(f *objreader.File) map[string]string {
	ext, err := f.BTFExt()
	if err != nil || ext == nil {
		return nil
	}
	names := map[string]string{}
	for _, sec := range ext.Sections {
		for _, l := range sec.Lines {
			base := l.File[strings.LastIndexByte(l.File, '/')+1:]
			if prev, ok := names[base]; ok && prev != l.File {
				names[base] = "" // two files: leave the kernel's name
				continue
			}
			names[base] = l.File
		}
	}
	return names
}

// restoreFiles gives back the file names the kernel shortened in the
// log's line info lines: it prints "; TEXT @ FILE:LINE" with the base name
// of the file, which would name the standard library's @std//net.star as
// net.star, like a program's own file.
func restoreFiles(log []string, files map[string]string) []string {
	out := make([]string, len(log))
	for i, line := range log {
		out[i] = line
		m := lineInfoRE.FindStringSubmatchIndex(line)
		if m == nil {
			continue
		}
		at := line[m[2]:m[3]]
		base := at[:strings.LastIndexByte(at, ':')]
		if full := files[base]; full != "" && full != base {
			out[i] = line[:m[2]] + full + at[len(base):] + line[m[3]:]
		}
	}
	return out
}

func hasVerifierLog(err error) bool {
	var ve *ebpf.VerifierError
	return errors.As(err, &ve) && len(ve.Log) > 0
}

// programOrder lists the programs of the object, as objreader finds them,
// in the order to verify them: the global ones in symbol table order, which
// is the order the programs were declared in, then the static ones (which
// clang objects may have) by name. Functions in .text that are not global
// are called by programs rather than loaded, and are not listed.
func programOrder(obj []byte) ([]string, error) {
	f, err := objreader.Read(obj)
	if err != nil {
		return nil, err
	}
	progs, err := f.Programs()
	if err != nil {
		return nil, err
	}
	var names, static []string
	for _, p := range progs {
		switch {
		case p.Global:
			names = append(names, p.Name)
		case p.Entry():
			static = append(static, p.Name)
		}
	}
	sort.Strings(static)
	return append(names, static...), nil
}

var processedRE = regexp.MustCompile(`processed (\d+) insns`)

func processed(log string) int {
	m := processedRE.FindStringSubmatch(log)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// The kernel prints "; <source line> @ <file>:<line>" before the first
// instruction of each source line (from the program's BTF line info), and
// "<index>: (<opcode>) <text>" for each instruction.
var (
	lineInfoRE = regexp.MustCompile(`^; .* @ (\S+:\d+)$`)
	insnRE     = regexp.MustCompile(`^\d+: \([0-9a-f]{2}\) `)
)

// Annotate returns the verifier log with each instruction line followed by
// the FILE:LINE of the source line it belongs to.
func Annotate(log []string) string {
	var b strings.Builder
	cur := ""
	for _, line := range log {
		if m := lineInfoRE.FindStringSubmatch(line); m != nil {
			cur = m[1]
		}
		b.WriteString(line)
		if cur != "" && insnRE.MatchString(line) {
			b.WriteString("\t// " + cur)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// lastSource returns the FILE:LINE of the last instruction in the log:
// the one the verifier rejected.
func lastSource(log []string) string {
	cur, at := "", ""
	for _, line := range log {
		if m := lineInfoRE.FindStringSubmatch(line); m != nil {
			cur = m[1]
		}
		if insnRE.MatchString(line) {
			at = cur
		}
	}
	return at
}

// Print writes one line per verdict, and the log of each rejected program.
func Print(w io.Writer, vs []Verdict) {
	for _, v := range vs {
		if v.Accepted {
			fmt.Fprintf(w, "ok       %s (section %s): accepted, %d instructions processed\n", v.Program, v.Section, v.Processed)
			continue
		}
		at := ""
		if v.At != "" {
			at = " at " + v.At
		}
		fmt.Fprintf(w, "REJECTED %s (section %s)%s: %v\n", v.Program, v.Section, at, summary(v.Err))
	}
	for _, v := range vs {
		if !v.Accepted && v.Log != "" {
			fmt.Fprintf(w, "\n--- verifier log of %s ---\n%s", v.Program, v.Log)
		}
	}
}

func summary(err error) string {
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) && len(ve.Log) > 0 {
		// The last non-stats line says what went wrong.
		for i := len(ve.Log) - 1; i >= 0; i-- {
			l := strings.TrimSpace(ve.Log[i])
			if l != "" && !strings.HasPrefix(l, "processed ") && !strings.HasPrefix(l, "verification time") && !strings.HasPrefix(l, "stack depth") {
				return l
			}
		}
	}
	return err.Error()
}
