package starlib

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
)

// Limits on what a program file may build. Starlark counts execution steps
// but not allocations, so a single operation such as [exit()] * (1 << 29)
// could claim gigabytes in one step. bpfstar checks the size of every
// sequence that +, * (and += / *=) and the iterating builtins (list, tuple,
// sorted, ...) would make before making it, and looks at the heap every few
// thousand steps, so that a build's memory stays proportional to the
// program it produces.
const (
	// MaxElements is the most elements a list or tuple built by + or *,
	// or passed to list(), tuple(), sorted(), enumerate(), zip(), ...,
	// may have.
	MaxElements = 1 << 24
	// MaxStringBytes is the longest string or bytes value + and * make.
	MaxStringBytes = 1 << 28
	// MaxFileInstructions is the most instructions and labels all the
	// programs and functions of one file may have together: four
	// programs of the kernel's maximum size.
	MaxFileInstructions = 4 * asm.MaxInstructions
	// MaxGlobalBytes is the most bytes the global variables of a file
	// (rodata, data, bss) may take together: each is at most 256 MiB,
	// and eight of them would otherwise be 2 GiB of object.
	MaxGlobalBytes = 1 << 28
	// DefaultMaxMemory is the default limit on the Go heap while a file
	// runs.
	DefaultMaxMemory = 2 << 30
	// memoryCheckSteps is how often (in steps) the heap is looked at.
	memoryCheckSteps = 1 << 14
)

// checkText refuses a file that is not text: one with a NUL byte or that is
// not valid UTF-8. The error names the position of the first bad byte.
func checkText(filename string, src []byte) error {
	line, col := int32(1), int32(1)
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		switch {
		case r == 0:
			return &asm.Error{Pos: asm.Pos{File: filename, Line: line, Col: col}, Msg: "not a program file: it contains a NUL byte (is it a binary file?)"}
		case r == utf8.RuneError && n == 1:
			return &asm.Error{Pos: asm.Pos{File: filename, Line: line, Col: col}, Msg: fmt.Sprintf("not a program file: invalid UTF-8 (byte 0x%02x); program files are UTF-8 text", src[i])}
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += n
	}
	return nil
}

// sizeOf returns the size that counts against the limits for v, and the
// limit: elements of a list or tuple, bytes of a string or bytes value.
func sizeOf(v starlark.Value) (n, limit int64, what string) {
	switch v := v.(type) {
	case starlark.String:
		return int64(len(v)), MaxStringBytes, "a string of %d bytes"
	case starlark.Bytes:
		return int64(len(v)), MaxStringBytes, "a bytes value of %d bytes"
	case *starlark.List:
		return int64(v.Len()), MaxElements, "a list of %d elements"
	case starlark.Tuple:
		return int64(len(v)), MaxElements, "a tuple of %d elements"
	}
	return -1, 0, ""
}

// checkedBinary returns the builtin that computes x op y after checking
// the size of a sequence result.
func checkedBinary(op syntax.Token) *starlark.Builtin {
	return starlark.NewBuiltin(binaryNames[op], func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		x, y := args[0], args[1]
		if op == syntax.STAR {
			if p, ok := mul64(x, y); ok {
				return p, nil
			}
		}
		if err := checkResult(thread, op, x, y); err != nil {
			return nil, err
		}
		return starlark.Binary(op, x, y)
	})
}

// mul64 returns x * y when both are ints and the product fits in 64 bits
// (go.starlark.net multiplies ints beyond 32 bits as big.Ints: i *
// 0x100000001, a 64-bit immediate, took three allocations).
func mul64(x, y starlark.Value) (starlark.Value, bool) {
	a, ok := x.(starlark.Int)
	if !ok {
		return nil, false
	}
	b, ok := y.(starlark.Int)
	if !ok {
		return nil, false
	}
	u, ok := a.Int64()
	if !ok {
		return nil, false
	}
	v, ok := b.Int64()
	if !ok {
		return nil, false
	}
	if u == 0 || v == 0 {
		return starlark.MakeInt(0), true
	}
	p := u * v
	if p/v != u || (u == -1 && v == math.MinInt64) || (v == -1 && u == math.MinInt64) {
		return nil, false
	}
	return starlark.MakeInt64(p), true
}

