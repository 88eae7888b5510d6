// Package testrun runs the test cases of a program file (starlib's
// test() calls) against its object: it loads the programs the cases name
// into the kernel once, through cilium/ebpf, and runs each case with
// BPF_PROG_TEST_RUN, setting map contents before and checking return
// value, output data and map contents after.
package testrun

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/verify"
)

// Status is the outcome of a case.
type Status int

const (
	Pass Status = iota
	Fail
	Skip // the case could not run: the message says why
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	}
	return "SKIP"
}

// Result is the outcome of one case.
type Result struct {
	Case   starlib.TestCase
	Status Status
	// Msg says what differed (Fail) or why the case did not run (Skip).
	Msg string
	// Duration is the wall time of the case's BPF_PROG_TEST_RUN call
	// (of one run, for the program types run once per call, Repeat times).
	Duration time.Duration
	// Cached reports a Pass remembered from an earlier run, not run now.
	Cached bool
	// Engine is what ran the case: Kernel, VM or Both (VM when Both was
	// asked for but the kernel could not run the case).
	Engine Engine
	// KernelSkipped, under Both, says why the kernel did not run a case
	// that the interpreter ran alone.
	KernelSkipped string
	// Trace is the interpreter's trace of the case (Options.Trace),
	// followed by what bpf_trace_printk printed.
	Trace string
	// seen is what the run left, for Both to compare.
	seen *outcome
}

// outputPad is the room given to a program's output data beyond its
// input (bpf_xdp_adjust_tail and friends may grow a packet).
const outputPad = 4096

// ctxOutRoom is the least room given to the context a run leaves (the
// kernel's context structs are a few hundred bytes at most).
const ctxOutRoom = 4096

// Run loads the programs of obj that cases name and runs every case, in
// order. Programs are loaded once, together with their maps; before each
// case, the maps it may change are put back as they were after loading
// (see restore). An error is returned only when the object cannot be
// read; every other problem is a case's Fail or Skip.
func Run(obj []byte, cases []starlib.TestCase) ([]Result, error) {
	return run(obj, cases, false)
}

// run is Run; withData copies every case's output data out (for Both to
// compare), not only that of the cases that check it.
func run(obj []byte, cases []starlib.TestCase, withData bool) ([]Result, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(obj))
	if err != nil {
		return nil, fmt.Errorf("reading object: %w", err)
	}
	results := make([]Result, len(cases))
	for i, c := range cases {
		results[i] = Result{Case: c}
	}
	if len(cases) == 0 {
		return results, nil
	}
	if !verify.Privileged() {
		for i := range results {
			results[i].Status, results[i].Msg = Skip, "not run: "+verify.ErrPermission.Error()
		}
		return results, nil
	}
	var names []string
	for _, c := range cases {
		if !slices.Contains(names, c.Program) {
			names = append(names, c.Program)
		}
	}
	l := load(spec, names)
	defer l.close()
	for i := range results {
		r := &results[i]
		lp := l.progs[r.Case.Program]
		if lp.err != nil {
			r.Status, r.Msg = lp.status, lp.err.Error()
			continue
		}
		runCase(r, lp, withData)
	}
	return results, nil
}

// loaded is a loaded program with its collection, or why it did not load.
type loaded struct {
	prog   *ebpf.Program
	coll   *collection
	err    error
	status Status // of the cases of a program that did not load
}

type collection struct {
	c *ebpf.Collection
	// saved holds the contents of the restorable maps after loading.
	saved []*savedMap
	// dirty reports that a case may have changed the maps since they
	// were last put back (or loaded).
	dirty bool
	// got is where want_maps lookups read a value (the largest value size
	// of the collection's maps), reused from case to case.
	got []byte
	// streams are the maps a program adds records to that user space
	// takes out (ring buffers, queues, stacks): each case starts with them
	// empty, and what a case left in them is taken out after it.
	streams []*stream
}

// stream is a ring buffer, perf event array, queue or stack of a
// collection.
type stream struct {
	name string
	m    *ebpf.Map
	// ring reads a ring buffer, perf a perf event array (both nil for a
	// queue or stack).
	ring *ringbuf.Reader
	perf *perf.Reader
}

