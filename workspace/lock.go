package workspace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/bpfstar/bpfstar/compile"
)

// ManifestFile is the manifest of the last build, relative to the root.
const ManifestFile = OutDir + "/manifest.json"

// Manifest lists the outputs of a build: for each target, the sha256 of
// its object and of every file it was built from.
type Manifest struct {
	Targets []ManifestEntry `json:"targets"`
}

// A ManifestEntry describes one output.
type ManifestEntry struct {
	Label  string  `json:"label"`
	Output string  `json:"output"` // relative to the root
	SHA256 string  `json:"sha256"`
	Inputs []Input `json:"inputs"` // the program file first, then the files it loaded, then the data files it read
	// Go and GoSHA256 are the Go bindings (bpf_object's go_package), if any.
	Go       string `json:"go,omitempty"`
	GoSHA256 string `json:"go_sha256,omitempty"`
}

// WriteManifest writes bpfstar-out/manifest.json for the successful
// results, sorted by label. It holds nothing that depends on the machine,
// the time or the place of the workspace.
func (w *Workspace) WriteManifest(results []*Result) error {
	if _, err := w.root(); err != nil {
		return err
	}
	if err := checkResults(results); err != nil {
		return err
	}
	m := Manifest{Targets: []ManifestEntry{}}
	for _, r := range results {
		if r.Err == nil {
			m.Targets = append(m.Targets, ManifestEntry{Label: r.Target.Label.String(), Output: r.Output, SHA256: r.SHA256, Inputs: r.Inputs, Go: r.GoOutput, GoSHA256: r.GoSHA256})
		}
	}
	sort.Slice(m.Targets, func(i, j int) bool { return m.Targets[i].Label < m.Targets[j].Label })
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return w.writeIfChanged(ManifestFile, append(data, '\n'))
}

// Lock is the contents of bpfstar.lock: the sha256 of each target's output,
// by label.
type Lock map[string]string

const lockHeader = `# bpfstar.lock: the sha256 of every target's output. Written by
# 'bpfstar build --lock'; 'bpfstar build --check' rebuilds the targets from
# scratch and fails if any output differs from what is recorded here.
`

var lockLineRE = regexp.MustCompile(`^(//\S*:\S+) ([0-9a-f]{64})$`)

// ReadLock reads bpfstar.lock; a missing file is an empty lock.
func (w *Workspace) ReadLock() (Lock, error) {
	if _, err := w.root(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(w.Abs(LockFile))
	if errors.Is(err, fs.ErrNotExist) {
		return Lock{}, nil
	}
	if err != nil {
		return nil, err
	}
	lock := Lock{}
	// Lines of any length: a line too long for a scanner must be an
	// error, not the silent end of the file (and of the entries after it).
	for n, line := range strings.Split(string(data), "\n") {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := lockLineRE.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: want LABEL SHA256, got %q", LockFile, n, line)
		}
		if _, dup := lock[m[1]]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", LockFile, n, m[1])
		}
		lock[m[1]] = m[2]
	}
	return lock, nil
}

// UpdateLock records the digests of the successful results in bpfstar.lock.
// Entries the patterns select are replaced (so a target that no longer
// exists drops out); the others are kept.
//
// Concurrent updates (two `bpfstar build --lock` at once) take turns: each
// holds an exclusive lock on bpfstar-out/lock.flock while it reads, merges
// and writes, so that neither loses the other's entries.
func (w *Workspace) UpdateLock(results []*Result, patterns []Pattern) error {
	if err := checkResults(results); err != nil {
		return err
	}
	root, err := w.root()
	if err != nil {
		return err
	}
	if err := w.mkdirOut(OutDir); err != nil {
		return err
	}
	unlock, err := lockExclusive(filepath.Join(root, OutDir, "lock.flock"))
	if err != nil {
		return fmt.Errorf("locking %s: %v", LockFile, err)
	}
	defer unlock()
	lock, err := w.ReadLock()
	if err != nil {
		return err
	}
	for label := range lock {
		if matchesAny(label, patterns) {
			delete(lock, label)
		}
	}
	for _, r := range results {
		if r.Err == nil {
			lock[r.Target.Label.String()] = r.SHA256
		}
	}
	labels := make([]string, 0, len(lock))
	for l := range lock {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	var b strings.Builder
	b.WriteString(lockHeader)
	for _, l := range labels {
		fmt.Fprintf(&b, "%s %s\n", l, lock[l])
	}
	return compile.WriteFile(w.Abs(LockFile), []byte(b.String()))
}

func matchesAny(label string, patterns []Pattern) bool {
	rest, ok := strings.CutPrefix(label, "//")
	if !ok {
		return false
	}
	pkg, name, ok := strings.Cut(rest, ":")
	if !ok {
		return false
	}
	for _, p := range patterns {
		if p.Matches(Label{pkg, name}) {
			return true
		}
	}
	return false
}

// CheckLock compares the successful results with bpfstar.lock. It returns
// one line for each discrepancy, sorted by label: an output whose digest
// differs, a target the lock does not list, and a label the lock lists,
// the patterns select, but no target has any more.
func (w *Workspace) CheckLock(results []*Result, patterns []Pattern) ([]string, error) {
	if err := checkResults(results); err != nil {
		return nil, err
	}
	lock, err := w.ReadLock()
	if err != nil {
		return nil, err
	}
	var report []string
	built := map[string]bool{}
	for _, r := range results {
		l := r.Target.Label.String()
		built[l] = true
		if r.Err != nil {
			continue
		}
		switch want, ok := lock[l]; {
		case !ok:
			report = append(report, fmt.Sprintf("%s: not in %s (its output is sha256 %s)", l, LockFile, r.SHA256))
		case want != r.SHA256:
			report = append(report, fmt.Sprintf("%s: output %s has sha256 %s, %s records %s", l, r.Output, r.SHA256, LockFile, want))
		}
	}
	for l := range lock {
		if !built[l] && matchesAny(l, patterns) {
			report = append(report, fmt.Sprintf("%s: in %s, but there is no such target", l, LockFile))
		}
	}
	sort.Strings(report)
	return report, nil
}
