package link

import "github.com/bpfstar/bpfstar/btf"

// ContextType returns the struct of linux/bpf.h that a program in section
// takes as its context (xdp_md for "xdp", __sk_buff for "tc", ...), or nil
// when its context is no UAPI struct.
func ContextType(section string) btf.Type {
	name := contextStruct(section)
	if name == "" {
		return nil
	}
	return contextType(name)
}
