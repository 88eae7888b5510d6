package starlib

import (
	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/asm"
)

// KernelNameLen is how many characters of a map or program name the kernel
// keeps (BPF_OBJ_NAME_LEN, 16, with the terminating NUL). The loaders
// (libbpf, cilium/ebpf) find maps and programs by their whole names, and
// pass the first KernelNameLen characters to the kernel, which is what
// bpftool and /proc show.
const KernelNameLen = 15

// kernelName is a name the kernel will see: the map or program that had
// it first.
type kernelName struct {
	name string
	pos  asm.Pos
}

// kernelKey identifies a kernel name: maps and programs have names of
// their own kind.
type kernelKey struct {
	what string // "map" or "program"
	name string // the name as the kernel keeps it
}

// claimKernelName checks that the name of a map or program (what) stays
// distinct from the others of its kind once the kernel truncates it to
// KernelNameLen characters. Exact duplicates are claim's business.
func (u *unit) claimKernelName(b *starlark.Builtin, what, name string, pos asm.Pos) error {
	k := kernelKey{what, name[:min(len(name), KernelNameLen)]}
	if prev, ok := u.kernelNames[k]; ok {
		return errorf(b, "%s %q and %s %q (defined at %v) have the same name in the kernel, %q: it keeps the first %d characters of a %s name", what, name, what, prev.name, prev.pos, k.name, KernelNameLen, what)
	}
	if u.kernelNames == nil {
		u.kernelNames = make(map[kernelKey]kernelName)
	}
	u.kernelNames[k] = kernelName{name, pos}
	return nil
}
