package objreader

import (
	"os"
	"testing"
)

// FuzzRead checks that no input makes Read or any method of the File it
// returns panic. The seeds are the examples' golden objects, and in
// testdata/fuzz/FuzzRead an object clang-19 compiled from testdata/core.c
// (with CO-RE records and the unfinished DATASECs clang writes).
func FuzzRead(f *testing.F) {
	for _, path := range goldens(f) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(data)
		if err != nil {
			return
		}
		for i := range file.Sections {
			_, _ = file.Relocations(i)
		}
		progs, err := file.Programs()
		if err == nil {
			for _, p := range progs {
				if uint64(len(p.Code)) != p.Size {
					t.Fatalf("%s: %d bytes of code, size %d", p.Name, len(p.Code), p.Size)
				}
				_, _ = p.Instructions()
			}
		}
		_, _ = file.Maps()
		if globals, err := file.Globals(); err == nil {
			for _, g := range globals {
				if g.Data != nil && uint64(len(g.Data)) != g.Size {
					t.Fatalf("%s: %d bytes of data, size %d", g.Name, len(g.Data), g.Size)
				}
			}
		}
		_ = file.License()
		if spec, err := file.BTF(); err == nil {
			for _, err := range spec.All() {
				if err != nil {
					break
				}
			}
		}
		_, _ = file.BTFExt()
	})
}
