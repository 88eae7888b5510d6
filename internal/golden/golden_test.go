package golden

import (
	"flag"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// go test ./... -update passes -update to every test binary, and one that
// does not define the flag fails: so every package with tests must import
// this package (update_flag_test.go does it in one line).
func TestEveryTestPackageKnowsUpdate(t *testing.T) {
	root := filepath.Join("..", "..")
	importers := map[string]bool{} // directory -> imports golden
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bpfstar-out") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		importers[dir] = importers[dir] || filepath.Base(dir) == "golden" // defines it
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/bpfstar/bpfstar/internal/golden" {
				importers[dir] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir, ok := range importers {
		if !ok {
			t.Errorf("%s has tests but does not import internal/golden: go test ./... -update would fail there (add an update_flag_test.go)", dir)
		}
	}
}

// Updating follows the -update flag, and under it Check writes the golden
// file, which a later Check without it then accepts.
func TestUpdating(t *testing.T) {
	was := Updating()
	t.Cleanup(func() { flag.Set("update", strconv.FormatBool(was)) })
	if err := flag.Set("update", "true"); err != nil || !Updating() {
		t.Fatalf("-update=true: Updating() = %v, %v", Updating(), err)
	}
	path := filepath.Join(t.TempDir(), "sub", "golden.txt")
	Check(t, path, []byte("want"))
	if err := flag.Set("update", "false"); err != nil || Updating() {
		t.Fatalf("-update=false: Updating() = %v, %v", Updating(), err)
	}
	Check(t, path, []byte("want"))
}
