// Package starlib is the Starlark side of bpfstar: the builtins a program
// file (prog.star) calls to describe BPF programs, and the evaluator that
// runs such a file in a locked-down dialect.
//
// A program file sees these predeclared names:
//
//	r0 .. r10, fp      registers (fp is r10, the frame pointer)
//	insn               the instruction module: insn.mov64_imm(r0, 0), ...
//	asm(text, **values)
//	                   instructions written as LLVM prints them, one per
//	                   line, read by isa.Parse (asmtext.go)
//	label(name)        a jump target inside an instruction list
//	exit()             the exit instruction (also insn.exit())
//	section(name, symbol, insns)
//	                   one program: symbol `symbol` in ELF section `name`
//	license(text)      the license section
//	fail(msg)          stop the build with an error at the call
//	types              C types for typed maps and globals (types.go):
//	                   types.u32, types.struct(name, fields), ...
//	btf_types(label)   the types of a BTF file (a kernel's), read through
//	                   Options.ReadFile (btftypes.go)
//	core               CO-RE relocations: core.ldx, core.read,
//	                   core.field_offset, ... (core.go)
//	test(name, program, ...)
//	                   a test case for `bpfstar test` (testcase.go, Unit.Tests)
//	eth, ipv4, ipv6, udp4, tcp4, udp6, tcp6
//	                   packet builders for test data (packet.go)
//	struct(**fields)   an immutable record (starlarkstruct), for libraries
//
// load("@std//NAME.star", ...) loads a file of the standard library
// (package stdlib, embedded in the binary) in every evaluation, whatever
// Options.Load is; a file of the library loads its siblings as
// ":NAME.star". Those files are in Unit.Sources (for line info) but not in
// Unit.Loads: they are no input files of a build.
//
// Files run with no `while`, no recursion, no clock, environment or file
// access, and with limits: DefaultMaxSteps Starlark execution steps
// (Options.MaxSteps, the --max-steps flag), DefaultMaxMemory bytes of heap,
// MaxElements elements in a list or tuple made by + or * (MaxStringBytes
// for strings), asm.MaxInstructions instructions per program and
// MaxFileInstructions per file (see limits.go).
//
// The result of evaluating a file is a Unit: a link.Unit (programs as
// asm.Programs, in the order they were declared, functions, maps and
// globals), ready for the linker. section() and function() fill each
// program once, copying the instructions out of the Starlark values (see
// insnvalue.go for how those are kept). Errors are *asm.Errors naming the
// FILE:LINE:COL of the fault; Phrase turns the assembler's and the
// linker's errors into the terms of a program file's author.
//
// Every builtin is bound to the evaluation that runs it: nothing is shared
// between evaluations but read-only tables, so that builds may run at once.
package starlib

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/isa"
	"github.com/bpfstar/bpfstar/link"
	"github.com/bpfstar/bpfstar/stdlib"
)

// DefaultMaxSteps is the default limit on Starlark execution steps for one
// build: enough for a program of a million instructions built by loops,
// small enough that a runaway loop stops in seconds.
const DefaultMaxSteps = 200_000_000

// Options control evaluation.
type Options struct {
	// MaxSteps limits Starlark execution steps; 0 means DefaultMaxSteps.
	MaxSteps uint64
	// MaxMemory limits the Go heap while the file runs, in bytes; 0 means
	// DefaultMaxMemory.
	MaxMemory uint64
	// Print receives the output of print(); nil discards it.
	Print io.Writer
	// DebugName is the file name recorded in the object's line info: a
	// workspace-relative path, never an absolute one, so that the object
	// does not depend on where the file was built. Default: the file's base
	// name.
	DebugName string
	// Load supplies the files that load() statements name, but for the
	// standard library's (@std//NAME.star); when it is nil, load() fails. from is the name of the loading file (its Source.Name:
	// DebugName for the file given to Exec) and module the string given to
	// load(). Load returns the loaded file's name and contents. The name is
	// both the file name in positions and its name in the object's debug
	// info (so it should be workspace-relative), and the key under which
	// the file is evaluated at most once per Exec: every later load of the
	// same name gets the same, frozen, module. starlib itself never touches
	// the file system.
	Load func(from, module string) (name string, src []byte, err error)
	// ReadFile supplies the data files that btf_types() names, as Load
	// supplies the files load() names: from is the name of the calling
	// file, label the string given to btf_types(); it returns the file's
	// name (workspace-relative, or relative to the program in a
	// single-file build) and contents. When it is nil, btf_types() fails.
	// Each name is read once per Exec, and every file read is in
	// Unit.DataFiles: it is an input of the build.
	ReadFile func(from, label string) (name string, data []byte, err error)
	// TraceLabel, when set, makes the evaluation note the calls that led
	// to each label() and jump of that name, in Unit.LabelCalls: what a
	// label error is explained with (see locallabels.go).
	TraceLabel string
}

