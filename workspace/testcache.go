package workspace

import (
	"encoding/json"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A TestCache remembers the test runs of `bpfstar test` whose every case
// passed, in the build cache of the workspace around a test file, so that
// running the same tests of the same object again on the same kernel
// passes without loading anything (Bazel's "(cached) PASSED"). Failed and
// skipped runs are never remembered. The zero TestCache, and one for a
// file outside any workspace, remembers nothing.
type TestCache struct {
	c *cache
}

// NewTestCache returns the test cache of the workspace around file, or a
// cache that remembers nothing when there is none or disabled is set.
// toolID identifies the bpfstar binary, as Options.ToolID does.
func NewTestCache(file, toolID string, disabled bool) *TestCache {
	if disabled {
		return &TestCache{}
	}
	w, err := Find(filepath.Dir(file))
	if err != nil || w == nil {
		return &TestCache{}
	}
	return &TestCache{c: newCache(w, toolID, false)}
}

// Key returns the cache key of a run: the object's bytes, the cases (any
// value that describes them completely, as JSON) and the running kernel's
// release, under the tool's identity.
func (t *TestCache) Key(obj []byte, cases any) string {
	if t == nil || t.c == nil {
		return ""
	}
	data, err := json.Marshal(cases)
	if err != nil {
		return ""
	}
	var u unix.Utsname
	release := "unknown"
	if unix.Uname(&u) == nil {
		release = unix.ByteSliceToString(u.Release[:])
	}
	return t.c.key("test", digest(obj), digest(data), release)
}

// Passed reports whether the run of key passed before.
func (t *TestCache) Passed(key string) bool {
	if t == nil || t.c == nil || key == "" {
		return false
	}
	var e testEntry
	return t.c.getJSON("tests", key, &e) && e.Passed
}

// RecordPass remembers that the run of key passed.
func (t *TestCache) RecordPass(key string) {
	if t == nil || t.c == nil || key == "" {
		return
	}
	t.c.putJSON("tests", key, testEntry{Passed: true})
}

type testEntry struct {
	Passed bool `json:"passed"`
}
