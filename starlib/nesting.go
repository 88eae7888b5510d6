package starlib

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
)

// MaxNesting is how deep the syntax tree of a file may be: statements in
// statements, expressions in expressions. An operator chain such as
// 1+1+...+1 is as deep as it is long. go.starlark.net's resolver and
// compiler (and bpfstar's own passes) recurse over the tree: a tree of
// millions of levels would exhaust the goroutine's stack, a fatal error
// that no recover() catches. 100,000 levels need a few tens of MB of stack.
const MaxNesting = 100_000

// CheckNesting reports a syntax tree deeper than MaxNesting, at the node
// that goes past it. It walks the tree with a stack of its own, so that it
// does not overflow where the others would. Program files are checked by
// Exec; workspaces check BUILD files with it.
func CheckNesting(f *syntax.File) error { return CheckNestingMax(f, MaxNesting) }

// CheckNestingMax is CheckNesting with a depth of max: bpfstar fmt, whose
// printer takes time quadratic in the length of an operator chain, allows
// less.
func CheckNestingMax(f *syntax.File, max int) error {
	type item struct {
		n     syntax.Node
		depth int
	}
	stack := make([]item, 0, 64)
	push := func(depth int, ns ...syntax.Node) {
		for i := len(ns) - 1; i >= 0; i-- {
			if ns[i] != nil {
				stack = append(stack, item{ns[i], depth})
			}
		}
	}
	pushExprs := func(depth int, xs []syntax.Expr) {
		for i := len(xs) - 1; i >= 0; i-- {
			if xs[i] != nil {
				stack = append(stack, item{xs[i], depth})
			}
		}
	}
	pushStmts := func(depth int, ss []syntax.Stmt) {
		for i := len(ss) - 1; i >= 0; i-- {
			stack = append(stack, item{ss[i], depth})
		}
	}
	pushStmts(1, f.Stmts)
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > max {
			pos, _ := it.n.Span()
			return &asm.Error{Pos: toPos(pos), Msg: fmt.Sprintf("expressions and statements nested more than %d deep (a chain of %d operators is as deep as it is long): split it", max, max)}
		}
		d := it.depth + 1
		switch n := it.n.(type) {
		case *syntax.ExprStmt:
			push(d, n.X)
		case *syntax.IfStmt:
			push(d, n.Cond)
			pushStmts(d, n.True)
			pushStmts(d, n.False)
		case *syntax.AssignStmt:
			push(d, n.LHS, n.RHS)
		case *syntax.DefStmt:
			pushExprs(d, n.Params)
			pushStmts(d, n.Body)
		case *syntax.ForStmt:
			push(d, n.Vars, n.X)
			pushStmts(d, n.Body)
		case *syntax.WhileStmt:
			push(d, n.Cond)
			pushStmts(d, n.Body)
		case *syntax.ReturnStmt:
			if n.Result != nil {
				push(d, n.Result)
			}
		case *syntax.ListExpr:
			pushExprs(d, n.List)
		case *syntax.TupleExpr:
			pushExprs(d, n.List)
		case *syntax.DictExpr:
			pushExprs(d, n.List)
		case *syntax.DictEntry:
			push(d, n.Key, n.Value)
		case *syntax.ParenExpr:
			push(d, n.X)
		case *syntax.CondExpr:
			push(d, n.Cond, n.True, n.False)
		case *syntax.IndexExpr:
			push(d, n.X, n.Y)
		case *syntax.SliceExpr:
			for _, x := range []syntax.Expr{n.X, n.Lo, n.Hi, n.Step} {
				if x != nil {
					push(d, x)
				}
			}
		case *syntax.Comprehension:
			push(d, n.Body)
			for _, c := range n.Clauses {
				push(d, c)
			}
		case *syntax.IfClause:
			push(d, n.Cond)
		case *syntax.ForClause:
			push(d, n.Vars, n.X)
		case *syntax.UnaryExpr:
			if n.X != nil {
				push(d, n.X)
			}
		case *syntax.BinaryExpr:
			push(d, n.X, n.Y)
		case *syntax.DotExpr:
			push(d, n.X)
		case *syntax.CallExpr:
			push(d, n.Fn)
			pushExprs(d, n.Args)
		case *syntax.LambdaExpr:
			pushExprs(d, n.Params)
			push(d, n.Body)
		}
	}
	return nil
}

// Limit makes the Starlark file f, about to run on thread with predeclared
// names, keep to the limits of program files: it rewrites + and * (and %
// of a literal) into calls of checked builtins, which it adds to
// predeclared with the checked versions of the universe builtins that
// copy whole sequences, and bounds thread to maxSteps steps and maxMemory
// bytes of heap (0: DefaultMaxSteps, DefaultMaxMemory). It refuses what
// the limits cannot check (an augmented assignment to a target that calls
// a function). Call it after CheckNesting. Workspaces run BUILD files with
// it.
func Limit(thread *starlark.Thread, f *syntax.File, predeclared starlark.StringDict, maxSteps, maxMemory uint64) error {
	if maxSteps == 0 {
		maxSteps = DefaultMaxSteps
	}
	if maxMemory == 0 {
		maxMemory = DefaultMaxMemory
	}
	if err := rewriteOps(f); err != nil {
		return err
	}
	limitPredeclared(predeclared)
	limitThread(thread, maxSteps, maxMemory)
	return nil
}