// Unit is what a program file declares: the link.Unit of its object, and
// the files it loaded.
type Unit struct {
	link.Unit
	// LabelUses holds, when the file was evaluated with
	// Options.TraceLabel, the places that label was placed or jumped to,
	// in evaluation order, with the calls that led there (see
	// locallabels.go).
	LabelUses []LabelUse
	// Loads lists the names of the loaded files in the order their
	// evaluation began (the file given to Exec is not among them, nor
	// the files of the standard library, which are part of the binary:
	// Sources has those, under "@std//NAME.star").
	Loads []string
	// Tests are the test() calls, in order; they do not change the object.
	Tests []TestCase
	// DataFiles are the data files the evaluation read (btf_types()), in
	// the order it first read them.
	DataFiles []DataFile
}

// DataFile is a file a program file read as data: its name, as
// Options.ReadFile gave it, and its contents.
type DataFile struct {
	Name string
	Data []byte
}

// FileOptions returns the Starlark dialect of program files: no while
// loops, no recursion, no sets; top-level if and for are allowed, as is
// reassigning a global.
func FileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             false,
		While:           false,
		TopLevelControl: true,
		GlobalReassign:  true,
		Recursion:       false,
	}
}

// unit is the build state kept in the thread while a file runs.
type unit struct {
	Unit
	symbols    map[string]asm.Pos
	sections   map[string]bool // program section names used so far
	licensePos asm.Pos
	items      int             // instructions and labels of all programs and functions
	localCount int             // local() calls so far
	locals     map[string]bool // the names local() returned
	traceName  string          // Options.TraceLabel
	globalSize int             // bytes of all globals
	alloc      insnAlloc
	lineStarts map[string][]int // the offsets of the lines of files that call asm()

	readFile func(from, label string) (string, []byte, error)
	btfFiles map[string]*BTFTypes // btf_types() values, by file name

	// kernelNames holds the names of maps and programs cut to the
	// kernel's KernelNameLen characters (see claimKernelName).
	kernelNames map[kernelKey]kernelName
}

func newUnit(filename, name string, src []byte) *unit {
	return &unit{Unit: Unit{Unit: link.Unit{File: filename, Sources: map[string]link.Source{filename: {Name: name, Text: src}}}}, symbols: make(map[string]asm.Pos)}
}

// Predeclared returns the names a program file sees, bound to a unit of
// their own: an embedder that evaluates Starlark with them gets working
// builtins whose declarations go nowhere. Exec binds them to the unit it
// returns.
func Predeclared() starlark.StringDict { return newUnit("", "", nil).predeclared() }

// predeclared returns the names a program file sees: builtins bound to u,
// which collects what they declare and makes the instructions.
func (u *unit) predeclared() starlark.StringDict {
	d := starlark.StringDict{
		"insn":       newInsnModule(&u.alloc),
		"label":      starlark.NewBuiltin("label", u.label),
		"local":      starlark.NewBuiltin("local", u.local),
		"exit":       starlark.NewBuiltin("exit", u.exit),
		"section":    starlark.NewBuiltin("section", u.section),
		"license":    starlark.NewBuiltin("license", u.license),
		"fail":       starlark.NewBuiltin("fail", failBuiltin),
		"bpf_map":    starlark.NewBuiltin("bpf_map", u.bpfMap),
		"rodata":     starlark.NewBuiltin("rodata", u.global(".rodata")),
		"data":       starlark.NewBuiltin("data", u.global(".data")),
		"bss":        starlark.NewBuiltin("bss", u.global(".bss")),
		"function":   starlark.NewBuiltin("function", u.function),
		"struct_ops": starlark.NewBuiltin("struct_ops", u.structOps),
		"asm":        starlark.NewBuiltin("asm", u.asmText),
		"types":      newTypesModule(),
		"btf_types":  starlark.NewBuiltin("btf_types", u.btfTypes),
		"core":       u.newCoreModule(),
		"struct":     starlark.NewBuiltin("struct", starlarkstruct.Make),
		"test":       starlark.NewBuiltin("test", u.test),
		"fp":         Register(isa.R10),
	}
	for r := isa.R0; r <= isa.R10; r++ {
		d[r.String()] = Register(r)
	}
	for n, v := range packetBuiltins() {
		d[n] = v
	}
	return d
}

