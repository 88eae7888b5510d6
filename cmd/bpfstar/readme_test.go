package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// A readmeSection is a "## " section of README.md: the files its code
// blocks show, and its shell samples.
type readmeSection struct {
	title    string
	files    map[string]string // path -> contents, from blocks whose first line is "# PATH.star"
	sessions [][]readmeCommand
}

// A readmeCommand is a line "$ COMMAND" of a shell sample and the output
// shown below it.
type readmeCommand struct {
	line int // in README.md
	cmd  string
	want string
}

var readmeFileRE = regexp.MustCompile(`^# ([A-Za-z0-9_./-]+\.star)$`)

// parseREADME cuts README.md into its sections and finds their fenced
// code blocks. A block whose first line starts with "$ " is a shell
// sample: each "$ " line is a command, and the lines up to the next one
// are its output (stdout and stderr, as a terminal shows them). A block
// whose first line is "# PATH.star" shows a file of the section's example.
func parseREADME(data string) []*readmeSection {
	lines := strings.Split(data, "\n")
	sec := &readmeSection{title: "top", files: map[string]string{}}
	secs := []*readmeSection{sec}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if title, ok := strings.CutPrefix(line, "## "); ok {
			sec = &readmeSection{title: title, files: map[string]string{}}
			secs = append(secs, sec)
			continue
		}
		if !strings.HasPrefix(line, "```") {
			continue
		}
		start := i + 1
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
		}
		block := lines[start:i]
		switch {
		case len(block) == 0:
		case strings.HasPrefix(block[0], "$ "):
			var session []readmeCommand
			for j, l := range block {
				if cmd, ok := strings.CutPrefix(l, "$ "); ok {
					session = append(session, readmeCommand{line: start + j + 1, cmd: cmd})
					continue
				}
				session[len(session)-1].want += l + "\n"
			}
			sec.sessions = append(sec.sessions, session)
		case readmeFileRE.MatchString(block[0]):
			name := readmeFileRE.FindStringSubmatch(block[0])[1]
			sec.files[name] = strings.Join(block, "\n") + "\n"
		}
	}
	return secs
}

// TestREADME runs the shell samples of README.md and compares their
// output with the one shown, as Go's example tests do. Each section's
// samples run, in order, in a scratch workspace of their own: the files
// the section shows, if it shows any, else a copy of this repository's
// workspace (bpfstar.workspace and examples/). "bpfstar" is this
// program, run in-process; "cd DIR" changes directory; a "# comment" at
// the end of a command is left out. Samples that verify need root.
func TestREADME(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	samples := 0
	for _, sec := range parseREADME(string(data)) {
		if len(sec.sessions) == 0 {
			continue
		}
		samples += len(sec.sessions)
		t.Run(sec.title, func(t *testing.T) {
			dir := t.TempDir()
			files := sec.files
			if len(files) == 0 {
				files = repoWorkspace(t)
			}
			if _, ok := files["bpfstar.workspace"]; !ok {
				files["bpfstar.workspace"] = ""
			}
			for name, text := range files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			for _, session := range sec.sessions {
				for _, c := range session {
					runREADMECommand(t, c)
				}
			}
		})
	}
	if samples < 3 {
		t.Errorf("found %d shell samples in README.md, want at least 3: has their form changed?", samples)
	}
}

func runREADMECommand(t *testing.T, c readmeCommand) {
	t.Helper()
	cmd := c.cmd
	if i := strings.Index(cmd, " #"); i >= 0 {
		cmd = cmd[:i]
	}
	args := strings.Fields(cmd)
	switch {
	case len(args) == 2 && args[0] == "cd":
		t.Chdir(args[1])
		return
	case len(args) > 0 && args[0] == "bpfstar":
	default:
		t.Fatalf("README.md:%d: cannot run %q: only bpfstar and cd are supported", c.line, cmd)
	}
	if len(args) > 1 && (args[1] == "verify" || args[1] == "test" || args[1] == "run") {
		testenv.Root(t)
	}
	var out bytes.Buffer
	Main(args[1:], &out, &out)
	if got := out.String(); got != c.want {
		t.Errorf("README.md:%d: $ %s\ngot:\n%s\nwant (README.md):\n%s", c.line, strings.TrimSpace(cmd), got, c.want)
	}
}

// repoWorkspace returns the files of this repository's workspace: its
// marker and the .star files of examples/.
func repoWorkspace(t *testing.T) map[string]string {
	files := map[string]string{"bpfstar.workspace": ""}
	paths, err := filepath.Glob("../../examples/*.star")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files["examples/"+filepath.Base(p)] = string(b)
	}
	return files
}

// TestREADMEInstall checks what the README's Install section says: that
// `go install ./cmd/bpfstar` puts a working bpfstar in $(go env GOBIN),
// and that `make build` writes bin/bpfstar.
func TestREADMEInstall(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"go install ./cmd/bpfstar   # into $(go env GOBIN), or $(go env GOPATH)/bin",
		"make build                 # into bin/bpfstar of the clone",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
	goTool := testenv.Tool(t, "go")
	makeTool := testenv.Tool(t, "make")

	gobin := t.TempDir()
	install := exec.Command(goTool, "install", "./cmd/bpfstar")
	install.Dir = "../.."
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install ./cmd/bpfstar: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(gobin, "bpfstar"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "bpfstar ") {
		t.Errorf("the installed bpfstar --version: %v, %q", err, out)
	}

	dry := exec.Command(makeTool, "-n", "build")
	dry.Dir = "../.."
	out, err = dry.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "build -o bin/bpfstar ./cmd/bpfstar") {
		t.Errorf("make build does not write bin/bpfstar: it runs\n%s", out)
	}
}
