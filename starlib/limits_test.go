package starlib

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The rewritten + and * keep Starlark's semantics.
func TestCheckedOpsSemantics(t *testing.T) {
	src := `
l = [1]
alias = l
l += [2]
s = "a"
s += "b"
s *= 2
d = {"k": [1]}
d["k"] += [2]
d["k"] *= 2
def f(x, y=2 * 3):
    return [x + y] * 2 + (lambda z: z * 2)(3) * [0]
checks = [
    alias == [1, 2],
    s == "abab",
    d["k"] == [1, 2, 1, 2],
    [1] * 3 == [1, 1, 1],
    3 * [1] == [1, 1, 1],
    (1,) * 2 + (3,) == (1, 1, 3),
    "ab" * 2 + "c" == "ababc",
    b"x" * 2 == b"xx",
    [x * 2 + 1 for x in range(3) if x + 0 < 2] == [1, 3],
    f(1) == [7, 7, 0, 0, 0, 0, 0, 0],
    2 + 3 * 4 == 14,
    1.5 * 2 == 3.0,
    [1] * -1 == [],
    list(range(3)) + list((4,)) == [0, 1, 2, 4],
]
for i, ok in enumerate(checks):
    if not ok:
        fail("check %d failed" % i)
section("xdp", "p", [exit()])
`
	if _, err := Exec("p.star", []byte(src), Options{}); err != nil {
		t.Fatal(err)
	}
}

// Operations that would claim too much memory in one step are refused at
// the operator or call, before they allocate.
func TestLimits(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = [exit()] * (1 << 25)", "p.star:1:14: * would make a list of 33554432 elements, more than the limit of 16777216"},
		{"x = (1 << 25) * [exit()]", "p.star:1:15: * would make a list of 33554432 elements"},
		{"x = [exit()] * 100000000000", "p.star:1:14: * would make a list of 100000000000 elements"},
		{"x = [exit()] * (1 << 64)", "p.star:1:14: * would make a list of 18446744073709551616 elements"},
		{"x = [exit(), exit()] * ((1 << 63) - 1)", "p.star:1:22: * would make a list of 18446744073709551614 elements"},
		{`x = "x" * (1 << 40)`, "p.star:1:9: * would make a string of 1099511627776 bytes, more than the limit of 268435456"},
		{`x = b"x" * (1 << 29)`, "p.star:1:10: * would make a bytes value of 536870912 bytes"},
		{"x = [1, 2] * (1 << 24)", "p.star:1:12: * would make a list of 33554432 elements"},
		{"x = (1,) * (1 << 25)", "p.star:1:10: * would make a tuple of 33554432 elements"},
		{"x = [0] * (1 << 23)\nx = x + x + x", "p.star:2:11: + would make a list of 25165824 elements"},
		{"x = [0] * (1 << 23)\nx += x\nx += x", "p.star:3:3: + would make a list of 33554432 elements"},
		{"x = [0] * (1 << 23)\nx *= 4", "p.star:2:3: * would make a list of 33554432 elements"},
		{"d = {'k': [0] * (1 << 23)}\nd['k'] *= 3", "p.star:2:8: * would make a list of 25165824 elements"},
		{"x = list(range(1 << 40))", "p.star:1:9: list: argument of 1099511627776 elements is too large (the limit is 16777216)"},
		{"x = sorted(range(1 << 30))", "p.star:1:11: sorted: argument of 1073741824 elements is too large"},
		{"x = max(range(1 << 60))", "p.star:1:8: max: argument of 1152921504606846976 elements is too large"},
		{"x = [exit()] * 1000001\nsection('xdp', 'p', x)", `p.star:2:8: section: program "p" has more than 1000000 instructions, the kernel's limit`},
		{"x = [[]]\nfor i in range(60):\n    x = [x, x]\nsection('xdp', 'p', x)", `p.star:4:8: section: program "p" is made of more than 4000000 lists and items`},
		{"x = [label('l')] * 1000001 + [exit()]\nfunction('f', x)", `p.star:2:9: function: function "f" has more than 1000000 labels`},
		{"x = [exit()] * 1000000\nfor i in range(5):\n    section('xdp', 'p%d' % i, x)", "p.star:3:12: section: the programs and functions of this file have more than 4000000 instructions and labels together"},
		{"x = 'a\x00'", "p.star:1:7: not a program file: it contains a NUL byte (is it a binary file?)"},
		{"x = 1\n# caf\xe9\n", "p.star:2:6: not a program file: invalid UTF-8 (byte 0xe9); program files are UTF-8 text"},
		{"l = []\nfor i in range(100000000):\n    l.append('x' * 1000)", "p.star:3:"},
	} {
		// A heap budget that the size limits, not the reservation of
		// large results, run into first; 256 MiB for the last case.
		mem := uint64(1 << 30)
		if strings.Contains(tc.want, "out of memory") {
			mem = 256 << 20
		}
		_, err := Exec("p.star", []byte(tc.src), Options{MaxMemory: mem})
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.src, tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %s\nwant %s", tc.src, err, tc.want)
		}
	}
}