// Exec evaluates the program file filename with contents src.
func Exec(filename string, src []byte, opts Options) (*Unit, error) {
	name := opts.DebugName
	if name == "" {
		name = path.Base(filepath.ToSlash(filename))
	}
	u := newUnit(filename, name, src)
	u.readFile = opts.ReadFile
	if opts.TraceLabel != "" {
		u.traceName = opts.TraceLabel
		u.alloc.trace = func(thread *starlark.Thread, name string, pos asm.Pos) { u.traceLabel(thread, name, pos, false) }
	}
	steps := opts.MaxSteps
	if steps == 0 {
		steps = DefaultMaxSteps
	}
	pre := u.predeclared()
	limitPredeclared(pre)
	l := &loader{opts: opts, unit: u, predeclared: pre, steps: steps, modules: make(map[string]*loadedFile), stack: []string{name}}
	thread := &starlark.Thread{
		Name: "bpfstar",
		Print: func(_ *starlark.Thread, msg string) {
			if opts.Print != nil {
				fmt.Fprintln(opts.Print, msg)
			}
		},
		Load: l.load,
	}
	mem := opts.MaxMemory
	if mem == 0 {
		mem = DefaultMaxMemory
	}
	limitThread(thread, steps, mem)
	if _, err := execFile(thread, pre, filename, src); err != nil {
		return nil, explainForwardRef(convertError(err, steps), filename, src)
	}
	if err := u.checkGPLHelpers(); err != nil {
		return nil, err
	}
	if err := u.checkProgArrays(); err != nil {
		return nil, err
	}
	if err := u.checkStructOpsPrograms(); err != nil {
		return nil, err
	}
	return &u.Unit, nil
}

// loader evaluates the files that load() names, each at most once per
// Exec, and detects load cycles.
type loader struct {
	opts        Options
	unit        *unit
	predeclared starlark.StringDict
	steps       uint64
	modules     map[string]*loadedFile
	stack       []string // names of the files being evaluated, outermost first
}

// loadedFile is a loaded file: its frozen globals, or the error that stopped it.
type loadedFile struct {
	globals starlark.StringDict
	err     error
	done    bool
}

func (l *loader) load(thread *starlark.Thread, spec string) (starlark.StringDict, error) {
	from := l.stack[len(l.stack)-1]
	name, src, std, err := l.resolve(from, spec)
	if err != nil {
		return nil, err
	}
	if m, ok := l.modules[name]; ok {
		if !m.done {
			cycle := append([]string(nil), l.stack[slices.Index(l.stack, name):]...)
			return nil, fmt.Errorf("load cycle: %s -> %s", strings.Join(cycle, " -> "), name)
		}
		return m.globals, m.err
	}
	if slices.Contains(l.stack, name) { // the file given to Exec
		return nil, fmt.Errorf("load cycle: %s -> %s", strings.Join(l.stack, " -> "), name)
	}
	if prev, ok := l.unit.Sources[name]; ok && prev.Name != name {
		return nil, fmt.Errorf("%s is already the name of the file being built", name)
	}
	m := &loadedFile{}
	l.modules[name] = m
	l.unit.Sources[name] = link.Source{Name: name, Text: src}
	if !std {
		l.unit.Loads = append(l.unit.Loads, name)
	}
	l.stack = append(l.stack, name)
	// The loaded file runs on the same thread, so the step limit covers
	// the whole build and errors show the chain of loads that led there.
	m.globals, m.err = execFile(thread, l.predeclared, name, src)
	l.stack = l.stack[:len(l.stack)-1]
	m.done = true
	if m.err != nil {
		m.globals, m.err = nil, convertError(m.err, l.steps)
	}
	return m.globals, m.err
}

// resolve finds the file that load(spec) names in the file from: a file
// of the standard library (std) for "@std//NAME.star", and for ":NAME.star"
// in a file of the library; else what Options.Load says.
func (l *loader) resolve(from, spec string) (name string, src []byte, std bool, err error) {
	if rest, ok := strings.CutPrefix(spec, stdlib.Prefix); ok || strings.HasPrefix(from, stdlib.Prefix) && strings.HasPrefix(spec, ":") {
		if !ok {
			rest = spec[1:]
		}
		src, ok := stdlib.File(rest)
		if !ok {
			return "", nil, false, fmt.Errorf("%s%s is not a file of the standard library (%s)", stdlib.Prefix, rest, strings.Join(stdlib.Names(), ", "))
		}
		return stdlib.Prefix + rest, src, true, nil
	}
	if strings.HasPrefix(from, stdlib.Prefix) {
		return "", nil, false, fmt.Errorf("a file of the standard library loads only @std//NAME.star or :NAME.star, not %q", spec)
	}
	if l.opts.Load == nil {
		return "", nil, false, errors.New("load() is not available in a single-file build")
	}
	name, src, err = l.opts.Load(from, spec)
	return name, src, false, err
}