// checkedOperand returns the builtin that checks x op= y and returns y, for
// augmented assignments, which keep their own semantics (+= extends a list
// in place).
func checkedOperand(op syntax.Token) *starlark.Builtin {
	return starlark.NewBuiltin(binaryNames[op]+"=", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := checkResult(thread, op, args[0], args[1]); err != nil {
			return nil, err
		}
		return args[1], nil
	})
}

var binaryNames = map[syntax.Token]string{syntax.PLUS: "bpfstar.add", syntax.STAR: "bpfstar.mul"}

// checkResult checks the size of x op y before it is computed.
func checkResult(thread *starlark.Thread, op syntax.Token, x, y starlark.Value) error {
	var n, limit int64
	var what string
	switch op {
	case syntax.PLUS:
		nx, lim, w := sizeOf(x)
		ny, _, _ := sizeOf(y)
		if nx < 0 || ny < 0 {
			return nil
		}
		n, limit, what = nx+ny, lim, w
	case syntax.STAR:
		seq, count := x, y
		if _, ok := x.(starlark.Int); ok {
			seq, count = y, x
		}
		c, ok := count.(starlark.Int)
		if !ok {
			return nil
		}
		len, lim, w := sizeOf(seq)
		if len <= 0 {
			return nil
		}
		limit, what = lim, w
		k, ok := c.Int64()
		if !ok {
			return fmt.Errorf("* would make "+what+", more than the limit of %d", c, limit)
		}
		hi, lo := bits.Mul64(uint64(len), uint64(max(k, 0)))
		if hi != 0 || lo > math.MaxInt64 {
			return fmt.Errorf("* would make "+what+", more than the limit of %d", c.Mul(starlark.MakeInt64(len)), limit)
		}
		n = int64(lo)
	}
	sym := map[syntax.Token]string{syntax.PLUS: "+", syntax.STAR: "*"}[op]
	if n > limit {
		return fmt.Errorf("%s would make "+what+", more than the limit of %d", sym, n, limit)
	}
	// Within the limit, a result may still be large: [0] * (1 << 24)
	// twenty times in one comprehension is 5 GB in a few steps. It costs
	// steps, and must fit in the heap budget, now.
	size := n
	if limit == MaxElements {
		size *= 16 // an element's slot
	}
	charge(thread, int(size))
	if err := reserve(thread, int(size)); err != nil {
		return fmt.Errorf("%s: %v", sym, err)
	}
	return nil
}

// iterating are the universal builtins that walk or copy a whole sequence
// in one call.
var iterating = []string{"list", "tuple", "dict", "sorted", "reversed", "enumerate", "zip", "min", "max", "any", "all", "bytes"}

// checkedUniverse returns wrappers of the iterating builtins that refuse an
// argument with more than MaxElements elements (range(1 << 40), say), which
// would otherwise run for hours or claim all memory in a single step.
func checkedUniverse() starlark.StringDict {
	d := make(starlark.StringDict, len(iterating))
	for _, name := range iterating {
		orig := starlark.Universe[name].(*starlark.Builtin)
		d[name] = starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			for _, a := range args {
				if s, ok := a.(starlark.Sequence); ok {
					if n := s.Len(); n > MaxElements || n < 0 {
						return nil, fmt.Errorf("%s: argument of %d elements is too large (the limit is %d)", name, n, MaxElements)
					}
				}
			}
			return orig.CallInternal(thread, args, kwargs) // no frame of its own: errors point at the call
		})
	}
	return d
}

// percentName is the builtin that computes "literal" % y (see format).
const percentName = "bpfstar.format"

// format computes x % y, the same as Starlark does, but without fmt and
// math/big when x is a string with one %d and no other %, and y an int of
// 64 bits: "L%d" % i, a macro's way of naming a label, takes a tenth of the
// time.
func format(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	x, y := args[0], args[1]
	if s, ok := x.(starlark.String); ok {
		if i, ok := y.(starlark.Int); ok {
			if v, ok := i.Int64(); ok {
				pre, post, ok := strings.Cut(string(s), "%d")
				if ok && strings.IndexByte(pre, '%') < 0 && strings.IndexByte(post, '%') < 0 {
					var digits [20]byte
					d := strconv.AppendInt(digits[:0], v, 10)
					var sb strings.Builder
					sb.Grow(len(pre) + len(d) + len(post))
					sb.WriteString(pre)
					sb.Write(d)
					sb.WriteString(post)
					return starlark.String(sb.String()), nil
				}
			}
		}
	}
	if s, ok := x.(starlark.String); ok {
		// A format of any kind: the result holds the format and the
		// text of the arguments.
		_, _, size := measure(y)
		size += len(s)
		charge(thread, size)
		if size > MaxStringBytes {
			return nil, fmt.Errorf("%%: the result would have more than %d bytes, the limit", MaxStringBytes)
		}
		if err := reserve(thread, size); err != nil {
			return nil, fmt.Errorf("%%: %v", err)
		}
	}
	return starlark.Binary(syntax.PERCENT, x, y)
}