// drain takes every record out of the stream, in the order user space
// reads them (a ring buffer's in submission order, a queue's oldest
// first, a stack's newest first).
func (s *stream) drain() ([][]byte, error) {
	var out [][]byte
	if s.ring != nil {
		// A deadline in the past: read what is there, never wait.
		s.ring.SetDeadline(time.Unix(1, 0))
		var rec ringbuf.Record
		for {
			err := s.ring.ReadInto(&rec)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			out = append(out, slices.Clone(rec.RawSample))
		}
	}
	if s.perf != nil {
		s.perf.SetDeadline(time.Unix(1, 0))
		var rec perf.Record
		for {
			err := s.perf.ReadInto(&rec)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return out, nil
			}
			if err != nil {
				return out, err
			}
			if rec.LostSamples > 0 {
				return out, fmt.Errorf("%d samples lost on CPU %d: the reader's buffer is too small", rec.LostSamples, rec.CPU)
			}
			out = append(out, slices.Clone(rec.RawSample))
		}
	}
	for {
		v := make([]byte, s.m.ValueSize())
		err := s.m.LookupAndDelete(nil, &v)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}

// newStreams makes readers for the ring buffers, queues and stacks of c.
func newStreams(c *ebpf.Collection) ([]*stream, error) {
	var out []*stream
	for _, name := range slices.Sorted(maps.Keys(c.Maps)) {
		m := c.Maps[name]
		switch m.Type() {
		case ebpf.RingBuf:
			r, err := ringbuf.NewReader(m)
			if err != nil {
				for _, s := range out {
					s.close()
				}
				return nil, fmt.Errorf("reading ring buffer %s: %w", name, err)
			}
			out = append(out, &stream{name: name, m: m, ring: r})
		case ebpf.PerfEventArray:
			// A reader on every CPU, as a program's user space has: the
			// program's output then lands somewhere. Where perf events
			// cannot be opened, the array stays empty (the helper
			// returns -ENOENT) and is not compared.
			if r, err := perf.NewReader(m, perfBuffer); err == nil {
				out = append(out, &stream{name: name, m: m, perf: r})
			}
		case ebpf.Queue, ebpf.Stack:
			out = append(out, &stream{name: name, m: m})
		}
	}
	return out, nil
}

// perfBuffer is the size of each CPU's buffer of a perf event array's
// reader.
const perfBuffer = 1 << 16

func (s *stream) close() {
	if s.ring != nil {
		s.ring.Close()
	}
	if s.perf != nil {
		s.perf.Close()
	}
}

// savedMap is a map's contents after loading.
type savedMap struct {
	name string
	m    *ebpf.Map
	// keys and values are the entries, each a slice of flat (so that a
	// batch update sends them in one call).
	keys, values batch
	// perCPU holds the values of a per-CPU map: one value per possible CPU
	// for each key.
	perCPU [][][]byte
	// noBatch is set once a batch update failed with ErrNotSupported: the
	// entries go one by one from then on.
	noBatch bool
	// scratch receives the keys found in a hash map when it is emptied.
	scratch []byte
}

// batch is a list of equally long byte strings that are consecutive
// slices of one buffer; it marshals to that buffer without copying, so
// that cilium/ebpf's batch operations, which count a slice's elements,
// take it as the keys or values of len(batch) entries.
type batch [][]byte

// MarshalBinary returns the entries of b as one buffer (they are
// consecutive slices of it).
func (b batch) MarshalBinary() ([]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	return b[0][:len(b)*len(b[0])], nil
}

// newBatch copies the byte strings of es, each size bytes long, into one
// buffer and returns them as slices of it.
func newBatch(es [][]byte, size int) batch {
	flat := make([]byte, 0, len(es)*size)
	for _, e := range es {
		flat = append(flat, e...)
	}
	b := make(batch, len(es))
	for i := range es {
		b[i] = flat[i*size : (i+1)*size : len(flat)]
	}
	return b
}

type loader struct {
	progs map[string]loaded
	colls []*collection
}

func (l *loader) close() {
	for _, c := range l.colls {
		for _, s := range c.streams {
			s.close()
		}
		c.c.Close()
	}
}

