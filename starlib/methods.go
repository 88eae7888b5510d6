package starlib

import (
	"fmt"
	"runtime"
	"strings"

	"go.starlark.net/starlark"
)

// Bounding the methods of strings, bytes, lists and dicts
//
// One Starlark step can be a method call that touches a quarter of a
// gigabyte (s.count("b") of a 256 MiB string) or makes several gigabytes
// (s.replace("a", "a" * 12), "".join(...), l.extend(l)). The step limit
// would then bound neither time nor memory, and the heap, looked at every
// few thousand steps, would be looked at too late. So the rewriter turns
// every call of such a method, x.replace(a, b), into a call of
// bpfstar.method(x, "replace", a, b), which before calling the method
//
//   - charges the thread one step for every methodStepBytes bytes (or
//     elements) the method reads or writes, so that the same file fails
//     at the same step on every machine, and the default step budget means
//     a bounded amount of work;
//   - computes the size of the result (counting, where it depends on the
//     contents) and refuses one past MaxStringBytes or MaxElements, or one
//     that would take the heap past the memory limit.
//
// The method itself then runs as Starlark's own: results and errors are
// Starlark's. str() and repr() are checked alike (checkedUniverse).

// methodName is the builtin that rewritten method calls call.
const methodName = "bpfstar.method"

// methodStepBytes is how many bytes or elements a method may touch for one
// step: 200M steps, the default budget, then allow 12.8 GB of work.
const methodStepBytes = 64

// checkedMethods are the methods whose calls are rewritten: the ones whose
// work or result grows with their receiver or arguments.
var checkedMethods = map[string]bool{
	// strings and bytes
	"replace": true, "split": true, "rsplit": true, "splitlines": true, "join": true,
	"count": true, "find": true, "rfind": true, "index": true, "rindex": true,
	"format": true, "upper": true, "lower": true, "title": true, "capitalize": true,
	"swapcase": true, "strip": true, "lstrip": true, "rstrip": true,
	"partition": true, "rpartition": true, "removeprefix": true, "removesuffix": true,
	"elems": true, "elem_ords": true, "codepoints": true, "codepoint_ords": true,
	"startswith": true, "endswith": true, "isalnum": true, "isalpha": true,
	"isdigit": true, "islower": true, "isspace": true, "istitle": true, "isupper": true,
	// lists and dicts
	"extend": true, "insert": true, "remove": true, "pop": true, "update": true,
	"values": true, "items": true, "keys": true,
}

// limits are the memory limit of an evaluation, for the checked methods.
type limits struct {
	maxMemory uint64
}

const limitsKey = "bpfstar.limits"

// charge adds to the thread's steps the cost of touching n bytes or
// elements.
func charge(thread *starlark.Thread, n int) {
	if thread != nil && n > 0 {
		thread.Steps += uint64(n) / methodStepBytes
	}
}

// reserve refuses to make size more bytes when the heap would then pass
// the evaluation's memory limit.
func reserve(thread *starlark.Thread, size int) error {
	if thread == nil {
		return nil
	}
	lim, ok := thread.Local(limitsKey).(*limits)
	if !ok || size < 1<<20 {
		return nil // small: the periodic heap check is enough
	}
	if heapBytes()+uint64(size) > lim.maxMemory {
		runtime.GC() // the heap counts garbage until it is collected
	}
	if heapBytes()+uint64(size) > lim.maxMemory {
		return fmt.Errorf("out of memory: a result of %d MiB would take the program file past %d MiB, the limit", size>>20, lim.maxMemory>>20)
	}
	return nil
}

// checkedMethod is bpfstar.method(x, name, args...): the method name of x,
// called with args once its cost is charged and its result checked (see
// above).
func checkedMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	recv, name := args[0], string(args[1].(starlark.String))
	rest := args[2:]
	attr, err := getattr(recv, name)
	if err != nil {
		return nil, err
	}
	if err := precheck(thread, recv, name, rest); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if bi, ok := attr.(*starlark.Builtin); ok {
		return bi.CallInternal(thread, rest, kwargs) // no frame of its own: errors point at the call
	}
	return starlark.Call(thread, attr, rest, kwargs)
}

// textOf returns the contents of a string or bytes value.
func textOf(v starlark.Value) (string, bool) {
	switch v := v.(type) {
	case starlark.String:
		return string(v), true
	case starlark.Bytes:
		return string(v), true
	}
	return "", false
}

