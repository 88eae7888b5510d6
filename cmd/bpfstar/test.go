package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bpfstar/bpfstar/compile"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/testrun"
	"github.com/bpfstar/bpfstar/vm"
	"github.com/bpfstar/bpfstar/workspace"
)

const testArgs = "[-j N] [--run REGEXP] [-v] [--junit FILE] [--nocache] [--noskip] [--engine kernel|vm|both] [--trace] [--coverage FILE] [--max-steps N] [LABEL|FILE.star|DIR ...]"

const testDoc = `Test builds each test file (a .star file that calls test(): NAME_test.star,
which load()s the program file it tests), loads the programs its cases
name into the kernel once and runs every case with BPF_PROG_TEST_RUN, or
runs them in bpfstar's interpreter (--engine vm), or both, failing a case
where the two disagree (--engine both: return value, output packet, the
contents of array, hash and LPM maps). The default is the kernel where
this process may load programs (root or CAP_BPF), else the interpreter;
the line 'engine: NAME' says which ran. It prints a line for each failing
or skipped case, with the FILE:LINE:COL of its test() call and what
differed, then 'N passed, N failed' (and ', N skipped' when cases could
not run: for a program type this kernel cannot test-run, or that the
interpreter does not model). In a workspace, a file whose kernel cases all
passed is remembered in bpfstar-out/cache, by the contents of its object
and its cases and the kernel's release: the next run passes them without
loading anything (-v shows '(cached)'); --nocache runs them all the same.
--trace prints, after each case, every instruction the interpreter ran:
its .star line, slot, text and the registers that are not zero, then what
bpf_trace_printk printed. --coverage FILE writes how often each .star line
ran, over all cases, as an LCOV tracefile to FILE and as a listing people
read (each line with its count, ##### for none) to FILE.txt; the lines of
the standard library (@std//NAME.star), which no coverage tool can open,
are in the listing only. Both need the
interpreter: they choose it unless --engine says kernel.
A directory means every *_test.star file
below it (default: the current directory; hidden directories and
bpfstar-out are not searched). A label or pattern (//pkg:name, :name,
//pkg/..., and in a workspace ... and DIR/... too, as for bpfstar build)
selects bpf_test(name, src) targets of BUILD.star files, whose src is a
test file; outside a workspace, ... and DIR/... are directories. Exit
status 1 when a case failed or a file did not build.`

// fileResult is the outcome of one test file.
type fileResult struct {
	file    string
	err     error // the file did not build, or its object could not be read
	results []testrun.Result
	elapsed time.Duration
}

func testCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("test", stdout, stderr)
	jobs := fs.Int("j", runtime.NumCPU(), "test `N` files at once")
	run := fs.String("run", "", "run only the cases whose name matches `REGEXP`")
	verbose := fs.Bool("v", false, "print a line for every case, passing ones too, with its duration")
	junit := fs.String("junit", "", "write a JUnit XML report to `FILE`")
	steps := fs.Uint64("max-steps", starlib.DefaultMaxSteps, "limit on Starlark execution `steps` of each file")
	nocache := fs.Bool("nocache", false, "run every case, even those whose passing run is cached")
	noskip := fs.Bool("noskip", false, "exit 1 when a case could not run (was skipped)")
	fs.Bool("trace", false, "print every instruction the interpreter runs, with registers and .star line")
	fs.String("coverage", "", "write per-line hit counts of the .star files to `FILE` (LCOV) and FILE.txt")
	engineFlag := fs.String("engine", "", "run the cases in `ENGINE`: kernel, vm (the interpreter) or both (default: kernel where it can load programs, else vm)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	engine, err := testrun.ParseEngine(*engineFlag)
	if err != nil {
		fmt.Fprintf(stderr, "bpfstar test: --engine: %v\n", err)
		return errUsage
	}
	trace := fs.Lookup("trace").Value.(flag.Getter).Get().(bool)
	coverFile := fs.Lookup("coverage").Value.String()
	if trace || coverFile != "" {
		if engine == testrun.Kernel {
			fmt.Fprintf(stderr, "bpfstar test: --trace and --coverage need the interpreter (--engine vm or both)\n")
			return errUsage
		}
		if engine == testrun.Auto {
			engine = testrun.VM
		}
	}
	engine = engine.Resolve()
	var cover *vm.Coverage
	if coverFile != "" {
		cover = &vm.Coverage{}
	}
	var rx *regexp.Regexp
	if *run != "" {
		if rx, err = regexp.Compile(*run); err != nil {
			fmt.Fprintf(stderr, "bpfstar test: --run: %v\n", err)
			return errUsage
		}
	}
	if *jobs < 1 {
		fmt.Fprintf(stderr, "bpfstar test: -j must be at least 1\n")
		return errUsage
	}
	files, err := testFiles(pos)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("bpfstar test: no test files (*_test.star) found")
	}
	toolID := Version + " " + workspace.ExecutableID()
	out := make([]fileResult, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, *jobs)
	for i, f := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = testFile(f, rx, workspace.NewTestCache(f, toolID, *nocache), compile.Options{MaxSteps: *steps, Print: stderr}, testrun.Options{Engine: engine, Trace: trace, Coverage: cover})
		}()
	}
	wg.Wait()
	var passed, failed, skipped, broken int
	for _, fr := range out {
		if fr.err != nil {
			broken++
			fmt.Fprintln(stdout, fr.err)
			continue
		}
		for _, r := range fr.results {
			if trace {
				fmt.Fprintf(stdout, "=== TRACE %v: %s (%s)\n%s", r.Case.Pos, r.Case.Name, r.Case.Program, r.Trace)
			}
			switch r.Status {
			case testrun.Pass:
				passed++
				switch {
				case *verbose && r.Cached:
					fmt.Fprintf(stdout, "%v: PASS %s (cached)\n", r.Case.Pos, r.Case.Name)
				case *verbose && r.KernelSkipped != "":
					fmt.Fprintf(stdout, "%v: PASS %s (vm only; kernel: %s)\n", r.Case.Pos, r.Case.Name, r.KernelSkipped)
				case *verbose:
					fmt.Fprintf(stdout, "%v: PASS %s (%v)\n", r.Case.Pos, r.Case.Name, meanDuration(r))
				}
			case testrun.Fail:
				failed++
				fmt.Fprintf(stdout, "%v: FAIL %s: %s\n", r.Case.Pos, r.Case.Name, r.Msg)
			case testrun.Skip:
				skipped++
				fmt.Fprintf(stdout, "%v: SKIP %s: %s\n", r.Case.Pos, r.Case.Name, r.Msg)
			}
		}
	}
	fmt.Fprintf(stdout, "engine: %s\n", engineName(engine))
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		summary += fmt.Sprintf(", %d skipped", skipped)
	}
	if broken > 0 {
		summary += fmt.Sprintf(", %d %s did not build", broken, plural(broken, "file"))
	}
	fmt.Fprintln(stdout, summary)
	if cover != nil {
		files := cover.Files()
		var lcov, text bytes.Buffer
		if err := vm.WriteLCOV(&lcov, filesOnDisk(files)); err != nil {
			return err
		}
		if err := vm.WriteText(&text, files); err != nil {
			return err
		}
		if err := compile.WriteFile(coverFile, lcov.Bytes()); err != nil {
			return fmt.Errorf("bpfstar test: --coverage: %w", err)
		}
		if err := compile.WriteFile(coverFile+".txt", text.Bytes()); err != nil {
			return fmt.Errorf("bpfstar test: --coverage: %w", err)
		}
		lines, ran := 0, 0
		for _, f := range files {
			for _, l := range f.Lines {
				lines++
				if l.Hits > 0 {
					ran++
				}
			}
		}
		fmt.Fprintf(stdout, "coverage: %d of %d lines ran, in %s (LCOV) and %s.txt\n", ran, lines, coverFile, coverFile)
	}
	if *junit != "" {
		data, err := junitReport(out)
		if err == nil {
			err = compile.WriteFile(*junit, data)
		}
		if err != nil {
			return fmt.Errorf("bpfstar test: --junit: %w", err)
		}
	}
	if failed > 0 || broken > 0 || *noskip && skipped > 0 {
		return errTestsFailed
	}
	return nil
}

// engineName says what ran the cases.
func engineName(e testrun.Engine) string {
	switch e {
	case testrun.VM:
		return "vm (bpfstar's interpreter)"
	case testrun.Both:
		return "both (the kernel and bpfstar's interpreter, compared)"
	}
	return "kernel (BPF_PROG_TEST_RUN)"
}

// errTestsFailed reports that cases failed or files did not build; the
// lines that say so are printed (exit status 1, nothing more printed).
var errTestsFailed = errors.New("tests failed")

// meanDuration is the wall time of a case's run divided by its repeat.
func meanDuration(r testrun.Result) time.Duration {
	return r.Duration / time.Duration(max(r.Case.Repeat, 1))
}

// testFile builds a test file and runs its cases that match rx; when the
// same cases of the same object passed before on this kernel (tc), they
// pass again without running, and a run that passes is remembered.
func testFile(file string, rx *regexp.Regexp, tc *workspace.TestCache, opts compile.Options, ropts testrun.Options) fileResult {
	start := time.Now()
	fr := fileResult{file: file}
	obj, u, err := workspace.BuildFileUnit(file, opts)
	if err != nil {
		fr.err = err
		return fr
	}
	var cases []starlib.TestCase
	for _, c := range u.Tests {
		if rx == nil || rx.MatchString(c.Name) {
			cases = append(cases, c)
		}
	}
	key := tc.Key(obj, cases)
	kernel := ropts.Engine == testrun.Kernel
	if kernel && len(cases) > 0 && tc.Passed(key) {
		for _, c := range cases {
			fr.results = append(fr.results, testrun.Result{Case: c, Status: testrun.Pass, Cached: true})
		}
		fr.elapsed = time.Since(start)
		return fr
	}
	fr.results, fr.err = testrun.RunWith(obj, cases, ropts)
	if fr.err != nil {
		fr.err = fmt.Errorf("%s: %w", file, fr.err)
	}
	if kernel && fr.err == nil && len(cases) > 0 && !slices.ContainsFunc(fr.results, func(r testrun.Result) bool { return r.Status != testrun.Pass }) {
		tc.RecordPass(key)
	}
	fr.elapsed = time.Since(start)
	return fr
}

