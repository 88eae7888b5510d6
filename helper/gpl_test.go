package helper

import (
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfstar/bpfstar/internal/testenv"
)

// TestGPLOnlyNames checks that every helper of the GPL-only list exists.
func TestGPLOnlyNames(t *testing.T) {
	if len(gplOnly) < 40 {
		t.Errorf("only %d GPL-only helpers", len(gplOnly))
	}
	for id := range gplOnly {
		if _, ok := ByID(id); !ok {
			t.Errorf("GPL-only helper %d is not in the table", id)
		}
		if !GPLOnly(id) {
			t.Errorf("GPLOnly(%d) = false", id)
		}
	}
	for _, name := range []string{"map_lookup_elem", "ktime_get_ns", "redirect", "get_stackid", "get_func_ip"} {
		if h, _ := Lookup(name); GPLOnly(h.ID) {
			t.Errorf("GPLOnly(%s) = true", name)
		}
	}
}

// gplProbeTypes are the program types a program can be loaded as without
// BTF: the ones TestGPLOnlyMatchesKernel tries every helper in.
var gplProbeTypes = []struct {
	name string
	typ  ebpf.ProgramType
	at   ebpf.AttachType
}{
	{"socket_filter", ebpf.SocketFilter, 0}, {"kprobe", ebpf.Kprobe, 0}, {"sched_cls", ebpf.SchedCLS, 0},
	{"sched_act", ebpf.SchedACT, 0}, {"tracepoint", ebpf.TracePoint, 0}, {"xdp", ebpf.XDP, 0},
	{"perf_event", ebpf.PerfEvent, 0}, {"cgroup_skb", ebpf.CGroupSKB, 0}, {"cgroup_sock", ebpf.CGroupSock, 0},
	{"lwt_in", ebpf.LWTIn, 0}, {"lwt_out", ebpf.LWTOut, 0}, {"lwt_xmit", ebpf.LWTXmit, 0},
	{"sock_ops", ebpf.SockOps, 0}, {"sk_skb", ebpf.SkSKB, 0}, {"cgroup_device", ebpf.CGroupDevice, 0},
	{"sk_msg", ebpf.SkMsg, 0}, {"raw_tracepoint", ebpf.RawTracepoint, 0},
	{"cgroup_sock_addr", ebpf.CGroupSockAddr, ebpf.AttachCGroupInet4Connect},
	{"lwt_seg6local", ebpf.LWTSeg6Local, 0}, {"sk_reuseport", ebpf.SkReuseport, 0},
	{"flow_dissector", ebpf.FlowDissector, 0}, {"cgroup_sysctl", ebpf.CGroupSysctl, 0},
	{"raw_tracepoint_writable", ebpf.RawTracepointWritable, 0},
	{"cgroup_sockopt", ebpf.CGroupSockopt, ebpf.AttachCGroupGetsockopt},
	{"sk_lookup", ebpf.SkLookup, ebpf.AttachSkLookup},
}

// TestGPLOnlyMatchesKernel loads a call of every helper, with the license
// "MIT", as every program type of gplProbeTypes, and checks the list
// against what the running kernel says: no program type accepts a helper
// of the list, and a helper the kernel refuses as GPL-restricted is on the
// list or one of those left out on purpose (GPL-only in some program types
// only; see gplOnly).
func TestGPLOnlyMatchesKernel(t *testing.T) {
	testenv.Root(t)
	sometimes := map[string]bool{"bpf_get_stackid": true, "bpf_get_func_ip": true}
	refused := 0
	for _, h := range table {
		var gpl, ok []string
		for _, ty := range gplProbeTypes {
			spec := &ebpf.ProgramSpec{Type: ty.typ, AttachType: ty.at, License: "MIT", Instructions: asm.Instructions{
				asm.BuiltinFunc(h.ID).Call(), asm.Mov.Imm(asm.R0, 0), asm.Return(),
			}}
			p, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogLevel: ebpf.LogLevelBranch})
			if err == nil {
				p.Close()
				ok = append(ok, ty.name)
				continue
			}
			msg := err.Error()
			var ve *ebpf.VerifierError
			if errors.As(err, &ve) {
				msg = strings.Join(ve.Log, "\n")
			}
			switch {
			case strings.Contains(msg, "cannot call GPL-restricted function"):
				gpl = append(gpl, ty.name)
			case strings.Contains(msg, "unknown func"), strings.Contains(msg, "invalid func"), strings.Contains(msg, "cannot use helper"):
				// not offered to this program type
			default:
				ok = append(ok, ty.name) // offered, and refused for its (missing) arguments
			}
		}
		sort.Strings(gpl)
		sort.Strings(ok)
		switch {
		case GPLOnly(h.ID) && len(ok) > 0:
			t.Errorf("%s is on the GPL-only list, but %s programs may call it with the license MIT", h.Name, strings.Join(ok, ", "))
		case !GPLOnly(h.ID) && len(gpl) > 0 && !sometimes[h.Name]:
			t.Errorf("%s is not on the GPL-only list, but the kernel refuses it in %s programs with the license MIT", h.Name, strings.Join(gpl, ", "))
		}
		if len(gpl) > 0 {
			refused++
		}
	}
	if refused < 30 {
		t.Errorf("the kernel refused only %d helpers as GPL-restricted: is the probe broken?", refused)
	}
}