// limitPredeclared adds to d the names the rewritten syntax tree calls.
func limitPredeclared(d starlark.StringDict) {
	d[percentName] = starlark.NewBuiltin(percentName, format)
	d[methodName] = starlark.NewBuiltin(methodName, checkedMethod)
	for op, name := range binaryNames {
		d[name] = checkedBinary(op)
		d[name+"="] = checkedOperand(op)
	}
	for name, b := range checkedUniverse() {
		d[name] = b
	}
	for _, name := range []string{"str", "repr"} {
		d[name] = checkedPrint(starlark.Universe[name].(*starlark.Builtin))
	}
}

// rewriteOps replaces each x + y and x * y in f by a call of a builtin that
// checks the size of the result first, and each x += y, x *= y by
// x += check(x, y); and "literal" % y by a call of format. The calls carry the position of the operator, so
// errors point at it.
func rewriteOps(f *syntax.File) error {
	var r rewriter
	r.stmts(f.Stmts)
	return r.err
}

type rewriter struct {
	err error // the first statement the limits cannot check
}

func (r *rewriter) stmts(ss []syntax.Stmt) {
	for _, s := range ss {
		r.stmt(s)
	}
}

func (r *rewriter) stmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		// Copy the target before rewriting it: the check reads it as
		// written.
		var lhs syntax.Expr
		if s.Op == syntax.PLUS_EQ || s.Op == syntax.STAR_EQ {
			lhs = pureCopy(s.LHS)
		}
		if (s.Op == syntax.PLUS_EQ || s.Op == syntax.STAR_EQ) && lhs == nil && !isNumber(s.RHS) && r.err == nil {
			// x[f()] += y: the check would read the target again, and
			// call f again; without it, l[k()] += l[k()] could double a
			// list past every limit.
			r.err = &asm.Error{Pos: toPos(s.OpPos), Msg: "an augmented assignment (+=, *=) to a target that calls a function: write it as an assignment, with the target in a variable"}
		}
		s.LHS = r.expr(s.LHS)
		s.RHS = r.expr(s.RHS)
		if lhs != nil {
			op := syntax.PLUS
			if s.Op == syntax.STAR_EQ {
				op = syntax.STAR
			}
			s.RHS = callOf(binaryNames[op]+"=", s.OpPos, r.expr(lhs), s.RHS)
		}
	case *syntax.DefStmt:
		r.params(s.Params)
		r.stmts(s.Body)
	case *syntax.ExprStmt:
		s.X = r.expr(s.X)
	case *syntax.IfStmt:
		s.Cond = r.expr(s.Cond)
		r.stmts(s.True)
		r.stmts(s.False)
	case *syntax.ForStmt:
		s.Vars = r.expr(s.Vars)
		s.X = r.expr(s.X)
		r.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = r.expr(s.Cond)
		r.stmts(s.Body)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = r.expr(s.Result)
		}
	}
}

func (r *rewriter) params(ps []syntax.Expr) {
	for _, p := range ps {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = r.expr(b.Y)
		}
	}
}

func (r *rewriter) exprs(es []syntax.Expr) {
	for i := range es {
		es[i] = r.expr(es[i])
	}
}