// load loads the programs names of spec in one collection; when that
// fails, each on its own, so that one rejected program fails only its
// own cases. The programs the object puts in its prog_arrays are loaded
// with them, named by a case or not: every map is created, and a
// prog_array's contents must be programs of the collection.
func load(spec *ebpf.CollectionSpec, names []string) *loader {
	l := &loader{progs: map[string]loaded{}}
	var held []string
	for _, m := range spec.Maps {
		if m.Type != ebpf.ProgramArray {
			continue
		}
		for _, kv := range m.Contents {
			if name, ok := kv.Value.(string); ok {
				held = append(held, name)
			}
		}
	}
	try := func(names []string) error {
		one := spec.Copy()
		for name := range one.Programs {
			if !slices.Contains(names, name) && !slices.Contains(held, name) {
				delete(one.Programs, name)
			}
		}
		for _, n := range names {
			ps, ok := one.Programs[n]
			if !ok {
				return fmt.Errorf("the object has no program %q", n)
			}
			if ps.Type == ebpf.UnspecifiedProgram {
				return fmt.Errorf("the loaders cannot tell the program type of section %q", ps.SectionName)
			}
		}
		c, err := ebpf.NewCollection(one)
		if err != nil {
			return err
		}
		streams, err := newStreams(c)
		if err != nil {
			c.Close()
			return err
		}
		coll := &collection{c: c, saved: snapshot(c), streams: streams}
		for _, m := range c.Maps {
			if int(m.ValueSize()) > len(coll.got) {
				coll.got = make([]byte, m.ValueSize())
			}
		}
		l.colls = append(l.colls, coll)
		for _, n := range names {
			l.progs[n] = loaded{prog: c.Programs[n], coll: coll}
		}
		return nil
	}
	if try(names) == nil {
		return l
	}
	for _, n := range names {
		if err := try([]string{n}); err != nil {
			st := Fail
			msg := fmt.Sprintf("program %s did not load: %v", n, firstLine(err))
			var ve *ebpf.VerifierError
			if !errors.As(err, &ve) && errors.Is(err, unix.EPERM) {
				st = Skip
				msg = fmt.Sprintf("not run: the kernel refused to load program %s with EPERM (this program type may not be allowed here): %v", n, firstLine(err))
			} else if errors.As(err, &ve) {
				msg = fmt.Sprintf("program %s was rejected by the verifier (run 'bpfstar verify' for its log): %v", n, firstLine(err))
			}
			l.progs[n] = loaded{err: errors.New(msg), status: st}
		}
	}
	return l
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// restorable reports whether test runs put a map back as it was after
// loading: hash, array and LPM trie maps, their per-CPU and LRU kinds (not
// frozen .rodata). Other maps keep what earlier cases left in them.
func restorable(m *ebpf.Map) bool {
	switch m.Type() {
	case ebpf.Hash, ebpf.Array, ebpf.LRUHash, ebpf.LPMTrie,
		ebpf.PerCPUHash, ebpf.PerCPUArray, ebpf.LRUCPUHash:
		info, err := m.Info()
		return err == nil && !info.Frozen()
	}
	return false
}

func isPerCPU(t ebpf.MapType) bool {
	return t == ebpf.PerCPUHash || t == ebpf.PerCPUArray || t == ebpf.LRUCPUHash
}

// snapshot reads the restorable maps of c, in the order of their names.
func snapshot(c *ebpf.Collection) []*savedMap {
	var s []*savedMap
	for _, name := range slices.Sorted(maps.Keys(c.Maps)) {
		m := c.Maps[name]
		if !restorable(m) {
			continue
		}
		sm := &savedMap{name: name, m: m, scratch: make([]byte, m.KeySize())}
		var keys, values [][]byte
		k := make([]byte, m.KeySize())
		it := m.Iterate()
		if isPerCPU(m.Type()) {
			var v [][]byte
			for it.Next(&k, &v) {
				keys = append(keys, slices.Clone(k))
				sm.perCPU = append(sm.perCPU, v)
				v = nil
			}
		} else {
			v := make([]byte, m.ValueSize())
			for it.Next(&k, &v) {
				keys = append(keys, slices.Clone(k))
				values = append(values, slices.Clone(v))
			}
		}
		if it.Err() != nil {
			continue
		}
		sm.keys = newBatch(keys, int(m.KeySize()))
		sm.values = newBatch(values, int(m.ValueSize()))
		s = append(s, sm)
	}
	return s
}

// restore puts the restorable maps back as they were after loading, if a
// case may have changed them since.
func (c *collection) restore() error {
	if !c.dirty {
		return nil
	}
	for _, sm := range c.saved {
		if err := sm.restore(); err != nil {
			return fmt.Errorf("map %s: %w", sm.name, err)
		}
	}
	for _, st := range c.streams {
		if _, err := st.drain(); err != nil {
			return fmt.Errorf("map %s: %w", st.name, err)
		}
	}
	c.dirty = false
	return nil
}

func (sm *savedMap) restore() error {
	m := sm.m
	if t := m.Type(); t != ebpf.Array && t != ebpf.PerCPUArray {
		// Empty the map: delete the first key until there is none (a
		// deleted key leaves no cursor to continue from).
		for {
			err := m.NextKey(nil, sm.scratch)
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				break
			}
			if err != nil {
				return err
			}
			if err := m.Delete(sm.scratch); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return err
			}
		}
	}
	if len(sm.keys) == 0 {
		return nil
	}
	if sm.perCPU != nil {
		for i, k := range sm.keys {
			if err := m.Put(k, sm.perCPU[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if !sm.noBatch {
		_, err := m.BatchUpdate(sm.keys, sm.values, nil)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ebpf.ErrNotSupported) {
			return err
		}
		sm.noBatch = true
	}
	for i, k := range sm.keys {
		if err := m.Put(k, sm.values[i]); err != nil {
			return err
		}
	}
	return nil
}

func runCase(r *Result, lp loaded, withData bool) {
	c := r.Case
	if err := lp.coll.restore(); err != nil {
		r.Status, r.Msg = Fail, "resetting the maps: "+err.Error()
		return
	}
	lp.coll.dirty = true
	for _, e := range c.Maps {
		m := lp.coll.c.Maps[e.Map]
		if m == nil {
			r.Status, r.Msg = Skip, fmt.Sprintf("not run: map %s is not one the program uses, so it was not loaded", e.Map)
			return
		}
		var v any = e.Value
		if isPerCPU(m.Type()) {
			v = everyCPU(e.Value)
		}
		if err := m.Put(e.Key, v); err != nil {
			r.Status, r.Msg = Fail, fmt.Sprintf("setting %s[%x]: %v", e.Map, e.Key, err)
			return
		}
	}
	opts := &ebpf.RunOptions{Data: c.Data, Repeat: uint32(c.Repeat)}
	if c.HasWantData || withData && c.HasData {
		// The output is copied out only when a case looks at it.
		opts.DataOut = make([]byte, len(c.Data)+outputPad)
	}
	if c.HasCtx {
		opts.Context = c.Ctx
	}
	var ctxOut []byte
	switch {
	case lp.prog.Type() == ebpf.Syscall && c.HasCtx && (c.HasWantCtx || withData):
		// A syscall program's context is both in and out: cilium/ebpf
		// wants a ContextOut as long as the context.
		ctxOut = make([]byte, len(c.Ctx))
	case c.HasWantCtx || withData && c.HasCtx && ctxOutTypes[lp.prog.Type()]:
		// The kernel refuses (ENOSPC) a ctx_out smaller than the context;
		// the case compares the first len(WantCtx) bytes.
		ctxOut = make([]byte, max(len(c.WantCtx), ctxOutRoom))
	}
	if ctxOut != nil {
		opts.ContextOut = ctxOut
	}
	// The kernel runs raw tracepoint and syscall programs once per
	// BPF_PROG_TEST_RUN and refuses a repeat count (EINVAL): those run
	// c.Repeat times from here.
	runs := 1
	if t := lp.prog.Type(); t == ebpf.RawTracepoint || t == ebpf.RawTracepointWritable || t == ebpf.Syscall {
		runs, opts.Repeat = max(c.Repeat, 1), 0
	}
	var ret uint32
	var err error
	cpu, tid := -1, 0
	run := func() {
		tid = threadID()
		start := time.Now()
		for i := 0; i < runs && err == nil; i++ {
			ret, err = lp.prog.Run(opts)
		}
		r.Duration = time.Since(start) / time.Duration(runs)
	}
	if withData || slices.ContainsFunc(c.WantMaps, func(e starlib.MapEntry) bool {
		m := lp.coll.c.Maps[e.Map]
		return m != nil && isPerCPU(m.Type())
	}) {
		// The per-CPU values to check are those of the CPU the run was on;
		// under Both, the interpreter runs as on that CPU and thread.
		var pinErr error
		if cpu, pinErr = onOneCPU(run); pinErr != nil {
			r.Status, r.Msg = Fail, fmt.Sprintf("running on one CPU (for the per-CPU values of want_maps): %v", pinErr)
			return
		}
	} else {
		run()
	}
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			r.Status, r.Msg = Skip, fmt.Sprintf("not run: this kernel cannot test-run %s programs (section %s): BPF_PROG_TEST_RUN does not support them", lp.prog.Type(), c.Section)
			return
		}
		r.Status, r.Msg = Fail, fmt.Sprintf("BPF_PROG_TEST_RUN failed: %v", err)
		return
	}
	seen := outcome{ret: ret, data: opts.DataOut, ctx: ctxOut, hasCtx: ctxOut != nil, hasData: c.HasData, cpu: cpu, tid: tid}
	if withData {
		seen.maps = kernelMaps(lp.coll.c, cpu)
		seen.streams = map[string][][]byte{}
		for _, st := range lp.coll.streams {
			recs, err := st.drain()
			if err != nil {
				r.Status, r.Msg = Fail, fmt.Sprintf("reading map %s after the run: %v", st.name, err)
				return
			}
			seen.streams[st.name] = recs
		}
	}
	r.seen = &seen
	r.Status, r.Msg = judge(c, seen, func(e starlib.MapEntry) ([]byte, string, error) {
		m := lp.coll.c.Maps[e.Map]
		if m == nil {
			return nil, "", errNoMap
		}
		got := lp.coll.got[:m.ValueSize()]
		if isPerCPU(m.Type()) {
			var vs [][]byte
			if err := m.Lookup(e.Key, &vs); err != nil {
				return nil, "", err
			}
			at := fmt.Sprintf(" on CPU %d", cpu)
			if cpu >= len(vs) {
				return nil, at, fmt.Errorf("the run was on CPU %d, past the %d possible CPUs", cpu, len(vs))
			}
			return vs[cpu], at, nil
		}
		return got, "", m.Lookup(e.Key, got)
	})
}

