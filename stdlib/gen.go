//go:build ignore

// gen.go writes uapi.star from the kernel UAPI headers in /usr/include
// (with clang-19 evaluating them) and helpers.star from the helper table.
// Run it with `go generate ./stdlib`.
package main

import (
	"log"
	"os"

	"github.com/bpfstar/bpfstar/stdlib/internal/gen"
)

func main() {
	uapi, err := gen.UAPI("clang-19", "/usr/include")
	if err != nil {
		log.Fatal(err)
	}
	helpers, err := gen.Helpers()
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("uapi.star", uapi, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("helpers.star", helpers, 0o644); err != nil {
		log.Fatal(err)
	}
}