// convertError turns a Starlark error into an *asm.Error naming the
// position of the fault: the innermost call in the file, followed by the
// calls that led there.
func convertError(err error, steps uint64) error {
	var se syntax.Error
	if errors.As(err, &se) {
		return &asm.Error{Pos: toPos(se.Pos), Msg: se.Msg}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) && len(rl) > 0 {
		msg := rl[0].Msg
		if name, ok := strings.CutPrefix(msg, "undefined: "); ok {
			var names []string
			for n := range Predeclared() {
				names = append(names, n)
			}
			for n := range starlark.Universe {
				names = append(names, n)
			}
			if n := nearest(name, names); n != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", n)
			}
		}
		return &asm.Error{Pos: toPos(rl[0].Pos), Msg: msg}
	}
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return err
	}
	// A build error raised by a builtin carries its own position.
	var ae *asm.Error
	if errors.As(ee.Unwrap(), &ae) {
		return ae
	}
	msg := strings.TrimPrefix(ee.Msg, "Starlark computation cancelled: ")
	if strings.Contains(msg, "too many steps") {
		msg = fmt.Sprintf("the program file ran more than %d Starlark steps (raise the limit with --max-steps)", steps)
	}
	stack := ee.CallStack
	if n := len(stack); n > 0 && strings.Contains(msg, "called recursively") {
		stack = stack[:n-1] // report the call, not the callee
	}
	for n := len(stack); n > 0 && stack[n-1].Pos.Filename() == "<builtin>"; n = len(stack) {
		stack = stack[:n-1] // report the call, not the builtins it ran
	}
	if len(stack) == 0 {
		return &asm.Error{Msg: msg}
	}
	var b strings.Builder
	b.WriteString(msg)
	for i := len(stack) - 2; i >= 0; i-- {
		fmt.Fprintf(&b, "\n\tcalled from %s in %s", toPos(stack[i].Pos), stack[i].Name)
		if i == 0 {
			break
		}
	}
	return &asm.Error{Pos: toPos(stack[len(stack)-1].Pos), Msg: b.String()}
}

func (u *unit) label(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := unpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	if !isIdent(name) && !u.locals[name] {
		return nil, errorf(b, "label name %q is not an identifier ([A-Za-z_][A-Za-z0-9_.]*)", name)
	}
	pos := callerPos(thread)
	u.traceLabel(thread, name, pos, true)
	return u.alloc.newLabel(name, pos), nil
}

func (u *unit) exit(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return u.alloc.newInsn(exitInsn, "", nil, thread.CallFrame(1).Pos), nil
}

func failBuiltin(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "msg", &msg); err != nil {
		return nil, err
	}
	return nil, errors.New(msg)
}

// isIdent reports whether name matches identRE (without a regexp: a large
// program makes a label in every block).
func isIdent(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || i > 0 && ('0' <= c && c <= '9' || c == '.')) {
			return false
		}
	}
	return name != ""
}

