package workspace

import (
	"bytes"
	"debug/elf"
	"os"
	"strings"
)

// ExecutableID returns a string that changes whenever the running binary
// does: the Go build ID from its ELF note (the go command derives it from
// the binary's inputs and contents) when it has the go command's form, or
// else the sha256 of the whole executable. Combined with the version, it keys the build cache, so a
// rebuilt bpfstar never trusts what an older one cached. It reads the
// executable on every call (there is no process-wide memo): call it once
// and keep the result, as Options.ToolID does.
func ExecutableID() string {
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	if id := goBuildID(exe); id != "" {
		return "go-build-id:" + id
	}
	if data, err := os.ReadFile(exe); err == nil {
		return "sha256:" + digest(data)
	}
	return "unknown"
}

// goBuildID reads the Go build ID note (name "Go", type 4) of an ELF file.
func goBuildID(file string) string {
	f, err := elf.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return ""
	}
	data, err := s.Data()
	if err != nil || len(data) < 16 {
		return ""
	}
	bo := f.ByteOrder
	namesz, descsz, typ := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
	name := data[12:]
	if typ != 4 || namesz != 4 || !bytes.HasPrefix(name, []byte("Go\x00\x00")) || uint64(len(name)) < 4+uint64(descsz) {
		return ""
	}
	id := string(name[4 : 4+descsz])
	if !strings.Contains(id, "/") {
		// Not an ID the go command computed (actionID/contentID...): a
		// linker given -buildid=redacted, say, writes the same string
		// into every binary, which would let a new bpfstar trust an old
		// one's cache.
		return ""
	}
	return id
}