func (r *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.BinaryExpr:
		if e.Op == syntax.EQ { // f(k=v)
			e.Y = r.expr(e.Y)
			return e
		}
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
		if name, ok := binaryNames[e.Op]; ok && !(e.Op == syntax.PLUS && (isNumber(e.X) || isNumber(e.Y))) {
			return callOf(name, e.OpPos, e.X, e.Y)
		}
		if e.Op == syntax.PERCENT && !isNumber(e.X) {
			return callOf(percentName, e.OpPos, e.X, e.Y)
		}
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = r.expr(e.X)
		}
	case *syntax.ParenExpr:
		e.X = r.expr(e.X)
	case *syntax.CallExpr:
		e.Fn = r.expr(e.Fn)
		r.exprs(e.Args)
		// x.replace(a, b) -> bpfstar.method(x, "replace", a, b) (see
		// methods.go).
		if d, ok := e.Fn.(*syntax.DotExpr); ok && checkedMethods[d.Name.Name] {
			name := &syntax.Literal{Token: syntax.STRING, TokenPos: d.NamePos, Raw: strconv.Quote(d.Name.Name), Value: d.Name.Name}
			args := append([]syntax.Expr{d.X, name}, e.Args...)
			return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: e.Lparen, Name: methodName}, Lparen: e.Lparen, Args: args, Rparen: e.Rparen}
		}
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
	case *syntax.IndexExpr:
		e.X, e.Y = r.expr(e.X), r.expr(e.Y)
	case *syntax.SliceExpr:
		e.X = r.expr(e.X)
		for _, p := range []*syntax.Expr{&e.Lo, &e.Hi, &e.Step} {
			if *p != nil {
				*p = r.expr(*p)
			}
		}
	case *syntax.ListExpr:
		r.exprs(e.List)
	case *syntax.TupleExpr:
		r.exprs(e.List)
	case *syntax.DictExpr:
		for _, x := range e.List {
			if d, ok := x.(*syntax.DictEntry); ok {
				d.Key, d.Value = r.expr(d.Key), r.expr(d.Value)
			}
		}
	case *syntax.CondExpr:
		e.Cond, e.True, e.False = r.expr(e.Cond), r.expr(e.True), r.expr(e.False)
	case *syntax.LambdaExpr:
		r.params(e.Params)
		e.Body = r.expr(e.Body)
	case *syntax.Comprehension:
		e.Body = r.expr(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.Vars, c.X = r.expr(c.Vars), r.expr(c.X)
			case *syntax.IfClause:
				c.Cond = r.expr(c.Cond)
			}
		}
	}
	return e
}

// isNumber reports whether e is a number literal: x + 1 cannot make a
// sequence, so it needs no check (and stays fast).
func isNumber(e syntax.Expr) bool {
	l, ok := e.(*syntax.Literal)
	return ok && (l.Token == syntax.INT || l.Token == syntax.FLOAT)
}

func callOf(name string, pos syntax.Position, args ...syntax.Expr) syntax.Expr {
	return &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: name}, Lparen: pos, Args: args, Rparen: pos}
}

// pureCopy returns a copy of the target of an augmented assignment if
// reading it again has no effects (it calls nothing), else nil.
func pureCopy(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		return &syntax.Ident{NamePos: e.NamePos, Name: e.Name}
	case *syntax.Literal:
		c := *e
		return &c
	case *syntax.ParenExpr:
		if x := pureCopy(e.X); x != nil {
			return &syntax.ParenExpr{Lparen: e.Lparen, X: x, Rparen: e.Rparen}
		}
	case *syntax.DotExpr:
		if x := pureCopy(e.X); x != nil {
			return &syntax.DotExpr{X: x, Dot: e.Dot, NamePos: e.NamePos, Name: &syntax.Ident{NamePos: e.Name.NamePos, Name: e.Name.Name}}
		}
	case *syntax.IndexExpr:
		x, y := pureCopy(e.X), pureCopy(e.Y)
		if x != nil && y != nil {
			return &syntax.IndexExpr{X: x, Lbrack: e.Lbrack, Y: y, Rbrack: e.Rbrack}
		}
	case *syntax.UnaryExpr:
		if e.X == nil {
			return nil
		}
		if x := pureCopy(e.X); x != nil {
			return &syntax.UnaryExpr{OpPos: e.OpPos, Op: e.Op, X: x}
		}
	case *syntax.BinaryExpr:
		x, y := pureCopy(e.X), pureCopy(e.Y)
		if x != nil && y != nil {
			return &syntax.BinaryExpr{X: x, OpPos: e.OpPos, Op: e.Op, Y: y}
		}
	}
	return nil
}

// heapBytes returns the bytes of live and not yet collected heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// limitThread makes thread stop after maxSteps steps, and when the heap
// grows past maxMemory bytes (looked at every memoryCheckSteps steps).
func limitThread(thread *starlark.Thread, maxSteps, maxMemory uint64) {
	thread.SetLocal(limitsKey, &limits{maxMemory: maxMemory})
	next := func() { thread.SetMaxExecutionSteps(min(maxSteps, thread.Steps+memoryCheckSteps)) }
	thread.OnMaxSteps = func(thread *starlark.Thread) {
		if thread.Steps >= maxSteps {
			thread.Cancel("too many steps")
			return
		}
		if heapBytes() > maxMemory {
			runtime.GC()
			if heapBytes() > maxMemory {
				thread.Cancel(fmt.Sprintf("out of memory: the program file uses more than %d MiB, the limit", maxMemory>>20))
				return
			}
		}
		next()
	}
	next()
}

