package starlib_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/internal/btftest"
)

// libraries are the files of testdata that chunks may load(), by the name
// they are loaded by.
var libraries = map[string]bool{"assert.star": true}

// TestExecFile runs the chunked program files in testdata: test cases that
// are written in Starlark alone, after go.starlark.net's own TestExecFile.
//
// A file testdata/NAME.star.txt is cut into chunks by the lines that are
// exactly "---". Each chunk is built on its own, as a whole program file,
// by compile.Source (evaluation, assembly and link: every error a build can
// report), under the name testdata/NAME.star.txt and padded with blank
// lines so that its positions are those of the whole file. (The files do
// not end in .star: `bpfstar fmt` and TestRepoFormatted check every .star
// file of the repository, and chunked files are not Starlark.)
//
// A chunk whose lines have no "###" must build. A line with
//
//	x = insn.mov64_imm(11, 0)  ### "register 11 out of range"
//
// says that the chunk must fail with an error reported at that line of the
// file, whose message matches the regular expression. The expectation is a
// Go string literal ("..." or `...`), or, when it does not start with a
// quote, the rest of the line taken literally as the regular expression.
// It is matched, unanchored, against the message without its position
// (what follows "FILE:LINE:COL: ") and without the "called from" lines
// that follow it. In the expression, {FILE} stands for the file's name
// (testdata/NAME.star.txt), {LINE} for the number of the line of the
// "###", {LINE-1} for the line before it, {LINE+2} for the second after
// it, and so on, so that positions in messages ("first defined at
// {FILE}:{LINE-1}:12") stay right when lines are added above. The line of
// an error is that of its position, or, when that lies in another file (a
// library), the innermost "called from" line in the chunk's file. A chunk
// has at most one "###". A chunk of only blank lines and comments is not
// built.
//
// A comment "# option:max_steps=N" in a chunk sets compile.Options.MaxSteps.
//
// Checks on values use Starlark: fail(msg) stops the build at the call, or
// the helpers of testdata/assert.star, which a chunk loads with
// load("assert.star", "assert_eq"): load() resolves the libraries below,
// and nothing else, through compile.Options.Load. Every chunk that must
// build needs a program: a build without a section() call fails (at
// FILE:1:1, so that case can only be tested in a file's first chunk).
//
// testdata/README.md says the same for whoever adds a case.
func TestExecFile(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.star.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no test files in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			runChunkedFile(t, filepath.ToSlash(file), data)
		})
	}
}

// reporter is what runChunkedFile reports to: a *testing.T, or a recorder
// in the harness's own test.
type reporter interface {
	Errorf(format string, args ...any)
}

// chunk is a part of a chunked file, as a whole file of its own.
type chunk struct {
	src        string // the chunk, after as many newlines as lines come before it
	start, end int    // its first and last line in the file
	want       *expectation
	opts       compile.Options
}

// expectation is an error a chunk must fail with.
type expectation struct {
	line int
	rx   *regexp.Regexp
}

// lineRE matches {LINE}, {LINE-N} and {LINE+N} in an expected error: the
// number of the line of the ###, plus or minus N.
var lineRE = regexp.MustCompile(`\{LINE([+-]\d+)?\}`)

var optionRE = regexp.MustCompile(`^\s*#\s*option:(\w+)=(\S*)\s*$`)

// splitChunks cuts a chunked file into its chunks, reporting malformed
// expectations and options.
func splitChunks(r reporter, filename string, data []byte) []chunk {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var chunks []chunk
	start := 1 // the line the current chunk starts at
	for i := 0; i <= len(lines); i++ {
		if i < len(lines) && strings.TrimSuffix(lines[i], "\r") != "---" {
			continue
		}
		c := chunk{start: start, end: i, opts: compile.Options{Load: loadLibrary, ReadFile: readData}}
		body := lines[start-1 : i]
		c.src = strings.Repeat("\n", start-1) + strings.Join(body, "\n") + "\n"
		for j, line := range body {
			n := start + j
			if m := optionRE.FindStringSubmatch(line); m != nil {
				switch m[1] {
				case "max_steps":
					v, err := strconv.ParseUint(m[2], 10, 64)
					if err != nil || v == 0 {
						r.Errorf("\n%s:%d: option:max_steps wants a positive integer, not %q", filename, n, m[2])
					}
					c.opts.MaxSteps = v
				default:
					r.Errorf("\n%s:%d: unknown option %q (known: max_steps)", filename, n, m[1])
				}
			}
			_, after, ok := strings.Cut(line, "###")
			if !ok {
				continue
			}
			if c.want != nil {
				r.Errorf("\n%s:%d: a second expected error in the chunk (the first is at line %d): a chunk stops at its first error, so give each its own chunk", filename, n, c.want.line)
				continue
			}
			pattern := strings.TrimSpace(after)
			if strings.HasPrefix(pattern, `"`) || strings.HasPrefix(pattern, "`") {
				p, err := strconv.Unquote(pattern)
				if err != nil {
					r.Errorf("\n%s:%d: expected error %s is not a Go string literal: %v", filename, n, pattern, err)
					continue
				}
				pattern = p
			}
			if pattern == "" {
				r.Errorf("\n%s:%d: empty expected error after ###", filename, n)
				continue
			}
			pattern = strings.ReplaceAll(pattern, "{FILE}", regexp.QuoteMeta(filename))
			pattern = lineRE.ReplaceAllStringFunc(pattern, func(m string) string {
				d, _ := strconv.Atoi(lineRE.FindStringSubmatch(m)[1])
				return strconv.Itoa(n + d)
			})
			rx, err := regexp.Compile(pattern)
			if err != nil {
				r.Errorf("\n%s:%d: expected error: %v", filename, n, err)
				continue
			}
			c.want = &expectation{line: n, rx: rx}
		}
		if c.want != nil || hasCode(body) {
			chunks = append(chunks, c)
		}
		start = i + 2
	}
	return chunks
}

