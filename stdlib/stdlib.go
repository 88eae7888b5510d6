// Package stdlib is bpfstar's standard library: Starlark files, embedded in
// the binary, that a program file loads with load("@std//NAME.star", ...)
// in every build (single-file builds outside a workspace, workspace
// targets, Bazel actions) without any file of its own.
//
// The library is versioned with the binary: its files are no inputs of a
// build (no depfile entry, no manifest entry), but Digest, which changes
// with any of them, is part of every cache key, so a build cached with one
// library is never taken for a build with another.
//
// The files (see README's "Standard library" for the reference, generated
// from their doc comments by TestReference):
//
//	uapi.star      constants of the kernel UAPI, generated from the headers (gen.go)
//	helpers.star   the helpers' parameter names, generated from the helper table
//	endian.star    htons, htonl, htonll, ntohs, ntohl, ntohll
//	ctx.star       context fields by name, for every program type
//	frame.star     named stack slots
//	call.star      helper calls with named arguments, map lookups, atomic counters
//	flow.star      structured control flow: if_, loop, ret, goto_if
//	net.star       bounds-checked packet header access
//	events.star    ringbuf and perf event output of a typed event
//	bpf.star       all of the above but uapi.star in one load
package stdlib

//go:generate go run gen.go

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sort"
	"strings"
)

// Prefix begins the load() label of every file of the library.
const Prefix = "@std//"

//go:embed *.star
var files embed.FS

// File returns the contents of the library file name ("net.star"), and
// whether the library has it.
func File(name string) ([]byte, bool) {
	if strings.Contains(name, "/") || !strings.HasSuffix(name, ".star") {
		return nil, false
	}
	src, err := files.ReadFile(name)
	return src, err == nil
}

// Names returns the names of the library's files, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Digest returns the sha256, in hex, of the whole library (every file's
// name and contents): it changes whenever any file does.
func Digest() string {
	h := sha256.New()
	for _, n := range Names() {
		src, _ := File(n)
		h.Write([]byte(n))
		h.Write([]byte{0})
		var l [8]byte
		for i, v := 0, uint64(len(src)); i < 8; i++ {
			l[i] = byte(v >> (8 * i))
		}
		h.Write(l[:])
		h.Write(src)
	}
	return hex.EncodeToString(h.Sum(nil))
}
