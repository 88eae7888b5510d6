package link

import (
	"debug/elf"
	"fmt"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/objwriter"
	"github.com/bpfstar/bpfstar/progtype"
)

// StructOps is a struct_ops map: a kernel struct of function pointers
// (tcp_congestion_ops, ...) whose members are programs, which the loaders
// register with the kernel. The object holds it as clang emits a global
// of the struct in section .struct_ops.link (cilium/ebpf, libbpf 1.2 and
// later: registered through a BPF link) or .struct_ops (libbpf 1.1 and
// bpftool struct_ops register; cilium/ebpf refuses it): the struct's
// bytes, a relocation naming the program at each function pointer, and a
// VAR of the local struct type in the section's DATASEC. The loaders find
// the kernel's struct of the same name in the kernel's BTF and copy the
// members by name.
type StructOps struct {
	Name    string
	Section string // ".struct_ops.link" or ".struct_ops"
	// Type is the local struct: the members given, the programs' as
	// function pointers, the data members' with their types.
	Type *btf.Struct
	// Data is the struct's initial bytes (Type.Size() of them): the data
	// members' values; zero at the function pointers.
	Data []byte
	// Progs names the program of each function pointer member.
	Progs []StructOpsProg
	Pos   asm.Pos
}

// StructOpsProg is a function pointer member of a StructOps and the
// program it points at.
type StructOpsProg struct {
	Member string
	Symbol string
}

// structOpsSectionNames are the sections of struct_ops maps, in object order.
var structOpsSectionNames = []string{".struct_ops", ".struct_ops.link"}

// IsStructOpsSection reports whether a program in section sec is a
// struct_ops program ("struct_ops", "struct_ops/NAME", their sleepable
// ".s" forms).
func IsStructOpsSection(sec string) bool {
	d, ok := progtype.Lookup(sec)
	return ok && d.StructOps()
}

// structOpsSections lays out the struct_ops maps, section by section.
func (l *linker) structOpsSections() error {
	l.structOpsOff = map[*StructOps]uint32{}
	for _, name := range structOpsSectionNames {
		s := &objwriter.Section{Name: name, Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Align: 8}
		for _, so := range l.u.StructOps {
			if so.Section != name {
				continue
			}
			off := uint32(len(s.Data))
			size := so.Type.Size()
			if uint32(len(so.Data)) != size {
				return &Error{Pos: so.Pos, Kind: ErrStructOps, Msg: fmt.Sprintf("struct_ops %q: %d bytes of data for a struct of %d", so.Name, len(so.Data), size)}
			}
			s.Data = append(s.Data, so.Data...)
			s.Data = append(s.Data, make([]byte, (8-len(s.Data)%8)%8)...)
			s.Symbols = append(s.Symbols, objwriter.Symbol{Name: so.Name, Value: uint64(off), Size: uint64(size), Type: elf.STT_OBJECT, Bind: elf.STB_GLOBAL})
			for _, p := range so.Progs {
				if err := l.checkStructOpsProg(so, p); err != nil {
					return err
				}
				loc, err := btf.Offsetof(so.Type, p.Member)
				if err != nil {
					return &Error{Pos: so.Pos, Kind: ErrStructOps, Msg: fmt.Sprintf("struct_ops %q: %v", so.Name, err)}
				}
				s.Relocs = append(s.Relocs, objwriter.Reloc{Offset: uint64(off) + loc.BitOffset/8, Symbol: p.Symbol, Type: objwriter.R_BPF_64_ABS64})
			}
			l.structOpsOff[so] = off
		}
		if len(s.Data) == 0 {
			continue
		}
		if err := l.obj.AddSection(s); err != nil {
			return err
		}
	}
	return nil
}

// checkStructOpsProg checks that a struct_ops member names a program of
// the unit in a struct_ops section: the loaders take the members'
// programs from those sections only.
func (l *linker) checkStructOpsProg(so *StructOps, p StructOpsProg) error {
	fail := func(format string, args ...any) error {
		return &Error{Pos: so.Pos, Kind: ErrStructOps, Msg: fmt.Sprintf("struct_ops %q: member %q: ", so.Name, p.Member) + fmt.Sprintf(format, args...)}
	}
	for j := range l.u.Programs {
		prog := &l.u.Programs[j]
		if prog.Symbol != p.Symbol {
			continue
		}
		if !IsStructOpsSection(prog.Section) {
			return fail("program %q is in section %q: a struct_ops member's program is in section \"struct_ops/NAME\" (or \"struct_ops.s/NAME\", sleepable)", p.Symbol, prog.Section)
		}
		return nil
	}
	if _, ok := l.funcOff[p.Symbol]; ok {
		return fail("%q is a function, not a program", p.Symbol)
	}
	return fail("no program %q (programs: %v)", p.Symbol, l.programNames())
}

// structOpsBTF adds, for each struct_ops section, a VAR of each map's
// local struct type and the section's DATASEC.
func (l *linker) structOpsBTF(b *btf.Builder, addType func(btf.Type) (btf.TypeID, error)) error {
	for _, name := range structOpsSectionNames {
		s := l.obj.Section(name)
		if s == nil {
			continue
		}
		var vars []btf.VarSecinfo
		for _, so := range l.u.StructOps {
			if so.Section != name {
				continue
			}
			t, err := addType(so.Type)
			if err != nil {
				return fmt.Errorf("encoding BTF: struct_ops %q: %v", so.Name, err)
			}
			v := b.Var(so.Name, t, btf.VarGlobalAllocated)
			vars = append(vars, btf.VarSecinfo{Type: v, Offset: l.structOpsOff[so], Size: so.Type.Size()})
		}
		b.Datasec(name, uint32(len(s.Data)), vars)
	}
	return nil
}
