package bazel_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// TestBpfTestRule runs defs.bzl's bpf_test with a real `bazel test`: a
// test file whose cases pass passes, with its cases run in the kernel (not
// skipped) and a JUnit report where Bazel wants it; one with a failing
// case fails, its log naming the case.
func TestBpfTestRule(t *testing.T) {
	testenv.Root(t)
	ws := newWorkspace(t)
	ws.write("prog/BUILD", `load("//bazel:defs.bzl", "bpf_test")

bpf_test(
    name = "prog_test",
    src = "prog_test.star",
    srcs = ["prog.star"],
)

bpf_test(
    name = "bad_test",
    src = "bad_test.star",
    srcs = ["prog.star"],
)
`)
	ws.write("prog/prog.star", `XDP_DROP = 1

section("xdp", "drop", [insn.mov64_imm(r0, XDP_DROP), exit()])
license("GPL")
`)
	ws.write("prog/prog_test.star", `load(":prog.star", "XDP_DROP")

test("drops udp", "drop", data = udp4(), want_retval = XDP_DROP)
test("drops tcp", "drop", data = tcp4(), want_retval = "XDP_DROP")
`)
	ws.write("prog/bad_test.star", `load(":prog.star", "XDP_DROP")

test("passes", "drop", data = udp4(), want_retval = "XDP_PASS")
`)
	// Every Bazel test depends on @remote_coverage_tools, which Bazel
	// downloads: offline, stand-ins (coverage is not used here).
	stub := filepath.Join(filepath.Dir(ws.dir), "coverage_stub") // beside the workspace
	for name, text := range map[string]string{
		"WORKSPACE": "workspace(name = \"remote_coverage_tools\")\n",
		"stub.bzl": `def _impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.write(out, "#!/bin/sh\\nexit 0\\n", is_executable = True)
    return [DefaultInfo(executable = out)]

stub = rule(implementation = _impl, executable = True)
`,
		"BUILD": `load(":stub.bzl", "stub")

package(default_visibility = ["//visibility:public"])

stub(name = "coverage_report_generator")

stub(name = "lcov_merger")
`,
	} {
		if err := os.MkdirAll(stub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(stub, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	flags := []string{"--spawn_strategy=linux-sandbox", "--color=no", "--curses=no", "--test_output=errors", "--override_repository=remote_coverage_tools=" + stub}
	out, err := ws.bazelCmd(append(append([]string{"test"}, flags...), "//prog:prog_test")...)
	if err != nil {
		t.Fatalf("bazel test //prog:prog_test: %v\n%s", err, out)
	}
	log, err := os.ReadFile(filepath.Join(ws.dir, "bazel-testlogs", "prog", "prog_test", "test.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log, []byte("2 passed, 0 failed\n")) || bytes.Contains(log, []byte("skipped")) {
		t.Errorf("the log of //prog:prog_test does not say that both cases ran and passed:\n%s", log)
	}
	report, err := os.ReadFile(filepath.Join(ws.dir, "bazel-testlogs", "prog", "prog_test", "test.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(report, &x); err != nil || len(x.Suites) != 1 || x.Suites[0].Tests != 2 {
		t.Errorf("test.xml: %v %+v\n%s", err, x, report)
	}

	out, err = ws.bazelCmd(append(append([]string{"test"}, flags...), "//prog:bad_test")...)
	if err == nil {
		t.Fatalf("bazel test //prog:bad_test passed:\n%s", out)
	}
	if want := "prog/bad_test.star:3:5: FAIL passes: retval XDP_DROP (1), want XDP_PASS (2)"; !strings.Contains(string(out), want) {
		t.Errorf("bazel test //prog:bad_test failed without %q:\n%s", want, out)
	}
}
