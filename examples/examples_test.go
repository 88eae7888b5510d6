// Package examples_test builds every example program and loads it into the
// kernel through both real loaders, cilium/ebpf and libbpf (bpftool).
package examples_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/starlib"
	"github.com/bpfstar/bpfstar/workspace"
)

func examples(t *testing.T) []string {
	files, err := filepath.Glob("*.star")
	files = slices.DeleteFunc(files, func(f string) bool { return f == "BUILD.star" || strings.HasSuffix(f, "_test.star") })
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	return files
}

// buildExample builds an example into the test's temporary directory.
func buildExample(t *testing.T, file string) string {
	t.Helper()
	obj, _, err := workspace.BuildFile(file, starlib.Options{})
	if err != nil {
		t.Fatalf("build %s: %v", file, err)
	}
	out := filepath.Join(t.TempDir(), strings.TrimSuffix(file, ".star")+".o")
	if err := os.WriteFile(out, obj, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExamplesReadelf(t *testing.T) {
	readelf := testenv.Tool(t, "llvm-readelf-19")
	for _, file := range examples(t) {
		t.Run(file, func(t *testing.T) {
			obj := buildExample(t, file)
			var stderr bytes.Buffer
			cmd := exec.Command(readelf, "-a", obj)
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 || bytes.Contains(out, []byte("warning")) {
				t.Fatalf("llvm-readelf-19 -a: %v\n%s%s", err, stderr.Bytes(), out)
			}
			for _, want := range []string{"Class:                             ELF64", "Type:                              REL (Relocatable file)", "Machine:                           EM_BPF", "Data:                              2's complement, little endian"} {
				if !bytes.Contains(out, []byte(want)) {
					t.Errorf("llvm-readelf output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestExamplesLoadCilium(t *testing.T) {
	testenv.Root(t)
	for _, file := range examples(t) {
		t.Run(file, func(t *testing.T) {
			spec, err := ebpf.LoadCollectionSpec(buildExample(t, file))
			if err != nil {
				t.Fatalf("LoadCollectionSpec: %v", err)
			}
			if len(spec.Programs) == 0 {
				t.Fatal("cilium/ebpf found no programs")
			}
			// With a verifier log of every instruction (at the branch
			// level the kernel logs only statistics for a program it
			// accepts), so that it can be checked: a program
			// whose context is untyped (void *) logs "arg#0 reference
			// type('UNKNOWN ') size cannot be determined" (issue 11).
			coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
				Programs: ebpf.ProgramOptions{LogLevel: ebpf.LogLevelInstruction},
			})
			if err != nil {
				var ve *ebpf.VerifierError
				if errors.As(err, &ve) {
					t.Fatalf("verifier rejected %s: %+v", file, ve)
				}
				t.Fatalf("NewCollection: %v", err)
			}
			defer coll.Close()
			if len(coll.Programs) != len(spec.Programs) {
				t.Errorf("loaded %d programs, want %d", len(coll.Programs), len(spec.Programs))
			}
			for name, p := range coll.Programs {
				if p.VerifierLog == "" {
					t.Errorf("program %s: no verifier log", name)
				}
				for _, line := range strings.Split(p.VerifierLog, "\n") {
					if strings.Contains(line, "UNKNOWN") {
						t.Errorf("program %s: verifier log line %q", name, line)
					}
				}
			}
		})
	}
}

// bpftoolSkips are the examples that bpftool prog loadall (libbpf 1.1)
// cannot load, and where their test through bpftool is.
var bpftoolSkips = map[string]string{
	// libbpf 1.1 knows .struct_ops, not .struct_ops.link.
	"tcp_cc.star": "TestTCPCongestionControlBpftool registers it with link = False",
}

func TestExamplesLoadBpftool(t *testing.T) {
	bpftool := testenv.Tool(t, "bpftool")
	for _, file := range examples(t) {
		t.Run(file, func(t *testing.T) {
			if why, ok := bpftoolSkips[file]; ok {
				t.Skip(why)
			}
			obj := buildExample(t, file)
			pins := filepath.Join(testenv.PinDir(t), "progs")
			out, err := exec.Command(bpftool, "prog", "loadall", obj, pins).CombinedOutput()
			if err != nil {
				t.Fatalf("bpftool prog loadall: %v\n%s", err, out)
			}
			pinned, err := os.ReadDir(pins)
			if err != nil || len(pinned) == 0 {
				t.Fatalf("bpftool pinned no programs: %v", err)
			}
		})
	}
}

// The origin experiment: a cgroup/dev program, attached to a fresh cgroup,
// stops processes in it from opening /dev/urandom (1:9) and lets them read
// /dev/zero.
func TestCgroupDevDeniesURandom(t *testing.T) {
	testenv.Root(t)
	spec, err := ebpf.LoadCollectionSpec(buildExample(t, "cgroup_dev.star"))
	if err != nil {
		t.Fatal(err)
	}
	var objs struct {
		Prog *ebpf.Program `ebpf:"deny_urandom"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		t.Fatal(err)
	}
	defer objs.Prog.Close()

	cg := testenv.Cgroup(t)
	l, err := link.AttachCgroup(link.CgroupOptions{Path: cg, Attach: ebpf.AttachCGroupDevice, Program: objs.Prog})
	if err != nil {
		t.Fatalf("attach to %s: %v", cg, err)
	}
	defer l.Close()

	cgfd, err := os.Open(cg)
	if err != nil {
		t.Fatal(err)
	}
	defer cgfd.Close()

	// run reads one byte of dev in a child process, inside the cgroup or not.
	run := func(dev string, inCgroup bool) (string, error) {
		cmd := exec.Command("head", "-c", "1", dev)
		cmd.Env = append(os.Environ(), "LC_ALL=C") // the message checked below is strerror's
		if inCgroup {
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cgfd.Fd())}
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run("/dev/urandom", false); err != nil {
		t.Fatalf("outside the cgroup, reading /dev/urandom failed: %v %s", err, out)
	}
	out, err := run("/dev/urandom", true)
	if err == nil {
		t.Fatal("inside the cgroup, /dev/urandom could be opened")
	}
	if !strings.Contains(out, "Operation not permitted") {
		t.Errorf("inside the cgroup, opening /dev/urandom failed with %q, want EPERM", out)
	}
	if out, err := run("/dev/zero", true); err != nil || out != "\x00" {
		t.Fatalf("inside the cgroup, reading /dev/zero: %q, %v", out, err)
	}
}
