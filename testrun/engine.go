package testrun

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/verify"
	"github.com/bpfstar/bpfstar/vm"
)

// Engine is what runs the cases: the kernel (BPF_PROG_TEST_RUN), the
// interpreter (package vm), or both, each case on each, failing where
// they disagree.
type Engine string

const (
	Auto   Engine = ""       // the kernel where it can run (root or CAP_BPF), else the interpreter
	Kernel Engine = "kernel" // BPF_PROG_TEST_RUN
	VM     Engine = "vm"     // the interpreter
	Both   Engine = "both"   // both, compared
)

// ParseEngine reads an --engine flag.
func ParseEngine(s string) (Engine, error) {
	switch e := Engine(s); e {
	case Auto, Kernel, VM, Both:
		return e, nil
	}
	return "", fmt.Errorf("unknown engine %q (kernel, vm or both)", s)
}

// Resolve returns the engine Auto stands for here: the kernel when this
// process may load programs, else the interpreter.
func (e Engine) Resolve() Engine {
	if e != Auto {
		return e
	}
	if verify.Privileged() {
		return Kernel
	}
	return VM
}

// Options configure RunWith.
type Options struct {
	Engine Engine
	// Env is the world the interpreter's helpers see (clock, random
	// seed, CPU, pid).
	Env vm.Env
	// Trace asks the interpreter for a trace of each case (Result.Trace):
	// every instruction it ran, with registers and source line.
	Trace bool
	// Coverage, when set, counts the source lines the interpreter ran.
	Coverage *vm.Coverage
}

// RunWith runs the cases with the engine of opts (see Run for the kernel);
// each Result says which engine ran it.
func RunWith(obj []byte, cases []starlib.TestCase, opts Options) ([]Result, error) {
	switch opts.Engine.Resolve() {
	case Kernel:
		rs, err := Run(obj, cases)
		for i := range rs {
			rs[i].Engine = Kernel
		}
		return rs, err
	case VM:
		return runVM(obj, cases, opts, func(int) vm.Env { return opts.Env })
	}
	kr, err := run(obj, cases, true)
	if err != nil {
		return nil, err
	}
	// The interpreter sees the world of each kernel run: its process,
	// thread, user and CPU (not its clock or random numbers).
	vr, err := runVM(obj, cases, opts, func(i int) vm.Env {
		env := opts.Env
		if s := kr[i].seen; s != nil {
			env.TGID, env.PID = uint32(os.Getpid()), uint32(s.tid)
			env.UID, env.GID = uint32(os.Getuid()), uint32(os.Getgid())
			env.Comm = comm()
			if s.cpu >= 0 {
				env.CPU, env.NumCPU = s.cpu, max(env.NumCPU, s.cpu+1)
			}
		}
		return env
	})
	if err != nil {
		return nil, err
	}
	out := make([]Result, len(cases))
	for i := range cases {
		k, v := kr[i], vr[i]
		out[i] = Result{Case: cases[i], Engine: Both, Duration: k.Duration, Trace: v.Trace}
		switch {
		case k.Status == Skip && v.Status != Skip:
			// The kernel cannot run it (a program type without
			// BPF_PROG_TEST_RUN): the interpreter's verdict stands.
			out[i] = v
			out[i].Msg = v.Msg
			out[i].KernelSkipped = k.Msg
		case k.Status == Skip:
			out[i].Status, out[i].Msg = Skip, "kernel: "+k.Msg
		case v.Status == Skip:
			out[i].Status, out[i].Msg = Skip, "vm: "+v.Msg
		case k.Status != Pass || v.Status != Pass:
			var msgs []string
			if k.Status != Pass {
				msgs = append(msgs, "kernel: "+k.Msg)
			}
			if v.Status != Pass {
				msgs = append(msgs, "vm: "+v.Msg)
			}
			out[i].Status, out[i].Msg = Fail, joinMsgs(msgs)
		case k.seen != nil && v.seen != nil:
			if d := k.seen.differs(v.seen); d != "" {
				out[i].Status, out[i].Msg = Fail, "the kernel and the interpreter disagree: "+d
			}
		}
	}
	return out, nil
}

