package objreader_test

import (
	"fmt"
	"log"
	"os"

	"github.com/bpfstar/bpfstar/objreader"
)

// Read an object and list what it holds: here the golden object of
// examples/xdp_count.star, one XDP program calling three functions, a map
// and three global variables.
func ExampleRead() {
	data, err := os.ReadFile("../examples/testdata/xdp_count.o")
	if err != nil {
		log.Fatal(err)
	}
	f, err := objreader.Read(data)
	if err != nil {
		log.Fatal(err)
	}

	progs, err := f.Programs()
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range progs {
		kind := "function"
		if p.Entry() {
			kind = "program"
		}
		fmt.Printf("%-8s %-13s in %-5s %3d bytes at %#x\n", kind, p.Name, p.Section, p.Size, p.Offset)
	}

	maps, err := f.Maps()
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range maps {
		fmt.Printf("map %s: type %d, %d-byte keys, %d-byte values, %d entries\n", m.Name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries)
	}

	globals, err := f.Globals()
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range globals {
		if g.Data == nil { // .bss
			fmt.Printf("global %s in %s: %d zeros\n", g.Name, g.Section, g.Size)
			continue
		}
		fmt.Printf("global %s in %s: % x\n", g.Name, g.Section, g.Data)
	}

	// The instruction at byte 0 of xdp comes from line 53 of the .star
	// file.
	ext, err := f.BTFExt()
	if err != nil {
		log.Fatal(err)
	}
	li := ext.Section("xdp").Lines[0]
	fmt.Printf("xdp+%d: %s:%d:%d: %s\n", li.InsnOffset, li.File, li.Line, li.Column, li.Text)
	fmt.Printf("license %q\n", f.License())

	// Output:
	// function packet_length in .text  32 bytes at 0x0
	// function add           in .text  88 bytes at 0x20
	// function account       in .text  64 bytes at 0x78
	// program  xdp_count     in xdp   144 bytes at 0x0
	// map stats: type 2, 4-byte keys, 8-byte values, 2 entries
	// global verdict in .rodata: 02 00 00 00
	// global min_len in .data: 0e 00 00 00
	// global seen in .bss: 8 zeros
	// xdp+0: examples/xdp_count.star:53:22:     insn.ld_map_value(r2, seen),
	// license "GPL"
}