// precheck charges the cost of calling method name of recv with args and
// refuses a result too large.
func precheck(thread *starlark.Thread, recv starlark.Value, name string, args starlark.Tuple) error {
	if s, ok := textOf(recv); ok {
		charge(thread, len(s))
		arg := func(i int) (string, bool) {
			if i < len(args) {
				return textOf(args[i])
			}
			return "", false
		}
		switch name {
		case "replace":
			old, ok1 := arg(0)
			repl, ok2 := arg(1)
			if !ok1 || !ok2 || len(repl) <= len(old) {
				return reserve(thread, len(s))
			}
			n := strings.Count(s, old)
			size := len(s) + n*(len(repl)-len(old))
			if old == "" || size > MaxStringBytes || size < 0 {
				if size <= MaxStringBytes && size >= 0 {
					return reserve(thread, size)
				}
				return fmt.Errorf("the result would have more than %d bytes, the limit", MaxStringBytes)
			}
			charge(thread, size)
			return reserve(thread, size)
		case "split", "rsplit", "splitlines", "elems", "elem_ords", "codepoints", "codepoint_ords":
			// At most a value of 16 bytes (and its list slot) a byte.
			n := len(s) + 1
			if sep, ok := arg(0); ok && sep != "" && name != "splitlines" {
				n = strings.Count(s, sep) + 1
			}
			if n > MaxElements {
				return fmt.Errorf("the result would have more than %d elements, the limit", MaxElements)
			}
			charge(thread, 16*n)
			return reserve(thread, 48*n)
		case "join":
			if len(args) == 0 {
				return nil
			}
			seq, ok := args[0].(starlark.Indexable)
			if !ok {
				return nil
			}
			n := seq.Len()
			size := len(s) * max(n-1, 0)
			for i := 0; i < n && size <= MaxStringBytes; i++ {
				if t, ok := textOf(seq.Index(i)); ok {
					size += len(t)
				}
			}
			charge(thread, n+size)
			if size > MaxStringBytes {
				return fmt.Errorf("the result would have more than %d bytes, the limit", MaxStringBytes)
			}
			return reserve(thread, size)
		case "format":
			return reserve(thread, len(s))
		case "upper", "lower", "title", "capitalize", "swapcase", "strip", "lstrip", "rstrip",
			"partition", "rpartition", "removeprefix", "removesuffix":
			charge(thread, len(s))
			return reserve(thread, len(s))
		}
		return nil
	}
	switch recv := recv.(type) {
	case *starlark.List:
		charge(thread, recv.Len())
		if name == "extend" && len(args) > 0 {
			if seq, ok := args[0].(starlark.Sequence); ok {
				n := seq.Len()
				if recv.Len()+n > MaxElements || n < 0 {
					return fmt.Errorf("the list would have more than %d elements, the limit", MaxElements)
				}
				charge(thread, n)
				return reserve(thread, 16*(recv.Len()+n))
			}
		}
	case *starlark.Dict:
		charge(thread, recv.Len())
		if name == "update" && len(args) > 0 {
			if seq, ok := args[0].(starlark.Sequence); ok {
				if recv.Len()+seq.Len() > MaxElements {
					return fmt.Errorf("the dict would have more than %d entries, the limit", MaxElements)
				}
				charge(thread, seq.Len())
			}
		}
	}
	return nil
}

// getattr is x.name, with Starlark's messages.
func getattr(x starlark.Value, name string) (starlark.Value, error) {
	h, ok := x.(starlark.HasAttrs)
	if !ok {
		return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
	}
	v, err := h.Attr(name)
	if err != nil {
		if _, ok := err.(starlark.NoSuchAttrError); !ok {
			return nil, err
		}
	}
	if v != nil {
		return v, nil
	}
	msg := fmt.Sprintf("%s has no .%s field or method", x.Type(), name)
	if err != nil {
		msg = err.Error()
	}
	if n := nearest(name, h.AttrNames()); n != "" {
		msg += fmt.Sprintf(" (did you mean .%s?)", n)
	}
	return nil, fmt.Errorf("%s", msg)
}

// maxPrintDepth is how deeply nested a value str() and repr() print:
// go.starlark.net's printer checks each level against the ones above it
// (for cycles), in time quadratic in the depth (80k levels: 7.5 s).
const maxPrintDepth = 1000

// checkedPrint wraps str or repr: the value's elements are counted and
// charged, and a value nested past maxPrintDepth is refused.
func checkedPrint(orig *starlark.Builtin) *starlark.Builtin {
	return starlark.NewBuiltin(orig.Name(), func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) == 1 {
			n, depth, size := measure(args[0])
			charge(thread, 16*n+size)
			if depth > maxPrintDepth {
				return nil, fmt.Errorf("%s: a value nested more than %d deep", b.Name(), maxPrintDepth)
			}
			if size > MaxStringBytes {
				return nil, fmt.Errorf("%s: the result would have more than %d bytes, the limit", b.Name(), MaxStringBytes)
			}
			if err := reserve(thread, size); err != nil {
				return nil, fmt.Errorf("%s: %v", b.Name(), err)
			}
		}
		return orig.CallInternal(thread, args, kwargs)
	})
}

// measure walks v (lists, tuples, dicts and what they hold, each value
// once) without recursion and returns the number of values, the deepest
// nesting and a lower bound of the bytes its text takes. It stops past
// maxPrintDepth levels or MaxElements values.
func measure(v starlark.Value) (n, depth, size int) {
	type item struct {
		v     starlark.Value
		depth int
	}
	seen := map[starlark.Value]bool{}
	stack := []item{{v, 1}}
	for len(stack) > 0 && n <= MaxElements && depth <= maxPrintDepth {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		depth = max(depth, it.depth)
		switch x := it.v.(type) {
		case starlark.String:
			size += len(x) + 2
		case starlark.Bytes:
			size += len(x) + 3
		case *starlark.List, starlark.Tuple, *starlark.Dict:
			if _, ok := x.(starlark.Tuple); !ok {
				if seen[x] {
					continue // printed as [...]
				}
				seen[x] = true
			}
			size += 2
			if d, ok := x.(*starlark.Dict); ok {
				for _, kv := range d.Items() {
					stack = append(stack, item{kv[0], it.depth + 1}, item{kv[1], it.depth + 1})
				}
				continue
			}
			seq := x.(starlark.Indexable)
			for i := 0; i < seq.Len(); i++ {
				stack = append(stack, item{seq.Index(i), it.depth + 1})
			}
		default:
			size++
		}
	}
	return n, depth, size
}
