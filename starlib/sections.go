package starlib

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/internal/spell"
	"github.com/bpfstar/bpfstar/progtype"
)

// checkSection reports whether the loaders can tell the program type of a
// program in section name, and if not, why, with the nearest known name.
func checkSection(name string) error {
	if _, ok := progtype.Lookup(name); ok {
		return nil
	}
	head, _, _ := strings.Cut(strings.TrimPrefix(name, "?"), "/")
	defs := progtype.Defs()
	names := make([]string, len(defs))
	for i, d := range defs {
		names[i] = d.Base()
	}
	hint := ""
	best, bestD := "", len(head)/2+1
	for _, c := range names {
		if d := spell.Distance(head, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best != "" {
		hint = fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Errorf("section name %q: neither libbpf nor cilium/ebpf can tell the program type of this section%s; see the section names in README", name, hint)
}

// checkProgArrays checks that the programs a prog_array's values name are
// all of the type and expected attach type of the first: the kernel gives
// a prog_array the type of the first program put in it and refuses
// programs of other types (and, since Linux 6.18, of other expected attach
// types: tc and tc/ingress differ), so the loaders would fail to fill it. Names of no program are left to the
// linker, which says so.
func (u *unit) checkProgArrays() error {
	sections := make(map[string]string, len(u.Programs))
	for i := range u.Programs {
		sections[u.Programs[i].Symbol] = u.Programs[i].Section
	}
	for _, m := range u.Maps {
		if m.Type != "prog_array" {
			continue
		}
		first := -1
		for i, v := range m.Values {
			sec, ok := sections[v]
			if !ok {
				continue
			}
			if first < 0 {
				first = i
				continue
			}
			v0 := m.Values[first]
			sec0 := sections[v0]
			if t, t0 := tailCallType(sec), tailCallType(sec0); t != t0 {
				return &asm.Error{Pos: m.Pos, Msg: fmt.Sprintf("map %q: values[%d]: program %q (section %q) is of type %s, and values[%d], program %q (section %q), of type %s: a prog_array holds programs of one type, and the kernel would refuse %q", m.Name, i, v, sec, t, first, v0, sec0, t0, v)}
			}
			if a, a0 := attachType(sec), attachType(sec0); a != a0 {
				return &asm.Error{Pos: m.Pos, Msg: fmt.Sprintf("map %q: values[%d]: program %q (section %q) has expected attach type %s, and values[%d], program %q (section %q), %s: a prog_array holds programs of one type and expected attach type, and the kernel (Linux 6.18 and stable kernels with the fix of CVE-2025-40123) would refuse %q", m.Name, i, v, sec, a, first, v0, sec0, a0, v)}
			}
		}
	}
	return nil
}

// tailCallType is the program type of a program in section sec, as a
// prog_array's owner: the kernel also tells XDP programs that take
// multi-buffer packets (xdp.frags, BPF_F_XDP_HAS_FRAGS) from those that do
// not, and refuses to mix them.
func tailCallType(sec string) string {
	d, ok := progtype.Lookup(sec)
	if !ok {
		return ""
	}
	if d.Flags&progtype.XDPFrags != 0 {
		return "xdp with frags (xdp.frags)"
	}
	return d.Type.String()
}

// attachType is the expected attach type the loaders give a program in
// section sec.
func attachType(sec string) progtype.AttachType {
	d, ok := progtype.Lookup(sec)
	if !ok {
		return progtype.AttachNone
	}
	return d.Attach
}

// sectionContext checks the ctx argument of section(): None, or a struct
// or union type (a ctype, from btf_types or types) for a program whose
// section gives it no UAPI context, such as a tracepoint's
// trace_event_raw_NAME of the kernel's BTF. It returns the type, or nil
// for None.
func sectionContext(section string, ctx starlark.Value) (btf.Type, error) {
	if ctx == starlark.None {
		return nil, nil
	}
	ct, ok := ctx.(*CType)
	if !ok {
		return nil, fmt.Errorf("ctx: got %s, want a struct type (a ctype of btf_types or types)", ctx.Type())
	}
	d, _ := progtype.Lookup(section)
	if d.Context != "" {
		what := "struct " + d.Context + " *"
		if d.Context == progtype.TracingContext {
			what = d.Context + " *"
		}
		return nil, fmt.Errorf("ctx: a program in section %q takes %s (types.context(%q)); ctx is for programs whose section gives no context type (tracepoint/, tp/, iter/, syscall, ...)", section, what, section)
	}
	name := ct.String()
	switch t := btf.Resolve(ct.t).(type) {
	case *btf.Struct:
		name = "struct " + t.Name
	case *btf.Union:
		name = "union " + t.Name
	default:
		return nil, fmt.Errorf("ctx: %s is no struct or union: a program's context is a pointer to one", name)
	}
	if ct.t.Size() == 0 {
		return nil, fmt.Errorf("ctx: %s has no members: a context type has its members", name)
	}
	return ct.t, nil
}
