package progtype_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	cbtf "github.com/cilium/ebpf/btf"
	"golang.org/x/sys/unix"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/progtype"
)

// ciliumRow is a row of cilium/ebpf's elf_sections.go, which its
// generator takes from libbpf's section_defs.
var ciliumRow = regexp.MustCompile(`^\s*\{"([^"]+)", sys\.BPF_PROG_TYPE_(\w+), (0|sys\.BPF_\w+), ([_A-Z| ]+)\},$`)

// ciliumSections reads the rows of elf_sections.go of the cilium/ebpf
// this module builds with, from the module cache.
func ciliumSections(t *testing.T) [][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cilium/ebpf").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "elf_sections.go"))
	if err != nil {
		t.Fatal(err)
	}
	var rows [][]string
	for line := range strings.Lines(string(src)) {
		if m := ciliumRow.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil {
			rows = append(rows, m[1:])
		} else if strings.Contains(line, "sys.BPF_PROG_TYPE_") {
			t.Fatalf("elf_sections.go: a row this test cannot read: %s", line)
		}
	}
	if len(rows) < 100 {
		t.Fatalf("elf_sections.go: %d rows", len(rows))
	}
	return rows
}

// TestDefsMatchLibbpf checks the table row by row against libbpf's, as
// cilium/ebpf copies it: the same patterns in the same order, each with
// the same program type, expected attach type and flags.
func TestDefsMatchLibbpf(t *testing.T) {
	rows := ciliumSections(t)
	defs := progtype.Defs()
	if len(defs) != len(rows) {
		t.Errorf("%d rows, cilium/ebpf has %d", len(defs), len(rows))
	}
	flagNames := map[string]progtype.Flags{
		"_SEC_NONE": 0, "_SEC_ATTACHABLE": progtype.Attachable, "_SEC_ATTACHABLE_OPT": progtype.Attachable | progtype.ExpAttachOpt,
		"_SEC_ATTACH_BTF": progtype.AttachBTF, "_SEC_SLEEPABLE": progtype.Sleepable, "_SEC_XDP_FRAGS": progtype.XDPFrags, "_SEC_USDT": progtype.USDT,
	}
	for i := range min(len(defs), len(rows)) {
		d, r := defs[i], rows[i]
		if d.Pattern != r[0] {
			t.Errorf("row %d: pattern %q, cilium/ebpf %q", i, d.Pattern, r[0])
			continue
		}
		if got, want := d.Type.String(), strings.ToLower(r[1]); got != want {
			t.Errorf("%s: type %s, cilium/ebpf %s", d.Pattern, got, want)
		}
		wantAttach := "none"
		if r[2] != "0" {
			wantAttach = strings.ToLower(strings.TrimPrefix(r[2], "sys.BPF_"))
		}
		if got := d.Attach.String(); got != wantAttach {
			t.Errorf("%s: attach type %s, cilium/ebpf %s", d.Pattern, got, wantAttach)
		}
		var flags progtype.Flags
		for f := range strings.SplitSeq(r[3], "|") {
			v, ok := flagNames[strings.TrimSpace(f)]
			if !ok {
				t.Fatalf("%s: flag %q", d.Pattern, f)
			}
			flags |= v
		}
		if d.Flags != flags {
			t.Errorf("%s: flags %b, cilium/ebpf %b (%s)", d.Pattern, d.Flags, flags, r[3])
		}
	}
}

// kernelEnum returns the values of the kernel's enum name, by their names
// in lower case without prefix, from the kernel's BTF.
func kernelEnum(t *testing.T, name, prefix string) map[string]uint64 {
	t.Helper()
	spec, err := cbtf.LoadKernelSpec()
	if err != nil {
		testenv.Missing(t, "kernel BTF: "+err.Error())
	}
	var e *cbtf.Enum
	if err := spec.TypeByName(name, &e); err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	for _, v := range e.Values {
		m[strings.ToLower(strings.TrimPrefix(v.Name, prefix))] = v.Value
	}
	return m
}