// TestFormat checks that the fast path of "literal" % y gives what Starlark
// gives, and that every other case falls back to it.
func TestFormat(t *testing.T) {
	big := starlark.MakeInt64(1 << 62).Mul(starlark.MakeInt(1 << 10))
	for _, c := range []struct {
		x string
		y starlark.Value
	}{
		{"L%d", starlark.MakeInt(7)},
		{"L%d", starlark.MakeInt(-123456)},
		{"%d", starlark.MakeInt64(0x100000001 * 99)},
		{"x%dy", starlark.MakeInt64(-1 << 63)},
		{"L%d", big},
		{"L%d%%", starlark.MakeInt(3)},
		{"L%5d", starlark.MakeInt(3)},
		{"%d %d", starlark.Tuple{starlark.MakeInt(1), starlark.MakeInt(2)}},
		{"%d", starlark.String("a")},
		{"%s", starlark.MakeInt(3)},
		{"no directive", starlark.MakeInt(3)},
		{"%d", starlark.Float(1.5)},
		{"%d", starlark.True},
	} {
		want, werr := starlark.Binary(syntax.PERCENT, starlark.String(c.x), c.y)
		got, gerr := format(nil, nil, starlark.Tuple{starlark.String(c.x), c.y}, nil)
		if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Errorf("%q %% %v = %v, %v; want %v, %v", c.x, c.y, got, gerr, want, werr)
		}
	}
}

// TestMul64 checks that the fast path of int * int gives what Starlark
// gives, and steps aside when the product does not fit.
func TestMul64(t *testing.T) {
	vals := []int64{0, 1, -1, 2, 7, 0x100000001, 83332, -83332, 1 << 31, 1<<31 - 1, -1 << 31, 1 << 32, 3037000499, 3037000500, 1<<62 + 5, 1<<63 - 1, -1 << 63}
	for _, u := range vals {
		for _, v := range vals {
			x, y := starlark.MakeInt64(u), starlark.MakeInt64(v)
			want, err := starlark.Binary(syntax.STAR, x, y)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := mul64(x, y)
			if ok && got.String() != want.String() {
				t.Errorf("mul64(%d, %d) = %v, want %v", u, v, got, want)
			}
			if _, fits := want.(starlark.Int).Int64(); ok != fits {
				t.Errorf("mul64(%d, %d): ok = %v, want %v (product %v)", u, v, ok, fits, want)
			}
		}
	}
	if _, ok := mul64(starlark.MakeInt(2), starlark.String("a")); ok {
		t.Error("mul64 of an int and a string")
	}
}