func joinMsgs(m []string) string {
	s := m[0]
	for _, x := range m[1:] {
		s += "; " + x
	}
	return s
}

// differs says how two outcomes differ, or "": return value, output
// data, the context left (when the kernel copied it out), the maps both
// engines model alike and the records left in ring buffers, queues and
// stacks.
func (o *outcome) differs(p *outcome) string {
	switch {
	case o.ret != p.ret:
		return fmt.Sprintf("retval %d (kernel), %d (vm)", o.ret, p.ret)
	case o.hasData && !bytes.Equal(o.data, p.data):
		return "data " + DescribeDiff(p.data, o.data) + " (got: vm, want: kernel)"
	}
	if o.hasCtx && p.ctx != nil {
		// The kernel's buffer is larger than the context; past it, the
		// kernel leaves zeros.
		k := make([]byte, max(len(o.ctx), len(p.ctx)))
		copy(k, o.ctx)
		v := make([]byte, len(k))
		copy(v, p.ctx)
		if !bytes.Equal(k, v) {
			return "ctx " + DescribeDiff(v, k) + " (got: vm, want: kernel)"
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.maps)) {
		k, v := o.maps[name], p.maps[name]
		if v == nil {
			continue // the interpreter does not have it
		}
		for _, key := range slices.Sorted(maps.Keys(k)) {
			if vv, ok := v[key]; !ok {
				return fmt.Sprintf("%s[%x] is %x (kernel), missing (vm)", name, key, k[key])
			} else if !bytes.Equal(vv, k[key]) {
				return fmt.Sprintf("%s[%x] is %x (kernel), %x (vm)", name, key, k[key], vv)
			}
		}
		for _, key := range slices.Sorted(maps.Keys(v)) {
			if _, ok := k[key]; !ok {
				return fmt.Sprintf("%s[%x] is missing (kernel), %x (vm)", name, key, v[key])
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.streams)) {
		k, v := o.streams[name], p.streams[name]
		for i := range max(len(k), len(v)) {
			switch {
			case i >= len(v):
				return fmt.Sprintf("%s: %d records (kernel), %d (vm); record %d is %x (kernel)", name, len(k), len(v), i, k[i])
			case i >= len(k):
				return fmt.Sprintf("%s: %d records (kernel), %d (vm); record %d is %x (vm)", name, len(k), len(v), i, v[i])
			case !bytes.Equal(k[i], v[i]):
				return fmt.Sprintf("%s: record %d is %x (kernel), %x (vm)", name, i, k[i], v[i])
			}
		}
	}
	return ""
}

// vmMaps reads the machine's maps that kernelMaps reads from the kernel
// (those of a comparable type; of a per-CPU map, the values of the machine's CPU), and the records
// left in its ring buffers, queues and stacks.
func vmMaps(m *vm.Machine) (map[string]map[string][]byte, map[string][][]byte) {
	out := map[string]map[string][]byte{}
	streams := map[string][][]byte{}
	for _, mp := range m.Maps() {
		switch mp.Type {
		case vm.MapRingbuf, vm.MapPerfEvents:
			streams[mp.Name] = mp.Records()
			continue
		case vm.MapQueue, vm.MapStack:
			streams[mp.Name] = mp.Queued()
			continue
		}
		if !comparable(ebpf.MapType(mp.Type)) {
			continue
		}
		entries := map[string][]byte{}
		for _, k := range mp.Keys() {
			if v, ok := mp.Lookup(k, m.Env.CPU); ok {
				entries[string(k)] = v
			}
		}
		out[mp.Name] = entries
	}
	return out, streams
}

// maxTrace is the most instructions the trace of one case shows.
const maxTrace = 100000

// runVM runs every case in the interpreter, each on a machine with the
// object's maps as loaded.
func runVM(obj []byte, cases []starlib.TestCase, opts Options, env func(i int) vm.Env) ([]Result, error) {
	o, err := vm.LoadObject(obj)
	if err != nil {
		return nil, fmt.Errorf("reading object: %w", err)
	}
	results := make([]Result, len(cases))
	var cover vm.Hook
	for i, c := range cases {
		r := &results[i]
		*r = Result{Case: c, Engine: VM}
		p, err := o.Program(c.Program)
		if err != nil {
			r.Status, r.Msg = Fail, err.Error()
			if errors.Is(err, vm.ErrUnsupported) {
				r.Status, r.Msg = Skip, "not run: "+err.Error()
			}
			continue
		}
		m, err := o.NewMachine(env(i))
		if err != nil {
			r.Status, r.Msg = Skip, "not run: "+err.Error()
			continue
		}
		// Under Both, the interpreter lets programs read stack they
		// never wrote when the kernel they are compared with does
		// (verify.UninitStackAllowed: root); alone, it refuses such a
		// read, as an unprivileged kernel does, so that a case's verdict
		// does not depend on who runs it.
		m.AllowUninitStack = opts.Engine == Both && verify.UninitStackAllowed()
		var trace strings.Builder
		var hooks []vm.Hook
		if opts.Coverage != nil {
			if cover == nil {
				cover = opts.Coverage.Hook(o)
			}
			hooks = append(hooks, cover)
		}
		if opts.Trace {
			hooks = append(hooks, vm.TraceHook(&trace, maxTrace))
		}
		switch len(hooks) {
		case 1:
			m.Hook = hooks[0]
		case 2:
			m.Hook = func(m *vm.Machine, pc int, r *[11]uint64) {
				hooks[0](m, pc, r)
				hooks[1](m, pc, r)
			}
		}
		failed := false
		for _, e := range c.Maps {
			mp := m.Map(e.Map)
			if mp == nil {
				r.Status, r.Msg = Skip, fmt.Sprintf("not run: the object has no map %s", e.Map)
				failed = true
				break
			}
			if err := mp.Update(e.Key, e.Value); err != nil {
				r.Status, r.Msg = Fail, fmt.Sprintf("setting %s[%x]: %v", e.Map, e.Key, err)
				failed = true
				break
			}
		}
		if failed {
			continue
		}
		var out vm.Output
		for range max(c.Repeat, 1) {
			out, err = m.RunProgram(p, vm.Input{Data: c.Data, Ctx: c.Ctx, HasCtx: c.HasCtx, CtxOut: c.HasWantCtx})
			if err != nil {
				break
			}
		}
		r.Trace = trace.String()
		if out := m.TraceOutput(); out != "" {
			r.Trace += "trace_printk:\n" + out
		}
		if err != nil {
			r.Status, r.Msg = Fail, err.Error()
			if errors.Is(err, vm.ErrUnsupported) && !isRunError(err) {
				r.Status, r.Msg = Skip, "not run: "+err.Error()
			}
			continue
		}
		res := outcome{ret: out.Retval, data: out.Data, ctx: out.Ctx, hasData: c.HasData}
		if opts.Engine == Both {
			res.maps, res.streams = vmMaps(m)
		}
		r.seen = &res
		r.Status, r.Msg = judge(c, res, func(e starlib.MapEntry) ([]byte, string, error) {
			mp := m.Map(e.Map)
			if mp == nil {
				return nil, "", errNoMap
			}
			v, ok := mp.Lookup(e.Key, m.Env.CPU)
			if !ok {
				return nil, "", fmt.Errorf("%w", ebpf.ErrKeyNotExist)
			}
			return v, "", nil
		})
	}
	return results, nil
}

// isRunError reports whether err stopped a run (an unsupported helper is
// a run error that fails the case: the program depends on it).
func isRunError(err error) bool {
	var e *vm.Error
	return errors.As(err, &e)
}
