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
	"slices"
	"strings"
	"time"

	"github.com/cilium/ebpf"
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
	// Duration is the wall time of the case's BPF_PROG_TEST_RUN call.
	Duration time.Duration
	// Cached reports a Pass remembered from an earlier run, not run now.
	Cached bool
}

// outputPad is the room given to a program's output data beyond its
// input (bpf_xdp_adjust_tail and friends may grow a packet).
const outputPad = 4096

// Run loads the programs of obj that cases name and runs every case, in
// order. Programs are loaded once, together with their maps; before each
// case, the maps it may change are put back as they were after loading
// (see restore). An error is returned only when the object cannot be
// read; every other problem is a case's Fail or Skip.
func Run(obj []byte, cases []starlib.TestCase) ([]Result, error) {
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
		runCase(r, lp)
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
	c        *ebpf.Collection
	snapshot map[string][]entry // contents of the restorable maps after loading
}

type entry struct{ key, value []byte }

type loader struct {
	progs map[string]loaded
	colls []*collection
}

func (l *loader) close() {
	for _, c := range l.colls {
		c.c.Close()
	}
}

// load loads the programs names of spec in one collection; when that
// fails, each on its own, so that one rejected program fails only its
// own cases.
func load(spec *ebpf.CollectionSpec, names []string) *loader {
	l := &loader{progs: map[string]loaded{}}
	try := func(names []string) error {
		one := spec.Copy()
		for name := range one.Programs {
			if !slices.Contains(names, name) {
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
		coll := &collection{c: c, snapshot: snapshot(c)}
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
// loading: hash and array maps (not per-CPU ones, not frozen .rodata).
// Other maps keep what earlier cases left in them.
func restorable(m *ebpf.Map) bool {
	switch m.Type() {
	case ebpf.Hash, ebpf.Array, ebpf.LRUHash, ebpf.LPMTrie:
		info, err := m.Info()
		return err == nil && !info.Frozen()
	}
	return false
}

func snapshot(c *ebpf.Collection) map[string][]entry {
	s := map[string][]entry{}
	for name, m := range c.Maps {
		if !restorable(m) {
			continue
		}
		var es []entry
		k, v := make([]byte, m.KeySize()), make([]byte, m.ValueSize())
		it := m.Iterate()
		for it.Next(&k, &v) {
			es = append(es, entry{slices.Clone(k), slices.Clone(v)})
		}
		if it.Err() == nil {
			s[name] = es
		}
	}
	return s
}

// restore puts the restorable maps back as they were after loading.
func (c *collection) restore() error {
	for name, es := range c.snapshot {
		m := c.c.Maps[name]
		if m.Type() != ebpf.Array {
			var keys [][]byte
			k, v := make([]byte, m.KeySize()), make([]byte, m.ValueSize())
			it := m.Iterate()
			for it.Next(&k, &v) {
				keys = append(keys, slices.Clone(k))
			}
			if err := it.Err(); err != nil {
				return fmt.Errorf("map %s: %w", name, err)
			}
			for _, k := range keys {
				if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
					return fmt.Errorf("map %s: %w", name, err)
				}
			}
		}
		for _, e := range es {
			if err := m.Put(e.key, e.value); err != nil {
				return fmt.Errorf("map %s: %w", name, err)
			}
		}
	}
	return nil
}

func runCase(r *Result, lp loaded) {
	c := r.Case
	if err := lp.coll.restore(); err != nil {
		r.Status, r.Msg = Fail, "resetting the maps: "+err.Error()
		return
	}
	for _, e := range c.Maps {
		m := lp.coll.c.Maps[e.Map]
		if m == nil {
			r.Status, r.Msg = Skip, fmt.Sprintf("not run: map %s is not one the program uses, so it was not loaded", e.Map)
			return
		}
		if err := m.Put(e.Key, e.Value); err != nil {
			r.Status, r.Msg = Fail, fmt.Sprintf("setting %s[%x]: %v", e.Map, e.Key, err)
			return
		}
	}
	opts := &ebpf.RunOptions{Data: c.Data, Repeat: uint32(c.Repeat)}
	if c.HasWantData {
		// The output is copied out only when a case looks at it.
		opts.DataOut = make([]byte, len(c.Data)+outputPad)
	}
	if c.HasCtx {
		opts.Context = c.Ctx
	}
	start := time.Now()
	ret, err := lp.prog.Run(opts)
	r.Duration = time.Since(start)
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			r.Status, r.Msg = Skip, fmt.Sprintf("not run: this kernel cannot test-run %s programs (section %s): BPF_PROG_TEST_RUN does not support them", lp.prog.Type(), c.Section)
			return
		}
		r.Status, r.Msg = Fail, fmt.Sprintf("BPF_PROG_TEST_RUN failed: %v", err)
		return
	}
	var diffs []string
	if c.HasWantRetval && ret != c.WantRetval {
		diffs = append(diffs, fmt.Sprintf("retval %s, want %s", starlib.RetvalName(c.Section, ret), starlib.RetvalName(c.Section, c.WantRetval)))
	}
	if c.HasWantData && !bytes.Equal(opts.DataOut, c.WantData) {
		diffs = append(diffs, "data "+DescribeDiff(opts.DataOut, c.WantData))
	}
	for _, e := range c.WantMaps {
		m := lp.coll.c.Maps[e.Map]
		if m == nil {
			diffs = append(diffs, fmt.Sprintf("map %s is not one the program uses", e.Map))
			continue
		}
		got := make([]byte, m.ValueSize())
		err := m.Lookup(e.Key, &got)
		switch {
		case errors.Is(err, ebpf.ErrKeyNotExist):
			if e.Value != nil {
				diffs = append(diffs, fmt.Sprintf("%s[%x] is missing, want %x", e.Map, e.Key, e.Value))
			}
		case err != nil:
			diffs = append(diffs, fmt.Sprintf("%s[%x]: %v", e.Map, e.Key, err))
		case e.Value == nil:
			diffs = append(diffs, fmt.Sprintf("%s[%x] is %x, want no such key", e.Map, e.Key, got))
		case !bytes.Equal(got, e.Value):
			diffs = append(diffs, fmt.Sprintf("%s[%x] is %x, want %x", e.Map, e.Key, got, e.Value))
		}
	}
	if len(diffs) > 0 {
		r.Status, r.Msg = Fail, strings.Join(diffs, "; ")
	}
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
