package starlib

import (
	"fmt"
	"strings"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/helper"
	"github.com/bpfstar/bpfstar/isa"
)

// checkGPLHelpers reports a call of a GPL-only helper (helper.GPLOnly) in
// a program, or in a function a program calls, when the file's license()
// is not GPL-compatible: the kernel would refuse to load the program. It
// runs once the whole file is evaluated, when the license is known.
func (u *unit) checkGPLHelpers() error {
	if u.HasLicense && helper.GPLCompatible(u.License) {
		return nil
	}
	funcs := make(map[string]*asm.Program, len(u.Functions))
	for i := range u.Functions {
		funcs[u.Functions[i].Symbol] = &u.Functions[i]
	}
	for i := range u.Programs {
		prog := &u.Programs[i]
		// The program and the functions it calls, transitively: the
		// code the kernel loads as this program.
		seen := map[string]bool{prog.Symbol: true}
		for queue := []*asm.Program{prog}; len(queue) > 0; queue = queue[1:] {
			p := queue[0]
			for _, ins := range p.Insns {
				if ins.Op == isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK) && ins.Src == isa.CallHelper && helper.GPLOnly(int32(ins.Imm)) {
					return u.gplError(ins, prog, p)
				}
				if r := ins.Ref(); (r.Kind == asm.RefFunc || r.Kind == asm.RefFuncAddr) && !seen[r.Name] {
					seen[r.Name] = true
					if f := funcs[r.Name]; f != nil {
						queue = append(queue, f)
					}
				}
			}
		}
	}
	return nil
}

// gplError describes the call ins of a GPL-only helper, in p, which is
// prog or a function prog calls.
func (u *unit) gplError(ins asm.Instruction, prog, p *asm.Program) error {
	h, _ := helper.ByID(int32(ins.Imm))
	who := fmt.Sprintf("program %q", prog.Symbol)
	if p != prog {
		who += fmt.Sprintf(", which calls function %q", p.Symbol)
	}
	lic := "the file has no license()"
	if u.HasLicense {
		lic = fmt.Sprintf("license(%q) at %v is not GPL-compatible", u.License, u.licensePos)
	}
	gplLicenses := helper.GPLLicenses()
	quoted := make([]string, len(gplLicenses))
	for i, l := range gplLicenses {
		quoted[i] = fmt.Sprintf("%q", l)
	}
	return &asm.Error{Pos: ins.Pos(), Msg: fmt.Sprintf("%s is a GPL-only helper, and %s: the kernel would refuse to load %s (GPL-compatible licenses: %s)", h.Name, lic, who, strings.Join(quoted, ", "))}
}