// A syntax tree deeper than MaxNesting (an operator chain is as deep as it
// is long) is an error at its position; one just within it evaluates. The
// resolver and compiler of go.starlark.net recurse over the tree: 2M
// levels once overflowed the stack, a fatal error.
func TestNesting(t *testing.T) {
	for _, tc := range []struct {
		terms int
		want  string
	}{
		{MaxNesting + 10, "p.star:1:5: expressions and statements nested more than 100000 deep"},
		{2_000_000, "p.star:1:5: expressions and statements nested more than 100000 deep"},
		{MaxNesting - 10, ""},
	} {
		src := "x = " + strings.Repeat("1+", tc.terms-1) + "1\nif x != " + fmt.Sprint(tc.terms) + ":\n    fail(\"sum\")\n"
		_, err := Exec("p.star", []byte(src), Options{})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%d terms: %v", tc.terms, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%d terms: %v, want %s...", tc.terms, err, tc.want)
		}
	}
}

// Methods whose work or result grows with their receiver are charged in
// steps for the bytes they touch and refused a result past the limits,
// before they run: one step can no longer take minutes or gigabytes.
func TestCheckedMethods(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		steps     uint64
		want      string
	}{
		{"replace", "s = \"a\" * (1 << 27)\nx = s.replace(\"a\", \"aaa\")\n", 0, "p.star:2:14: replace: the result would have more than 268435456 bytes, the limit"},
		{"join", "x = \"\".join([\"a\" * (1 << 20)] * 300)\n", 0, "p.star:1:12: join: the result would have more than 268435456 bytes, the limit"},
		{"extend", "l = [0] * (1 << 23)\nl.extend(l)\nl.extend(l)\n", 0, "p.star:3:9: extend: the list would have more than 16777216 elements, the limit"},
		{"extend range", "l = []\nl.extend(range(1 << 40))\n", 0, "p.star:2:9: extend: the list would have more than 16777216 elements, the limit"},
		{"split", "s = \"a,\" * (1 << 24)\nx = s.split(\",\")\n", 0, "p.star:2:12: split: the result would have more than 16777216 elements, the limit"},
		// 128 MiB scanned by count is 2M steps: past a budget of 1M.
		{"count", "s = \"ab\" * (1 << 26)\nn = s.count(\"b\")\nm = s.count(\"a\")\n", 1_000_000, "the program file ran more than 1000000 Starlark steps"},
		{"ok", "s = \"ab\" * 8\nn = s.count(\"b\")\nif n != 8 or s.replace(\"a\", \"\") != \"b\" * 8 or \",\".join([\"x\", \"y\"]) != \"x,y\":\n    fail(\"methods\")\n", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Exec("p.star", []byte(tc.src+"section(\"xdp\", \"p\", [exit()])\n"), Options{MaxSteps: tc.steps})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// str() and repr() of a value nested too deep to print in reasonable time
// are refused at the call.
func TestCheckedPrint(t *testing.T) {
	src := "l = []\nfor i in range(80000):\n    l = [l]\ns = str(l)\n"
	start := time.Now()
	_, err := Exec("p.star", []byte(src), Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "p.star:4:8: str: a value nested more than 1000 deep") {
		t.Errorf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	src = "l = [1, [2, (3, {\"a\": b\"x\"})]]\nif str(l) != '[1, [2, (3, {\"a\": b\"x\"})]]' or repr(\"a\") != '\"a\"':\n    fail(str(l))\nsection(\"xdp\", \"p\", [exit()])\n"
	if _, err := Exec("p.star", []byte(src), Options{}); err != nil {
		t.Error(err)
	}
}

// Results within the size limits still count against the heap budget at
// once: twenty lists of 16M elements made in a few steps are refused, not
// made (5 GB).
func TestLargeResultsReserved(t *testing.T) {
	src := "x = [[0] * (1 << 24) for i in range(20)]\nsection(\"xdp\", \"p\", [exit()])\n"
	_, err := Exec("p.star", []byte(src), Options{MaxMemory: 1 << 30})
	if err == nil || !strings.Contains(err.Error(), "p.star:1:10: *: out of memory: a result of 256 MiB would take the program file past 1024 MiB, the limit") {
		t.Errorf("got %v", err)
	}
}