var (
	identRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*$`)
	sectionRE = regexp.MustCompile(`^[A-Za-z0-9_.?/+:-]+$`)
)

func (u *unit) section(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name, symbol string
	var insns, ctx starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "symbol", &symbol, "insns", &insns, "ctx?", &ctx); err != nil {
		return nil, err
	}
	if !sectionRE.MatchString(name) {
		return nil, errorf(b, "section name %q: want letters, digits and _ . ? / + : - only", name)
	}
	if reservedSection(name) {
		return nil, errorf(b, "section name %q is reserved", name)
	}
	if err := checkSection(name); err != nil {
		return nil, errorf(b, "%v", err)
	}
	ctxType, err := sectionContext(name, ctx)
	if err != nil {
		return nil, errorf(b, "%v", err)
	}
	pos := callerPos(thread)
	p := asm.Program{Section: name, Symbol: symbol, Pos: pos}
	n, err := u.checkSize(b, fmt.Sprintf("program %q", symbol), insns)
	if err != nil {
		return nil, err
	}
	if path, msg := u.flatten(&p, insns, n); msg != "" {
		return nil, errorf(b, "insns%s: %s", path, msg)
	}
	if err := u.claim(b, symbol, "symbol", pos); err != nil {
		return nil, err
	}
	if err := u.claimKernelName(b, "program", symbol, pos); err != nil {
		return nil, err
	}
	if !u.sections[name] {
		if len(u.sections) >= MaxSections {
			return nil, errorf(b, "more than %d program sections in one file: ELF numbers at most 65,279 sections, and each program section may need a relocation section", MaxSections)
		}
		if u.sections == nil {
			u.sections = make(map[string]bool)
		}
		u.sections[name] = true
	}
	u.Programs = append(u.Programs, p)
	if ctxType != nil {
		if u.ContextTypes == nil {
			u.ContextTypes = make(map[string]btf.Type)
		}
		u.ContextTypes[symbol] = ctxType
	}
	return &ProgHandle{name, symbol}, nil
}

// MaxSections is the number of distinct program sections a file may
// declare: with a relocation section each, and the object's own sections,
// they stay below ELF's limit of 65,279 section headers (SHN_LORESERVE).
const MaxSections = 32000

const maxNesting = 64

// flatten sets the instructions of p to those of v, a list or tuple that
// may nest further lists and tuples, copied in order; a label marks the
// instruction that follows it (or, after the last, the program's end).
// insns is the number of instructions, which checkSize counted. On a bad
// element it returns the index path to it, e.g. "[3][0]", and a
// description of the fault.
func (u *unit) flatten(p *asm.Program, v starlark.Value, insns int) (string, string) {
	f := flattener{alloc: &u.alloc, insns: make([]asm.Instruction, 0, insns)}
	path, msg := f.add(v, 0)
	p.Insns, p.Trailing = f.insns, f.pending
	return path, msg
}

type flattener struct {
	alloc   *insnAlloc // the instructions' allocator, which has their positions
	insns   []asm.Instruction
	pending []asm.Label // labels waiting for the next instruction
}

func (f *flattener) add(v starlark.Value, depth int) (string, string) {
	switch v := v.(type) {
	case *Insn:
		f.add1(f.alloc.instruction(v))
		return "", ""
	case *LinkInsn:
		f.add1(f.alloc.linkInstruction(v))
		return "", ""
	case *MetaInsn:
		f.add1(f.alloc.metaInstruction(v))
		return "", ""
	case *Label:
		f.pending = append(f.pending, v.l)
		return "", ""
	case *starlark.List, starlark.Tuple:
		if depth >= maxNesting {
			return "", fmt.Sprintf("lists nested more than %d deep (does a list contain itself?)", maxNesting)
		}
		seq := v.(starlark.Indexable)
		for i, n := 0, seq.Len(); i < n; i++ {
			x := seq.Index(i)
			if in, ok := x.(*Insn); ok { // the common case, without a call
				f.add1(f.alloc.instruction(in))
				continue
			}
			if path, msg := f.add(x, depth+1); msg != "" {
				return fmt.Sprintf("[%d]%s", i, path), msg
			}
		}
		return "", ""
	}
	return "", fmt.Sprintf("got %s, want insn, label or list of them", v.Type())
}

// add1 appends ins, marked by the pending labels.
func (f *flattener) add1(ins asm.Instruction) {
	if len(f.pending) > 0 {
		for _, l := range f.pending {
			ins.Metadata = ins.WithLabel(l)
		}
		f.pending = f.pending[:0]
	}
	f.insns = append(f.insns, ins)
}

func (u *unit) license(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text); err != nil {
		return nil, err
	}
	if u.HasLicense {
		return nil, errorf(b, "license already set at %v", u.licensePos)
	}
	if text == "" || strings.IndexByte(text, 0) >= 0 {
		return nil, errorf(b, "license must be a non-empty string without NUL bytes")
	}
	u.License, u.HasLicense, u.licensePos = text, true, callerPos(thread)
	return starlark.None, nil
}

// reservedSection reports whether a program may not use the section name:
// the object's own sections (symbols, strings, relocations, .text for
// functions, BTF) and the ones the loaders read as data, never as code
// (license, version, maps, .maps, .data*, .rodata*, .bss*).
func reservedSection(name string) bool {
	switch name {
	case ".strtab", ".symtab", ".text", ".maps", ".BTF", ".BTF.ext":
		return true
	}
	for _, prefix := range []string{".rel", "license", "version", "maps", ".data", ".rodata", ".bss"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