// TestNumbersMatchKernel checks the numbers of Type and AttachType
// against the kernel's enums, from its BTF: each name of ours at the
// kernel's number. An attach type newer than the kernel is reported.
func TestNumbersMatchKernel(t *testing.T) {
	types := kernelEnum(t, "bpf_prog_type", "BPF_PROG_TYPE_")
	for ty := progtype.Unspec; ty <= progtype.Netfilter; ty++ {
		if v, ok := types[ty.String()]; !ok || v != uint64(ty) {
			t.Errorf("type %d (%s): the kernel has it as %d (known %v)", ty, ty, v, ok)
		}
	}
	attach := kernelEnum(t, "bpf_attach_type", "BPF_")
	for _, d := range progtype.Defs() {
		if d.Attach == progtype.AttachNone {
			continue
		}
		v, ok := attach[d.Attach.String()]
		if !ok {
			t.Logf("%s: this kernel has no attach type %s", d.Pattern, d.Attach)
			continue
		}
		if v != uint64(d.Attach) {
			t.Errorf("%s: attach type %s is %d, the kernel's %d", d.Pattern, d.Attach, d.Attach, v)
		}
	}
}

func has(m map[string]uint64, k string) bool { _, ok := m[k]; return ok }

func TestLookup(t *testing.T) {
	for name, want := range map[string]string{
		"xdp":                  "xdp",
		"?xdp":                 "xdp",
		"xdp.frags":            "xdp.frags",
		"xdp.frags/devmap":     "xdp.frags/devmap",
		"xdp/devmap":           "xdp/devmap",
		"xdp/other":            "",
		"xdpx":                 "", // cilium/ebpf would take it as xdp; libbpf not
		"kprobe":               "kprobe+",
		"kprobe/do_sys_open":   "kprobe+",
		"kprobex":              "",
		"kprobe.multi/do_*":    "kprobe.multi+",
		"uprobe//bin/sh:main":  "uprobe+",
		"tc":                   "tc",
		"tc/ingress":           "tc/ingress",
		"tc/other":             "",
		"tcp":                  "",
		"cgroup/sock":          "cgroup/sock",
		"cgroup/sock_create":   "cgroup/sock_create",
		"cgroup/connect4":      "cgroup/connect4",
		"cgroup/connect":       "",
		"tracepoint/a/b":       "tracepoint+",
		"raw_tp.w/x":           "raw_tp.w+",
		"struct_ops/cc_init":   "struct_ops+",
		"struct_ops.s":         "struct_ops.s+",
		"sk_reuseport/migrate": "sk_reuseport/migrate",
		"":                     "",
		"/":                    "",
		"?":                    "",
	} {
		d, ok := progtype.Lookup(name)
		if ok != (want != "") || d.Pattern != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", name, d.Pattern, ok, want)
		}
	}
}

// TestDefsCopy checks that Defs hands out a copy.
func TestDefsCopy(t *testing.T) {
	d := progtype.Defs()
	d[0].Pattern = "changed"
	if progtype.Defs()[0].Pattern != "socket" {
		t.Error("Defs shares its table")
	}
}

// targets are the kernel functions and hooks programs that need a target
// are loaded for (the kernel's test functions where it has them).
var targets = map[string]string{
	"tp_btf": "sys_enter", "fentry": "bpf_fentry_test1", "fexit": "bpf_fentry_test1",
	"fmod_ret": "bpf_modify_return_test", "fentry.s": "bpf_fentry_test1", "fexit.s": "bpf_fentry_test1",
	"fmod_ret.s": "bpf_modify_return_test", "fsession": "bpf_fentry_test1", "fsession.s": "bpf_fentry_test1",
	"lsm": "file_open", "lsm.s": "bprm_check_security", "lsm_cgroup": "socket_post_create",
	"iter": "bpf_map", "iter.s": "bpf_map",
}