// errNoMap is what a lookup returns for a map the program does not use.
var errNoMap = errors.New("not one the program uses")

// ctxOutTypes are the program types whose test run copies a context
// back (ctx_out) without being asked for want_ctx; under Both, the
// context they leave is compared.
var ctxOutTypes = map[ebpf.ProgramType]bool{
	ebpf.XDP: true, ebpf.SocketFilter: true, ebpf.SchedCLS: true, ebpf.SchedACT: true, ebpf.CGroupSKB: true,
}

// outcome is what a run of a case left: return value, data_out and
// ctx_out.
type outcome struct {
	ret     uint32
	data    []byte
	ctx     []byte
	hasData bool // the case gave data (so data_out is compared)
	hasCtx  bool // the kernel copied the context out (ctx holds it)
	// maps are the contents of the maps both engines model the same
	// way (array, hash, LRU hash, LPM trie, and their per-CPU kinds with
	// the value of the CPU the run was on), by map name and hex key,
	// under --engine both.
	maps map[string]map[string][]byte
	// streams are the records a run left in ring buffers, queues and
	// stacks, by map name, in the order user space reads them.
	streams map[string][][]byte
	// cpu and tid are the CPU and thread a kernel run was on (-1 and 0
	// when not known).
	cpu, tid int
}