func indexPath(path []int) string {
	var b strings.Builder
	for _, i := range path {
		fmt.Fprintf(&b, "[%d]", i)
	}
	return b.String()
}

// execFile runs a program file on thread, with the limits above.
// predeclared are the names the file sees (with limitPredeclared's).
func execFile(thread *starlark.Thread, predeclared starlark.StringDict, filename string, src []byte) (starlark.StringDict, error) {
	if err := checkText(filename, src); err != nil {
		return nil, err
	}
	f, err := FileOptions().Parse(filename, src, 0)
	if err != nil {
		return nil, err
	}
	if err := CheckNesting(f); err != nil {
		return nil, err
	}
	if err := rewriteOps(f); err != nil {
		return nil, err
	}
	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		return nil, err
	}
	g, err := prog.Init(thread, predeclared)
	g.Freeze()
	return g, err
}

// sizeWalk counts the instructions and labels of a nested list for
// checkSize.
type sizeWalk struct {
	insns, labels, visits, maxVisits int
	lists                            []*starlark.List // the lists being walked, outermost first
	path                             []int            // the index path to the value being walked
	cycle                            string
}

// walk counts v and what it holds, and reports whether to go on.
func (w *sizeWalk) walk(v starlark.Value, depth int) bool {
	if w.visits++; w.visits > w.maxVisits || w.insns > asm.MaxInstructions || w.labels > asm.MaxInstructions {
		return false
	}
	switch v := v.(type) {
	case *Insn, *LinkInsn, *MetaInsn:
		w.insns++
	case *Label:
		w.labels++
	case *starlark.List:
		if i := slices.Index(w.lists, v); i >= 0 {
			w.cycle = fmt.Sprintf("insns%s is the list insns%s itself: a list that contains itself has no end", indexPath(w.path), indexPath(w.path[:i]))
			return false
		}
		w.lists = append(w.lists, v)
		ok := w.items(v, depth)
		w.lists = w.lists[:len(w.lists)-1]
		return ok
	case starlark.Tuple:
		return w.items(v, depth)
	}
	return true
}

func (w *sizeWalk) items(seq starlark.Indexable, depth int) bool {
	if depth >= maxNesting {
		return true // flatten reports it
	}
	for i, n := 0, seq.Len(); i < n; i++ {
		x := seq.Index(i)
		// Instructions, the most common case, counted without a call.
		if _, ok := x.(*Insn); ok {
			if w.visits++; w.visits > w.maxVisits || w.insns > asm.MaxInstructions || w.labels > asm.MaxInstructions {
				return false
			}
			w.insns++
			continue
		}
		w.path = append(w.path, i)
		if !w.walk(x, depth+1) {
			return false
		}
		w.path = w.path[:len(w.path)-1]
	}
	return true
}

// checkSize refuses an instruction list (the insns of section or function
// what) too large for the kernel, or for the file's budget, before it is
// flattened. It stops counting at the limit, so that a list repeated into
// itself costs no more than a list of the limit's size.
// It returns the number of instructions.
func (u *unit) checkSize(b *starlark.Builtin, what string, v starlark.Value) (int, error) {
	w := sizeWalk{maxVisits: 4 * asm.MaxInstructions}
	w.walk(v, 0)
	insns, labels, visits, maxVisits, cycle := w.insns, w.labels, w.visits, w.maxVisits, w.cycle
	switch {
	case cycle != "":
		return 0, errorf(b, "%s", cycle)
	case insns > asm.MaxInstructions:
		return 0, errorf(b, "%s has more than %d instructions, the kernel's limit", what, asm.MaxInstructions)
	case labels > asm.MaxInstructions:
		return 0, errorf(b, "%s has more than %d labels", what, asm.MaxInstructions)
	case visits > maxVisits:
		return 0, errorf(b, "%s is made of more than %d lists and items", what, maxVisits)
	case u.items+insns+labels > MaxFileInstructions:
		return 0, errorf(b, "the programs and functions of this file have more than %d instructions and labels together", MaxFileInstructions)
	}
	u.items += insns + labels
	return insns, nil
}