// TestDefsInKernel loads a program of every row (r0 = 1, exit) with the
// row's program type, expected attach type and flags, and test-runs it:
// the kernel accepts the pair, and runs the program exactly where Run says
// (on packet data for RunData, on a context alone for RunContext). A row
// that needs a target (NeedsTarget) is refused without one, and loaded
// with one of targets where there is one (tp_btf and iter here; this
// machine refuses fentry, fexit, fmod_ret and LSM programs with EPERM,
// and struct_ops and freplace programs need a map or a program). A row
// whose program type or attach type this kernel lacks (lirc, fsession)
// is skipped with the kernel's error.
func TestDefsInKernel(t *testing.T) {
	testenv.Root(t)
	packet := make([]byte, 64)
	packet[12], packet[13] = 0x08, 0x00 // an IPv4 Ethernet frame
	packet[14] = 0x45                   // version 4, 20-byte header
	ipv4 := packet[14:]
	kernelAttach := kernelEnum(t, "bpf_attach_type", "BPF_")
	for _, d := range progtype.Defs() {
		t.Run(strings.NewReplacer("/", "_", "+", "").Replace(d.Pattern), func(t *testing.T) {
			target := targets[d.Base()]
			spec := &ebpf.ProgramSpec{
				Name:       "t",
				Type:       ebpf.ProgramType(d.Type),
				AttachType: ebpf.AttachType(d.Attach.Kernel()),
				License:    "GPL",
				AttachTo:   target,
				Instructions: asm.Instructions{
					asm.Mov.Imm(asm.R0, 1),
					asm.Return(),
				},
			}
			if d.Flags&progtype.Sleepable != 0 {
				spec.Flags |= 1 << 4 // BPF_F_SLEEPABLE
			}
			if d.Flags&progtype.XDPFrags != 0 {
				spec.Flags |= 1 << 5 // BPF_F_XDP_HAS_FRAGS
			}
			if d.NeedsTarget() {
				// Without its target the kernel refuses it.
				untargeted := spec.Copy()
				untargeted.AttachTo = ""
				if p, err := ebpf.NewProgram(untargeted); err == nil {
					p.Close()
					t.Errorf("loaded without a target")
				} else {
					t.Logf("without a target: %v", err)
				}
				if target == "" {
					t.Skipf("%s programs load only with a target: struct_ops with a struct_ops map, freplace with a program", d.Type)
				}
			}
			prog, err := ebpf.NewProgram(spec)
			if err != nil {
				switch {
				case d.Type == progtype.LircMode2 && errors.Is(err, unix.EINVAL):
					t.Skipf("this kernel is built without lirc programs: %v", err)
				case d.NeedsTarget() && errors.Is(err, unix.EPERM):
					t.Skipf("this machine refuses tracing programs: %v", err)
				case d.Attach.String() == "trace_fsession" && !has(kernelAttach, "trace_fsession"):
					t.Skipf("this kernel has no fsession programs: %v", err)
				}
				t.Fatalf("load %s, attach type %s: %v", d.Type, d.Attach, err)
			}
			defer prog.Close()
			opts := &ebpf.RunOptions{}
			switch {
			case d.Type == progtype.Netfilter:
				opts.Data = ipv4
			case d.Pattern == "tp_btf+":
				opts.Context = make([]byte, 8)
			case d.Type == progtype.SkLookup:
				ctx := make([]byte, 72)
				ctx[8], ctx[12] = 2, 6 // AF_INET, IPPROTO_TCP
				opts.Context = ctx
			case d.TakesData() || d.Run == progtype.RunNone:
				opts.Data = packet
			}
			_, err = prog.Run(opts)
			if d.TestRun() && err != nil {
				t.Errorf("run (%v): %v", d.Run, err)
			}
			if !d.TestRun() && err == nil {
				t.Errorf("run: the kernel ran it, the table says it does not")
			}
			if !d.TestRun() && !errors.Is(err, ebpf.ErrNotSupported) {
				t.Logf("run: %v", err)
			}
		})
	}
}

// BenchmarkLookup times Lookup of a name near the table's end.
func BenchmarkLookup(b *testing.B) {
	for b.Loop() {
		if _, ok := progtype.Lookup("cgroup/getsockname_unix"); !ok {
			b.Fatal("not found")
		}
	}
}

// TestREADMENames checks the list of section names in README.md against
// the table: each name listed is a pattern of a row ("kprobe+" for a
// pattern ending in "+"), so the list holds no name the loaders do not
// know.
func TestREADMENames(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start := strings.Index(text, "\n`socket`, ")
	end := strings.Index(text, "(package `progtype` has the")
	if start < 0 || end < start {
		t.Fatal("README.md: no list of section names (between \"`socket`, \" and \"(package `progtype` has the\")")
	}
	names := regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(text[start:end], -1)
	n := 0
	for _, m := range names {
		name := m[1]
		if name[0] < 'a' || name[0] > 'z' {
			continue // ".s", "6", "_unix": forms of the name before
		}
		n++
		d, ok := progtype.Lookup(strings.TrimSuffix(name, "+"))
		if !ok || d.Pattern != name {
			t.Errorf("README.md lists section name %q; the table's is %q", name, d.Pattern)
		}
	}
	if n < 60 {
		t.Errorf("README.md lists %d section names: has the list's form changed?", n)
	}
}