// comparable reports whether maps of type t are compared under Both: one
// value per key, the same on both engines.
func comparable(t ebpf.MapType) bool {
	switch t {
	case ebpf.Array, ebpf.Hash, ebpf.LRUHash, ebpf.LPMTrie,
		ebpf.PerCPUArray, ebpf.PerCPUHash, ebpf.LRUCPUHash:
		return true
	}
	return false
}

// kernelMaps reads the comparable maps of c: of a per-CPU map, the values
// of CPU cpu (the one the run was on; no per-CPU map when it is not
// known).
func kernelMaps(c *ebpf.Collection, cpu int) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for name, m := range c.Maps {
		if !comparable(m.Type()) {
			continue
		}
		entries := map[string][]byte{}
		k := make([]byte, m.KeySize())
		it := m.Iterate()
		if isPerCPU(m.Type()) {
			if cpu < 0 {
				continue
			}
			var vs [][]byte
			for it.Next(&k, &vs) {
				if cpu < len(vs) {
					entries[string(k)] = slices.Clone(vs[cpu])
				}
				vs = nil
			}
		} else {
			v := make([]byte, m.ValueSize())
			for it.Next(&k, &v) {
				entries[string(k)] = slices.Clone(v)
			}
		}
		if it.Err() == nil {
			out[name] = entries
		}
	}
	return out
}

