package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return testenv.Tool(t, "go")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// buildBinary compiles bpfstar for goarch into dir.
func buildBinary(t *testing.T, dir, goarch string) string {
	t.Helper()
	out := filepath.Join(dir, "bpfstar-"+goarch)
	cmd := exec.Command(goTool(t), "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOARCH="+goarch, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build GOARCH=%s: %v\n%s", goarch, err, msg)
	}
	return out
}

// copyTree copies the regular files below src into dst.
func copyTree(t *testing.T, src, dst string, keep func(rel string) bool) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if !keep(filepath.ToSlash(rel)) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sourceTree makes the workspace the reproducibility runs build: a copy of
// the repository's workspace (bpfstar.workspace, every .star file and the
// BTF files examples read, so //... builds every example, as in a fresh
// clone), plus a package whose
// programs load shared libraries.
func sourceTree(t *testing.T, dst string) {
	t.Helper()
	copyTree(t, "../..", dst, func(rel string) bool {
		for _, dir := range strings.Split(rel, "/") {
			if strings.HasPrefix(dir, ".") || dir == "testdata" || dir == "bpfstar-out" {
				return false
			}
		}
		return rel == "bpfstar.workspace" || strings.HasSuffix(rel, ".star") || strings.HasSuffix(rel, ".btf")
	})
	files := map[string]string{
		"repro/lib/regs.star":  "RET = r0\nCTX = r1\n",
		"repro/lib/ret.star":   "load(\":regs.star\", \"RET\")\n\ndef ret(v):\n    return [insn.mov64_imm(RET, v), exit()]\n",
		"repro/net/BUILD.star": "bpf_object(name = \"xdp\", src = \"xdp.star\")\n\nbpf_object(name = \"sock\", src = \"sock.star\")\n",
		"repro/net/xdp.star":   "load(\"//repro/lib:ret.star\", \"ret\")\nload(\"//repro/lib:regs.star\", \"CTX\")\n\nsection(\"xdp\", \"xdp_pass\", [insn.ldx_mem(\"w\", r2, CTX, 0)] + ret(2))\nlicense(\"GPL\")\n",
		"repro/net/sock.star":  "load(\"//repro/lib:ret.star\", \"ret\")\n\ncounts = bpf_map(\"counts\", \"array\", key_size = 4, value_size = 8, max_entries = 16)\nsection(\"socket\", \"sock\", [insn.ld_map_fd(r1, counts)] + ret(0))\n",
	}
	for name, data := range files {
		p := filepath.Join(dst, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// outputs reads what a build leaves behind: the objects, the Go bindings
// (examples/BUILD.star asks for some), the manifest and the lock file.
func outputs(t *testing.T, root string) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}
	for _, p := range []string{"bpfstar-out/bin", "bpfstar-out/go", "bpfstar-out/manifest.json", "bpfstar.lock"} {
		filepath.WalkDir(filepath.Join(root, p), func(f string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(root, f)
				m[rel], _ = os.ReadFile(f)
			}
			return nil
		})
	}
	return m
}

// Outputs, the manifest and the lock file are byte-identical whatever the
// build path (spaces included), the environment (emptied, TZ, locale),
// the umask, GOMAXPROCS, -j, the directory the build starts from, and the
// architecture bpfstar itself was compiled for.
func TestReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bpfstar twice; skipped in -short mode")
	}
	bins := t.TempDir()
	amd := buildBinary(t, bins, runtime.GOARCH)

	type run struct {
		name   string
		bin    string
		dir    string // below the temporary directory; spaces allowed
		sub    string // where to start, below the workspace root
		env    []string
		umask  int
		args   []string
		nilEnv bool // inherit nothing at all
	}
	runs := []run{
		{name: "baseline", dir: "base", args: []string{"-j", "1"}},
		{name: "path with spaces", dir: "a dir with spaces/and more", args: []string{"-j", "1"}},
		{name: "empty environment", dir: "empty-env", nilEnv: true},
		{name: "TZ", dir: "tz", env: []string{"TZ=Pacific/Kiritimati"}},
		{name: "locale", dir: "locale", env: []string{"LANG=tr_TR.UTF-8", "LC_ALL=tr_TR.UTF-8", "LC_CTYPE=ja_JP.EUC-JP"}},
		{name: "umask", dir: "umask", umask: 0o077},
		{name: "GOMAXPROCS=1", dir: "procs1", env: []string{"GOMAXPROCS=1"}},
		{name: "GOMAXPROCS=8 -j 8", dir: "procs8", env: []string{"GOMAXPROCS=8"}, args: []string{"-j", "8"}},
		{name: "from a subdirectory", dir: "subdir", sub: "repro/net", args: []string{"//..."}},
	}
	if runtime.GOARCH == "amd64" {
		runs = append(runs, run{name: "GOARCH=386 bpfstar", dir: "i386", bin: buildBinary(t, bins, "386")})
	}

	var want map[string][]byte
	for _, r := range runs {
		root := filepath.Join(t.TempDir(), r.dir)
		sourceTree(t, root)
		bin := amd
		if r.bin != "" {
			bin = r.bin
		}
		cmd := exec.Command(bin, append([]string{"build", "--lock"}, r.args...)...)
		cmd.Dir = filepath.Join(root, r.sub)
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, r.env...)
		if r.nilEnv {
			cmd.Env = []string{}
		}
		old := syscall.Umask(r.umask | 0o022)
		out, err := cmd.CombinedOutput()
		syscall.Umask(old)
		if err != nil {
			var pe *os.PathError
			if r.bin != "" && (errors.As(err, &pe) || strings.Contains(err.Error(), "exec format error")) {
				testenv.Missing(t, "this machine cannot run GOARCH=386 binaries: "+err.Error())
			}
			t.Fatalf("%s: bpfstar build: %v\n%s", r.name, err, out)
		}
		got := outputs(t, root)
		t.Logf("%s: %d files from %s", r.name, len(got), filepath.Base(bin))
		if want == nil {
			want = got
			if len(want) < 9 {
				t.Fatalf("baseline build left only %d files", len(want))
			}
			for name, data := range want {
				if bytes.Contains(data, []byte(root)) || bytes.Contains(data, []byte(os.TempDir())) {
					t.Errorf("%s contains an absolute path", name)
				}
			}
			continue
		}
		var names []string
		for name := range want {
			names = append(names, name)
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			if !bytes.Equal(got[name], want[name]) {
				t.Errorf("%s: %s differs from the baseline build", r.name, name)
			}
		}
	}
}
