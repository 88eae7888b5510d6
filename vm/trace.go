package vm

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Program returns the program the machine runs (or last ran).
func (m *Machine) Program() *Program { return m.prog }

// TraceHook returns a Hook that writes each instruction before it runs to
// w: its slot, function and source line, its text, and the registers r0
// to r9 that are not zero (r10, the frame pointer, is left out). After
// max instructions (0: no limit) it writes that the trace stops there, and
// nothing more.
func TraceHook(w io.Writer, max int) Hook {
	var last Line
	n := 0
	return func(m *Machine, pc int, r *[11]uint64) {
		if n++; max > 0 && n > max {
			if n == max+1 {
				fmt.Fprintf(w, "... the trace stops after %d instructions\n", max)
			}
			return
		}
		p := m.prog
		var b strings.Builder
		if l := p.Line(pc); l != last {
			last = l
			if l.File != "" {
				fmt.Fprintf(&b, "%s: %s\n", l, strings.TrimSpace(l.Text))
			}
		}
		fmt.Fprintf(&b, "  %5d: %-36s", pc, p.Text(pc))
		for i := 0; i < 10; i++ {
			if r[i] != 0 {
				fmt.Fprintf(&b, " r%d=%#x", i, r[i])
			}
		}
		b.WriteByte('\n')
		io.WriteString(w, b.String())
	}
}

// Coverage counts, per source line, how often the instructions of that
// line ran, over every run of every machine it hooks. It is safe for
// concurrent use by machines of different objects.
type Coverage struct {
	mu   sync.Mutex
	objs []*objCounts
}

type objCounts struct {
	lines  []Line
	counts []uint64
}

// Hook returns a Hook that counts the instructions of o's programs that
// run. Use one Hook per goroutine.
func (c *Coverage) Hook(o *Object) Hook {
	oc := &objCounts{lines: o.lines, counts: make([]uint64, len(o.code))}
	c.mu.Lock()
	c.objs = append(c.objs, oc)
	c.mu.Unlock()
	return func(_ *Machine, pc int, _ *[11]uint64) { oc.counts[pc]++ }
}

// LineCount is the hits of one line: the most times one of its
// instructions ran (so a line of one instruction that ran 3 times has 3),
// added up over the objects that have the line.
type LineCount struct {
	Line int
	Text string
	Hits uint64
}

// FileCoverage is the coverage of one source file.
type FileCoverage struct {
	File  string
	Lines []LineCount // the lines with instructions, in order
}

// Files returns the coverage of every source file seen, sorted by name.
func (c *Coverage) Files() []FileCoverage {
	c.mu.Lock()
	defer c.mu.Unlock()
	type key struct {
		file string
		line int
	}
	hits := map[key]uint64{}
	text := map[key]string{}
	for _, oc := range c.objs {
		// Within an object a line counts as its most run instruction;
		// the objects' counts add up (test files that load the same
		// program file each have an object).
		own := map[key]uint64{}
		for pc, l := range oc.lines {
			if l.File == "" || pc >= len(oc.counts) {
				continue
			}
			k := key{l.File, l.Line}
			text[k] = l.Text
			own[k] = max(own[k], oc.counts[pc])
		}
		for k, n := range own {
			hits[k] += n
		}
	}
	byFile := map[string][]LineCount{}
	for k, h := range hits {
		byFile[k.file] = append(byFile[k.file], LineCount{Line: k.line, Text: text[k], Hits: h})
	}
	var out []FileCoverage
	for f, ls := range byFile {
		sort.Slice(ls, func(i, j int) bool { return ls[i].Line < ls[j].Line })
		out = append(out, FileCoverage{File: f, Lines: ls})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

// WriteLCOV writes the coverage as an LCOV tracefile (what genhtml,
// Codecov and editors read).
func WriteLCOV(w io.Writer, files []FileCoverage) error {
	var b strings.Builder
	b.WriteString("TN:\n")
	for _, f := range files {
		fmt.Fprintf(&b, "SF:%s\n", f.File)
		hit := 0
		for _, l := range f.Lines {
			fmt.Fprintf(&b, "DA:%d,%d\n", l.Line, l.Hits)
			if l.Hits > 0 {
				hit++
			}
		}
		fmt.Fprintf(&b, "LH:%d\nLF:%d\nend_of_record\n", hit, len(f.Lines))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes the coverage for people: per file, each line with
// instructions, its hit count (or ##### where none ran) and its text,
// then a total.
func WriteText(w io.Writer, files []FileCoverage) error {
	var b strings.Builder
	all, ran := 0, 0
	for _, f := range files {
		hit := 0
		for _, l := range f.Lines {
			if l.Hits > 0 {
				hit++
			}
		}
		fmt.Fprintf(&b, "%s: %d of %d lines ran\n", f.File, hit, len(f.Lines))
		for _, l := range f.Lines {
			n := fmt.Sprint(l.Hits)
			if l.Hits == 0 {
				n = "#####"
			}
			fmt.Fprintf(&b, "%9s %5d | %s\n", n, l.Line, strings.TrimRight(l.Text, " \t"))
		}
		all += len(f.Lines)
		ran += hit
	}
	fmt.Fprintf(&b, "total: %d of %d lines ran\n", ran, all)
	_, err := io.WriteString(w, b.String())
	return err
}