// hasCode reports whether lines hold more than blank lines and comments: a
// chunk without code (a file's header before its first "---", say) is
// not built.
func hasCode(lines []string) bool {
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return true
		}
	}
	return false
}

// loadLibrary resolves load("NAME") in a chunk to testdata/NAME, one of the
// libraries.
func loadLibrary(from, module string) (string, []byte, error) {
	if !libraries[module] {
		return "", nil, fmt.Errorf("%s is not a test library (libraries: testdata/assert.star)", module)
	}
	name := "testdata/" + module
	src, err := os.ReadFile(filepath.FromSlash(name))
	return name, src, err
}

// dataFiles are the files btf_types() reads in a chunk: small kernel BTF
// files made by internal/btftest (not committed), and a file that is not
// BTF.
var dataFiles = map[string]func() []byte{
	":kernel.btf":       func() []byte { return btftest.Kernel(btftest.Options{}) },
	":kernel_moved.btf": func() []byte { return btftest.Kernel(btftest.Options{Layout: 1}) },
	":not_btf.txt":      func() []byte { return []byte("plain text\n") },
}

// readData resolves btf_types(LABEL) in a chunk to one of dataFiles.
func readData(from, label string) (string, []byte, error) {
	f, ok := dataFiles[label]
	if !ok {
		return "", nil, fmt.Errorf("testdata/%s does not exist", strings.TrimPrefix(label, ":"))
	}
	return "testdata/" + strings.TrimPrefix(label, ":"), f(), nil
}

// runChunkedFile builds every chunk of a chunked file and checks the
// outcome against the chunk's expectation.
func runChunkedFile(r reporter, filename string, data []byte) {
	for _, c := range splitChunks(r, filename, data) {
		_, err := compile.Source(filename, []byte(c.src), c.opts)
		checkChunk(r, filename, c, err)
	}
}

// checkChunk compares the outcome of a chunk's build with what it expects.
func checkChunk(r reporter, filename string, c chunk, err error) {
	if err == nil {
		if c.want != nil {
			r.Errorf("\n%s:%d: the chunk built without error\nwant error: %s", filename, c.want.line, c.want.rx)
		}
		return
	}
	line, msg := errorLine(err, filename)
	if c.want == nil {
		where := line
		if where == 0 {
			where = c.start
		}
		r.Errorf("\n%s:%d: unexpected error (chunk of lines %d-%d)\ngot error: %v", filename, where, c.start, c.end, err)
		return
	}
	switch {
	case line != c.want.line:
		r.Errorf("\n%s:%d: error reported at line %d, want line %d\ngot error:  %v\nwant error: %s", filename, c.want.line, line, c.want.line, err, c.want.rx)
	case !c.want.rx.MatchString(msg):
		r.Errorf("\n%s:%d: error does not match\ngot error:  %s\nwant error: %s", filename, c.want.line, msg, c.want.rx)
	}
}

// posRE matches a position "FILE:LINE:COL" at the start of an error or of
// a "called from" line.
var posRE = regexp.MustCompile(`^(.*?):(\d+):(\d+)`)

// errorLine returns the line of the file that err reports, 0 if none, and
// the error's message without its position and call chain.
func errorLine(err error, filename string) (int, string) {
	text := err.Error()
	msg, chain, _ := strings.Cut(text, "\n\tcalled from ")
	line := 0
	if m := posRE.FindStringSubmatch(msg); m != nil {
		msg = strings.TrimPrefix(msg[len(m[0]):], ": ")
		if m[1] == filename {
			line, _ = strconv.Atoi(m[2])
			return line, msg
		}
	}
	// The innermost call made in the file.
	if chain != "" {
		for _, frame := range strings.Split(chain, "\n\tcalled from ") {
			if m := posRE.FindStringSubmatch(frame); m != nil && m[1] == filename {
				line, _ = strconv.Atoi(m[2])
				break
			}
		}
	}
	return line, msg
}

