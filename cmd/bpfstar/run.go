package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/progtype"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/testrun"
	"github.com/bpfstar/bpfstar/verify"
	"github.com/bpfstar/bpfstar/vm"
)

const runArgs = "[--engine kernel|vm] [--program NAME] [--data FILE] [--repeat N] [--max-steps N] OBJ|LABEL|FILE.star"

const runDoc = `Run loads one program of an object (--program NAME; it may be left out
when the object has one program) and runs it with BPF_PROG_TEST_RUN on the
bytes of --data FILE ('-' for stdin): the packet, or, for raw tracepoint
and syscall programs, the context (their arguments as bytes). It prints
'retval=N' first, then, when the program took a packet, 'data=HEX', the
packet it left; with --repeat N the program runs N times and
'mean=DURATION' is the mean time of a run (the kernel runs raw tracepoint
and syscall programs once: --repeat does not apply to them). A
label or FILE.star is built first, as for disasm. --engine names what runs
the program: 'kernel' (BPF_PROG_TEST_RUN, which needs root or CAP_BPF) or
'vm' (bpfstar's interpreter, which runs anywhere and also prints
'insns=N', the instructions it executed); the default is the kernel where
this process may load programs, else vm. The last line, 'engine=NAME',
says which ran.`

func runCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stdout, stderr)
	engine := fs.String("engine", "", "run the program in `ENGINE`: kernel or vm (default: kernel where it can load programs, else vm)")
	program := fs.String("program", "", "the `NAME` of the program to run (default: the object's only program)")
	dataFile := fs.String("data", "", "run on the bytes of `FILE` ('-': stdin)")
	repeat := fs.Int("repeat", 1, "run `N` times and print the mean duration of a run")
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps` (for a LABEL or FILE.star)")
	in, err := parseOne(fs, args)
	if err != nil {
		return err
	}
	eng, err := testrun.ParseEngine(*engine)
	if err != nil || eng == testrun.Both {
		fmt.Fprintf(stderr, "bpfstar run: unknown --engine %q (kernel or vm)\n", *engine)
		return errUsage
	}
	eng = eng.Resolve()
	if *repeat < 1 {
		fmt.Fprintf(stderr, "bpfstar run: --repeat must be at least 1\n")
		return errUsage
	}
	var data []byte
	switch *dataFile {
	case "":
	case "-":
		if data, err = io.ReadAll(os.Stdin); err != nil {
			return err
		}
	default:
		if data, err = os.ReadFile(*dataFile); err != nil {
			return err
		}
	}
	_, obj, err := readObject("run", in, *steps, stderr)
	if err != nil {
		return err
	}
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return fmt.Errorf("reading object: %w", err)
	}
	var names []string
	for n := range spec.Programs {
		names = append(names, n)
	}
	sort.Strings(names)
	name := *program
	switch {
	case name == "" && len(names) == 1:
		name = names[0]
	case name == "":
		return fmt.Errorf("the object has %d programs (%s): choose one with --program", len(names), strings.Join(names, ", "))
	case spec.Programs[name] == nil:
		return fmt.Errorf("the object has no program %q (it has %s)", name, strings.Join(names, ", "))
	}
	ps := spec.Programs[name]
	// Raw tracepoint and syscall programs run on a context, their
	// arguments as bytes: --data gives it. The kernel runs them once per
	// BPF_PROG_TEST_RUN.
	def, _ := progtype.Lookup(ps.SectionName)
	onCtx := def.Run == progtype.RunContext
	if onCtx && *repeat > 1 {
		return fmt.Errorf("the kernel runs a program of section %s once per BPF_PROG_TEST_RUN: --repeat does not apply", ps.SectionName)
	}
	if eng == testrun.VM {
		return runVM(stdout, obj, name, ps.SectionName, data, onCtx, *repeat)
	}
	if !verify.Privileged() {
		return verify.ErrPermission
	}
	one := spec.Copy()
	for n := range one.Programs {
		if n != name {
			delete(one.Programs, n)
		}
	}
	coll, err := ebpf.NewCollection(one)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("the verifier rejected program %s (run 'bpfstar verify' for its log): %w", name, err)
		}
		return fmt.Errorf("loading program %s: %w", name, err)
	}
	defer coll.Close()
	prog := coll.Programs[name]
	opts := &ebpf.RunOptions{Data: data, Repeat: 1}
	switch {
	case onCtx:
		opts = &ebpf.RunOptions{Context: data}
		if ps.Type == ebpf.Syscall && len(data) > 0 {
			opts.ContextOut = make([]byte, len(data)) // cilium/ebpf wants it for a syscall program's context
		}
	case len(data) > 0:
		opts.DataOut = make([]byte, len(data)+4096)
	}
	ret, err := prog.Run(opts)
	if err != nil {
		return fmt.Errorf("running program %s (section %s): %w", name, ps.SectionName, err)
	}
	fmt.Fprintf(stdout, "retval=%d\n", ret)
	if n := starlib.RetvalName(ps.SectionName, ret); strings.Contains(n, " ") {
		fmt.Fprintf(stdout, "retval_name=%s\n", strings.Fields(n)[0])
	}
	if len(data) > 0 && !onCtx {
		fmt.Fprintf(stdout, "data=%s\n", hex.EncodeToString(opts.DataOut))
	}
	if *repeat > 1 {
		_, per, err := prog.Benchmark(data, *repeat, nil)
		if err != nil {
			return fmt.Errorf("running program %s %d times: %w", name, *repeat, err)
		}
		fmt.Fprintf(stdout, "mean=%v\n", per)
	}
	fmt.Fprintln(stdout, "engine=kernel")
	return nil
}

// runVM runs the program in the interpreter and prints what runCmd does,
// with the number of instructions the run executed.
func runVM(stdout io.Writer, obj []byte, name, section string, data []byte, onCtx bool, repeat int) error {
	o, err := vm.LoadObject(obj)
	if err != nil {
		return fmt.Errorf("reading object: %w", err)
	}
	p, err := o.Program(name)
	if err != nil {
		return err
	}
	m, err := o.NewMachine(vm.Env{})
	if err != nil {
		return err
	}
	in := vm.Input{Data: data}
	if onCtx {
		in = vm.Input{Ctx: data, HasCtx: len(data) > 0}
	}
	out, err := m.RunProgram(p, in)
	if err != nil {
		return fmt.Errorf("running program %s (section %s): %w", name, section, err)
	}
	steps := m.Steps()
	fmt.Fprintf(stdout, "retval=%d\n", out.Retval)
	if n := starlib.RetvalName(section, out.Retval); strings.Contains(n, " ") {
		fmt.Fprintf(stdout, "retval_name=%s\n", strings.Fields(n)[0])
	}
	if len(data) > 0 && !onCtx {
		fmt.Fprintf(stdout, "data=%s\n", hex.EncodeToString(out.Data))
	}
	fmt.Fprintf(stdout, "insns=%d\n", steps)
	if repeat > 1 {
		start := time.Now()
		for range repeat {
			if _, err := m.RunProgram(p, in); err != nil {
				return fmt.Errorf("running program %s (section %s): %w", name, section, err)
			}
		}
		fmt.Fprintf(stdout, "mean=%v\n", time.Since(start)/time.Duration(repeat))
	}
	fmt.Fprintln(stdout, "engine=vm")
	return nil
}
