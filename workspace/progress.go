package workspace

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// progress reports a build as it goes. On a terminal it keeps one status
// line, "[3/12] //pkg:name", rewritten in place and cleared at the end;
// otherwise it prints a plain line for each target it evaluated (targets
// the cache had are silent). Errors and print() output appear whole,
// above the status line.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	total    int
	done     int
	running  []Label // in start order
	status   bool    // a status line is showing
}

func newProgress(w io.Writer, terminal bool, total int) *progress {
	if w == nil {
		w = io.Discard
	}
	return &progress{w: w, terminal: terminal, total: total}
}

func (p *progress) start(l Label) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = append(p.running, l)
	p.redraw()
}

func (p *progress) finish(r *Result, printed []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	for i, l := range p.running {
		if l == r.Target.Label {
			p.running = append(p.running[:i], p.running[i+1:]...)
			break
		}
	}
	var b bytes.Buffer
	b.Write(printed)
	switch {
	case r.Err != nil:
		fmt.Fprintf(&b, "%v\n", r.Err)
		fmt.Fprintf(&b, "[%d/%d] %s FAILED\n", p.done, p.total, r.Target.Label)
	case !r.Cached && !p.terminal:
		fmt.Fprintf(&b, "[%d/%d] %s\n", p.done, p.total, r.Target.Label)
	}
	if b.Len() > 0 {
		p.clear()
		p.w.Write(b.Bytes())
	}
	p.redraw()
}

// end clears the status line.
func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

func (p *progress) clear() {
	if p.status {
		io.WriteString(p.w, "\r\x1b[K")
		p.status = false
	}
}

func (p *progress) redraw() {
	if !p.terminal {
		return
	}
	var names []string
	for _, l := range p.running {
		names = append(names, l.String())
	}
	line := fmt.Sprintf("[%d/%d] %s", p.done, p.total, strings.Join(names, " "))
	if len(line) > 100 {
		line = line[:97] + "..."
	}
	io.WriteString(p.w, "\r\x1b[K"+line)
	p.status = true
}