// judge compares a run's outcome with what case c wants, looking map
// values up through lookup (which returns ebpf.ErrKeyNotExist, wrapped,
// for a missing key, errNoMap for a map the run does not have, and a
// note such as " on CPU 0" for messages). It returns Pass, or Fail with
// what differed.
func judge(c starlib.TestCase, o outcome, lookup func(starlib.MapEntry) ([]byte, string, error)) (Status, string) {
	var diffs []string
	if c.HasWantRetval && o.ret != c.WantRetval {
		diffs = append(diffs, fmt.Sprintf("retval %s, want %s", starlib.RetvalName(c.Section, o.ret), starlib.RetvalName(c.Section, c.WantRetval)))
	}
	if c.HasWantData && !bytes.Equal(o.data, c.WantData) {
		diffs = append(diffs, "data "+DescribeDiff(o.data, c.WantData))
	}
	if c.HasWantCtx {
		got := make([]byte, len(c.WantCtx))
		copy(got, o.ctx)
		if d := ctxDiff(got, c); d != "" {
			diffs = append(diffs, d)
		}
	}
	for _, e := range c.WantMaps {
		got, at, err := lookup(e)
		switch {
		case errors.Is(err, errNoMap):
			diffs = append(diffs, fmt.Sprintf("map %s is not one the program uses", e.Map))
		case errors.Is(err, ebpf.ErrKeyNotExist):
			if e.Value != nil {
				diffs = append(diffs, fmt.Sprintf("%s[%x] is missing, want %x", e.Map, e.Key, e.Value))
			}
		case err != nil:
			diffs = append(diffs, fmt.Sprintf("%s[%x]: %v", e.Map, e.Key, err))
		case e.Value == nil:
			diffs = append(diffs, fmt.Sprintf("%s[%x] is %x, want no such key", e.Map, e.Key, got))
		case !bytes.Equal(got, e.Value):
			diffs = append(diffs, fmt.Sprintf("%s[%x]%s is %x, want %x", e.Map, e.Key, at, got, e.Value))
		}
	}
	if len(diffs) > 0 {
		return Fail, strings.Join(diffs, "; ")
	}
	return Pass, ""
}

// everyCPU returns v once per possible CPU: a per-CPU map's value set
// by a case's maps.
func everyCPU(v []byte) [][]byte {
	n, err := ebpf.PossibleCPU()
	if err != nil {
		n = 1 // Put reports the mismatch
	}
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = v
	}
	return vs
}

// ctxDiff compares the context a run left with the case's want_ctx (where
// its mask has set bits, everywhere without a mask) and says where they
// differ, or "": by member for a dict, by byte for bytes.
func ctxDiff(got []byte, c starlib.TestCase) string {
	want, mask := c.WantCtx, c.WantCtxMask
	differs := func(from, to int) bool {
		for i := from; i < to; i++ {
			m := byte(0xff)
			if mask != nil {
				m = mask[i]
			}
			if (got[i]^want[i])&m != 0 {
				return true
			}
		}
		return false
	}
	var diffs []string
	for _, f := range c.WantCtxFields {
		if !differs(f.Off, f.Off+f.Size) {
			continue
		}
		g, w := got[f.Off:f.Off+f.Size], want[f.Off:f.Off+f.Size]
		if f.Size <= 8 {
			diffs = append(diffs, fmt.Sprintf("ctx.%s is %d, want %d", f.Name, leUint(g), leUint(w)))
		} else {
			diffs = append(diffs, fmt.Sprintf("ctx.%s is %x, want %x", f.Name, g, w))
		}
	}
	if len(diffs) > 0 {
		return strings.Join(diffs, "; ")
	}
	if c.WantCtxFields == nil && differs(0, len(want)) {
		return "ctx " + DescribeDiff(got, want)
	}
	return ""
}

// leUint reads a little-endian unsigned integer of up to 8 bytes.
func leUint(b []byte) uint64 {
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// DescribeDiff says how got differs from want: lengths, and the first
// differing byte.
func DescribeDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	s := fmt.Sprintf("differs at byte %d", i)
	if len(got) != len(want) {
		s = fmt.Sprintf("is %d bytes, want %d; %s", len(got), len(want), s)
	}
	end := func(b []byte) []byte { return b[i:min(len(b), i+16)] }
	return fmt.Sprintf("%s: got %x, want %x", s, end(got), end(want))
}
