package vm_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/vm"
)

// TestClangObjects runs the programs of clang-19's objects (the C
// equivalents of the examples, bench/c) in the kernel and in the
// interpreter, on the same packets: return values, output packets and the
// values of their array maps must agree. It checks that the interpreter
// loads what clang writes (static functions called through relocations to
// section symbols, globals in .data, .rodata and .bss, BTF line info of
// the .c file).
func TestClangObjects(t *testing.T) {
	testenv.Root(t)
	clang, include := testenv.ClangBPF(t, "/usr/include/linux/bpf.h", "/usr/include/bpf/bpf_helpers.h")
	srcs, err := filepath.Glob("../bench/c/*.c")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no C files: %v", err)
	}
	udp := frame(74, []byte{2, 0, 0, 0, 0, 2})
	udp[23] = 17 // UDP
	eth := make([]byte, 14)
	eth[12] = 0x08
	packets := [][]byte{udp, eth, frame(100, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})}
	for _, src := range srcs {
		t.Run(filepath.Base(src), func(t *testing.T) {
			obj := filepath.Join(t.TempDir(), "x.o")
			args := []string{"-target", "bpf", "-mcpu=v4", "-O2", "-g", "-I", include, "-c", src, "-o", obj}
			if out, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
				t.Fatalf("clang-19 %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			data, err := os.ReadFile(obj)
			if err != nil {
				t.Fatal(err)
			}
			spec, err := ebpf.LoadCollectionSpecFromReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			o, err := vm.LoadObject(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range o.Programs() {
				ps := spec.Programs[name]
				if ps == nil {
					t.Fatalf("cilium/ebpf has no program %s", name)
				}
				if ps.Type == ebpf.CGroupDevice {
					continue // BPF_PROG_TEST_RUN cannot run it
				}
				coll, err := ebpf.NewCollection(spec)
				if err != nil {
					t.Fatal(err)
				}
				for _, pkt := range packets {
					kout := make([]byte, len(pkt)+256)
					opts := &ebpf.RunOptions{Data: pkt, DataOut: kout}
					kret, kerr := coll.Programs[name].Run(opts)
					p, err := o.Program(name)
					if err != nil {
						t.Fatal(err)
					}
					m, err := o.NewMachine(vm.Env{})
					if err != nil {
						t.Fatal(err)
					}
					out, err := m.RunProgram(p, vm.Input{Data: pkt})
					if kerr != nil {
						// The kernel refuses the packet: so must the interpreter.
						if !errors.Is(kerr, unix.EINVAL) || !errors.Is(err, vm.ErrInput) {
							t.Fatalf("%s on %d bytes: %v (kernel), %v (vm)", name, len(pkt), kerr, err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if out.Retval != kret || !bytes.Equal(out.Data, opts.DataOut) {
						t.Fatalf("%s on %d bytes: retval %d (kernel) %d (vm), data %x (kernel) %x (vm)", name, len(pkt), kret, out.Retval, opts.DataOut, out.Data)
					}
					for mname, km := range coll.Maps {
						vmap := m.Map(mname)
						if km.Type() != ebpf.Array || vmap == nil || strings.HasPrefix(mname, ".") {
							continue
						}
						for k := uint32(0); k < km.MaxEntries(); k++ {
							var kv []byte
							if err := km.Lookup(k, &kv); err != nil {
								t.Fatal(err)
							}
							vv, _ := vmap.Lookup(binary.LittleEndian.AppendUint32(nil, k), 0)
							if !bytes.Equal(kv, vv) {
								t.Errorf("%s: %s[%d] is %x (kernel) %x (vm)", name, mname, k, kv, vv)
							}
						}
						// The next packet starts from empty maps on both.
						for k := uint32(0); k < km.MaxEntries(); k++ {
							km.Put(k, make([]byte, km.ValueSize()))
						}
					}
				}
				coll.Close()
				// Line info: the program's first slot comes from the .c file.
				p, _ := o.Program(name)
				if l := p.Line(p.Entry()); !strings.HasSuffix(l.File, ".c") || l.Line == 0 {
					t.Errorf("%s: the first instruction's line is %v, want one of a .c file", name, l)
				}
			}
		})
	}
}
