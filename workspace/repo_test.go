package workspace

import (
	"path/filepath"
	"strings"
	"testing"
)

// The repository is a workspace whose //... builds every example:
// examples/BUILD.star must declare a target for each program there. (The
// reproducibility test in cmd/bpfstar builds a copy of it.)
func TestRepositoryBuildsEveryExample(t *testing.T) {
	w, err := Find("..")
	if err != nil || w == nil {
		t.Fatalf("the repository root has no %s: %v", MarkerFile, err)
	}
	targets, _, err := w.Targets([]string{"//..."}, "", Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string]bool{}
	for _, tg := range targets {
		srcs[tg.Src] = true
	}
	files, err := filepath.Glob(filepath.Join(w.Root, "examples", "*.star"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		rel, _ := w.Rel(f)
		if filepath.Base(rel) != BuildFileName && !strings.HasSuffix(rel, "_test.star") && !srcs[rel] {
			t.Errorf("%s is not the src of any bpf_object in examples/%s", rel, BuildFileName)
		}
	}
}