// testFiles returns the test files the arguments name: FILE.star itself,
// a directory every *_test.star below it (default: "."), a label or
// pattern the files of the bpf_test targets it selects. In a workspace,
// "..." and "DIR/..." are patterns, as for bpfstar build; outside one,
// directories.
func testFiles(args []string) ([]string, error) {
	if len(args) == 0 {
		args = []string{"."}
	}
	var files []string
	for _, a := range args {
		pattern := strings.HasPrefix(a, "//") || strings.Contains(a, ":")
		if !pattern && (a == "..." || strings.HasSuffix(a, "/...")) {
			// In a workspace, ... and DIR/... are target patterns, as for
			// bpfstar build; elsewhere, directories.
			w, err := workspace.Find(".")
			if err != nil {
				return nil, err
			}
			pattern = w != nil
		}
		if pattern {
			fs, err := testTargetFiles(a)
			if err != nil {
				return nil, err
			}
			files = append(files, fs...)
			continue
		}
		a = strings.TrimSuffix(a, "/...")
		if a == "..." {
			a = "."
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("bpfstar test: %w", err)
		}
		if !st.IsDir() {
			if !strings.HasSuffix(a, ".star") {
				return nil, fmt.Errorf("bpfstar test: %s is not a .star file or a directory", a)
			}
			if err := notBuildFile("test", a); err != nil {
				return nil, err
			}
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && (strings.HasPrefix(d.Name(), ".") || d.Name() == "bpfstar-out") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(d.Name(), "_test.star") && d.Type().IsRegular() {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("bpfstar test: %w", err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return slices.Compact(files), nil
}

// testTargetFiles returns the test files of the bpf_test targets that the
// label or pattern selects in the workspace around the current directory.
func testTargetFiles(label string) ([]string, error) {
	w, err := workspace.Find(".")
	if err != nil {
		return nil, err
	}
	if w == nil {
		wd, _ := os.Getwd()
		return nil, fmt.Errorf("bpfstar test %s: not in a workspace: no %s file in %s or any directory above it", label, workspace.MarkerFile, wd)
	}
	cwd, err := w.CwdPackage()
	if err != nil {
		return nil, err
	}
	targets, _, err := w.TestTargets([]string{label}, cwd, workspace.Options{ToolID: Version + " " + workspace.ExecutableID()})
	if err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, t := range targets {
		f := w.Abs(t.Src)
		if rel, err := filepath.Rel(wd, f); err == nil {
			f = rel
		}
		files = append(files, f)
	}
	return files, nil
}

// JUnit XML, as Jenkins, GitLab and GitHub's test reporters read it.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
	Error    *junitMsg   `xml:"error,omitempty"`
}

type junitCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	File      string    `xml:"file,attr,omitempty"`
	Line      int       `xml:"line,attr,omitempty"`
	Time      string    `xml:"time,attr"`
	Failure   *junitMsg `xml:"failure,omitempty"`
	Skipped   *junitMsg `xml:"skipped,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.6f", d.Seconds()) }

func junitReport(out []fileResult) ([]byte, error) {
	var s junitSuites
	for _, fr := range out {
		suite := junitSuite{Name: fr.file, Time: seconds(fr.elapsed)}
		if fr.err != nil {
			suite.Errors = 1
			suite.Error = &junitMsg{Message: "the test file did not build", Text: fr.err.Error()}
		}
		for _, r := range fr.results {
			c := junitCase{Name: r.Case.Name, Classname: fr.file, File: r.Case.Pos.File, Line: int(r.Case.Pos.Line), Time: seconds(r.Duration)}
			msg := fmt.Sprintf("%v: %s", r.Case.Pos, r.Msg)
			switch r.Status {
			case testrun.Fail:
				suite.Failures++
				c.Failure = &junitMsg{Message: r.Msg, Text: msg}
			case testrun.Skip:
				suite.Skipped++
				c.Skipped = &junitMsg{Message: r.Msg, Text: msg}
			}
			suite.Tests++
			suite.Cases = append(suite.Cases, c)
		}
		s.Suites = append(s.Suites, suite)
	}
	data, err := xml.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(data, '\n')...), nil
}

// filesOnDisk leaves out of files those of the standard library
// (@std//NAME.star), which are built into bpfstar: no coverage tool can
// open them (genhtml stops at the first file it cannot read), so the LCOV
// tracefile leaves them to the listing.
func filesOnDisk(files []vm.FileCoverage) []vm.FileCoverage {
	var out []vm.FileCoverage
	for _, f := range files {
		if !strings.HasPrefix(f.File, "@") {
			out = append(out, f)
		}
	}
	return out
}
