package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// TestExamplesTests runs `bpfstar test` on examples/, as `make test` does
// (through go test): every example has a NAME_test.star, no case fails,
// and the only cases skipped are those of program types that
// BPF_PROG_TEST_RUN does not run (cgroup/dev). The JUnit report says the
// same, read back with encoding/xml.
func TestExamplesTests(t *testing.T) {
	testenv.Root(t)
	programs, err := filepath.Glob("../../examples/*.star")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range programs {
		if filepath.Base(p) == "BUILD.star" || strings.HasSuffix(p, "_test.star") {
			continue
		}
		// BPF_PROG_TEST_RUN does not run struct_ops programs (but
		// bpf_dummy_ops'): tcp_cc.star is tested in Go, by registering
		// it (examples/tcp_cc_test.go).
		if filepath.Base(p) == "tcp_cc.star" {
			continue
		}
		// task_info.star stores the test process's pid and parent pid
		// and the kernel's sizeof(task_struct), which a test() case
		// cannot know: it is tested in Go (examples/task_info_test.go).
		if filepath.Base(p) == "task_info.star" {
			continue
		}
		if _, err := os.Stat(strings.TrimSuffix(p, ".star") + "_test.star"); err != nil {
			t.Errorf("example %s has no test file: %v", p, err)
		}
	}
	junit := filepath.Join(t.TempDir(), "report.xml")
	var stdout, stderr bytes.Buffer
	code := Main( // --nocache: really run them, whatever an earlier run cached
		[]string{"test", "--nocache", "--junit", junit, "../../examples"}, &stdout, &stderr)
	if code != 0 || stderr.Len() > 0 {
		t.Fatalf("bpfstar test ../../examples: exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	m := regexp.MustCompile(`^(\d+) passed, 0 failed, (\d+) skipped$`).FindStringSubmatch(lines[len(lines)-1])
	if m == nil || m[1] == "0" {
		t.Fatalf("last line %q, want N passed, 0 failed, N skipped", lines[len(lines)-1])
	}
	if len(lines) < 2 || lines[len(lines)-2] != "engine: kernel (BPF_PROG_TEST_RUN)" {
		t.Fatalf("the line before the summary is not the engine's:\n%s", &stdout)
	}
	for _, l := range lines[:len(lines)-2] {
		if !strings.HasPrefix(l, "examples/cgroup_dev_test.star:") || !strings.Contains(l, ": SKIP ") {
			t.Errorf("unexpected line: %s", l)
		}
	}
	if n := len(lines) - 2; m[2] != strconv.Itoa(n) {
		t.Errorf("%s skipped, but %d SKIP lines", m[2], n)
	}

	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var report struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Line    int       `xml:"line,attr"`
				Failure *struct{} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &report); err != nil {
		t.Fatalf("reading the JUnit report: %v\n%s", err, data)
	}
	total, skipped := 0, 0
	for _, s := range report.Suites {
		if s.Tests != len(s.Cases) || s.Failures != 0 {
			t.Errorf("suite %s: tests=%d failures=%d, with %d cases", s.Name, s.Tests, s.Failures, len(s.Cases))
		}
		for _, c := range s.Cases {
			total++
			if c.Line == 0 || c.Failure != nil {
				t.Errorf("%s: case %q: line %d, failure %v", s.Name, c.Name, c.Line, c.Failure != nil)
			}
			if c.Skipped != nil {
				skipped++
				if filepath.Base(s.Name) != "cgroup_dev_test.star" || !strings.Contains(c.Skipped.Message, "cannot test-run") {
					t.Errorf("%s: case %q skipped: %s", s.Name, c.Name, c.Skipped.Message)
				}
			}
		}
	}
	if got := strconv.Itoa(total - skipped); got != m[1] || strconv.Itoa(skipped) != m[2] {
		t.Errorf("the report has %d cases, %d skipped; the summary says %s", total, skipped, lines[len(lines)-1])
	}
}

// TestExamplesTestsBoth runs `bpfstar test --engine both` on examples/:
// every case passes in the kernel and in the interpreter, with the same
// results, and the cgroup/dev cases, which the kernel cannot run, pass in
// the interpreter.
func TestExamplesTestsBoth(t *testing.T) {
	testenv.Root(t)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"test", "--engine", "both", "../../examples"}, &stdout, &stderr)
	want := regexp.MustCompile(`\Aengine: both \(the kernel and bpfstar's interpreter, compared\)\n(\d+) passed, 0 failed\n\z`)
	m := want.FindStringSubmatch(stdout.String())
	if code != 0 || stderr.Len() > 0 || m == nil {
		t.Fatalf("bpfstar test --engine both ../../examples: exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	if n, _ := strconv.Atoi(m[1]); n < 25 {
		t.Errorf("%d cases passed, want the examples' 25", n)
	}
}