// recorder collects what the harness reports.
type recorder struct{ msgs []string }

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// The harness itself: each way a chunk can disagree with its expectation
// is reported, naming the file and line; chunks that agree report nothing.
func TestExecFileHarness(t *testing.T) {
	const ok = `section("xdp", "p", [exit()])`
	for _, tc := range []struct {
		name, src string
		want      []string // one per report: its parts between "…" appear in it in order
	}{
		{"agrees", ok + "\n---\nx = insn.mov64_imm(11, 0)  ### \"register 11 out of range\"\n---\n" + ok, nil},
		{"bare regexp", "x = insn.mov64_imm(11, 0)  ### register 1\\d out of range", nil},
		{"raw string", "x = insn.mov64_imm(11, 0)  ### `register \\d+ out`", nil},
		{"anchored at the message", "x = insn.mov64_imm(11, 0)  ### \"^insn.mov64_imm: \"", nil},
		{"line of a chunk after others", ok + "\n---\n\n\nx = exitt()  ### \"undefined: exitt\"", nil},
		{"error in a library, caller's line", "load(\"assert.star\", \"assert_eq\")\nassert_eq(1, 1)\nassert_eq(1, 2)  ### \"got 1, want 2\"", nil},
		{"unexpected error", ok + "\n---\nsection(\"xdp\", \"p\", [exit()])\nx = exitt()",
			[]string{"t.star:4: unexpected error (chunk of lines 3-4)\ngot error: t.star:4:5: undefined: exitt"}},
		{"unexpected failed assertion", "load(\"assert.star\", \"assert_eq\")\nassert_eq(str(r1), \"r2\")\n" + ok,
			[]string{"t.star:2: unexpected error (chunk of lines 1-3)\ngot error: testdata/assert.star:…: got \"r1\", want \"r2\"\n\tcalled from t.star:2:10"}},
		{"no error", ok + "  ### \"something\"", []string{"t.star:1: the chunk built without error\nwant error: something"}},
		{"wrong message", "x = insn.mov64_imm(11, 0)  ### \"register 12\"",
			[]string{"t.star:1: error does not match\ngot error:  insn.mov64_imm: for parameter dst: register 11 out of range (r0-r10)\nwant error: register 12"}},
		{"wrong line", "x = 1  ### \"undefined\"\ny = exitt()", []string{"t.star:1: error reported at line 2, want line 1"}},
		{"message does not include the position", "x = exitt()  ### \"t.star\"", []string{"error does not match"}},
		{"two expectations", ok + "  ### \"a\"\ny = 2  ### \"b\"", []string{"t.star:2: a second expected error", "t.star:1: the chunk built without error"}},
		{"bad literal", "x = exitt()  ### \"unclosed", []string{"t.star:1: expected error \"unclosed is not a Go string literal", "t.star:1: unexpected error"}},
		{"bad regexp", "x = exitt()  ### \"(\"", []string{"t.star:1: expected error: error parsing regexp", "t.star:1: unexpected error"}},
		{"empty expectation", "x = exitt()  ###", []string{"t.star:1: empty expected error", "t.star:1: unexpected error"}},
		{"option", "# option:max_steps=1000\nfor i in range(10000):  ### \"more than 1000 Starlark steps\"\n    pass", nil},
		{"bad option", "# option:max_stepz=1\n" + ok, []string{"t.star:1: unknown option \"max_stepz\""}},
		{"line numbers", "\nl = [label(\"x\")]\nsection(\"xdp\", \"p\", l + [label(\"x\"), exit()])  ### `first at {FILE}:{LINE-1}:11\\)$`", nil},
		{"line numbers after", "x = bpf_map(\"m\", \"hash\", 4, 8, 1, flags = \"a\") + 1  ### `^bpf_map: .*{LINE+0}`\n", []string{"error does not match\ngot error:  bpf_map: for parameter \"flags\": got string, want int\nwant error: ^bpf_map: .*1"}},
		{"library not found", "load(\"nope.star\", \"x\")  ### \"nope.star is not a test library\"", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			runChunkedFile(&r, "t.star", []byte(tc.src))
			if len(r.msgs) != len(tc.want) {
				t.Fatalf("got %d reports, want %d:\n%s", len(r.msgs), len(tc.want), strings.Join(r.msgs, "\n--\n"))
			}
			for i, want := range tc.want {
				if !containsInOrder(r.msgs[i], strings.Split(want, "…")) {
					t.Errorf("report %d:\n%s\nwant it to contain\n%s", i, r.msgs[i], want)
				}
			}
		})
	}
}

func containsInOrder(s string, parts []string) bool {
	for _, p := range parts {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}

// Chunks keep the lines of the file: the line numbers of a chunk's source
// are those of the file, the separators included.
func TestSplitChunks(t *testing.T) {
	var r recorder
	src := "a\n---\nb\nc\n---\n# only a comment\n---\nd\n"
	cs := splitChunks(&r, "t.star", []byte(src))
	if len(r.msgs) != 0 {
		t.Fatal(r.msgs)
	}
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%d-%d:%q", c.start, c.end, c.src))
	}
	want := []string{`1-1:"a\n"`, `3-4:"\n\nb\nc\n"`, `8-8:"\n\n\n\n\n\n\nd\n"`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("chunks:\n got %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}
