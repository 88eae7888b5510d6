package starlib

import (
	"fmt"
	"strings"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/internal/spell"
)

// programSections are the section names of programs that both loaders
// (libbpf, and with it bpftool; cilium/ebpf) map to a program type, as
// libbpf's table of section definitions has them (cilium/ebpf v0.22 mirrors
// it), with that program type (BPF_PROG_TYPE_ in lower case, without the
// prefix). A name with "+" stands for itself and for itself followed by "/"
// and anything ("kprobe/do_sys_open"); a name without it must match
// exactly. A leading "?" (do not load automatically) is allowed on any of
// them. The list is data: the kernel's and the loaders' vocabulary.
var programSections = []struct{ name, progType string }{
	{"socket", "socket_filter"},
	{"sk_reuseport/migrate", "sk_reuseport"},
	{"sk_reuseport", "sk_reuseport"},
	{"kprobe+", "kprobe"},
	{"uprobe+", "kprobe"},
	{"uprobe.s+", "kprobe"},
	{"kretprobe+", "kprobe"},
	{"uretprobe+", "kprobe"},
	{"uretprobe.s+", "kprobe"},
	{"kprobe.multi+", "kprobe"},
	{"kretprobe.multi+", "kprobe"},
	{"kprobe.session+", "kprobe"},
	{"uprobe.multi+", "kprobe"},
	{"uretprobe.multi+", "kprobe"},
	{"uprobe.session+", "kprobe"},
	{"uprobe.multi.s+", "kprobe"},
	{"uretprobe.multi.s+", "kprobe"},
	{"uprobe.session.s+", "kprobe"},
	{"ksyscall+", "kprobe"},
	{"kretsyscall+", "kprobe"},
	{"usdt+", "kprobe"},
	{"usdt.s+", "kprobe"},
	{"tc/ingress", "sched_cls"},
	{"tc/egress", "sched_cls"},
	{"tcx/ingress", "sched_cls"},
	{"tcx/egress", "sched_cls"},
	{"tc", "sched_cls"},
	{"classifier", "sched_cls"},
	{"action", "sched_act"},
	{"netkit/primary", "sched_cls"},
	{"netkit/peer", "sched_cls"},
	{"tracepoint+", "tracepoint"},
	{"tp+", "tracepoint"},
	{"raw_tracepoint+", "raw_tracepoint"},
	{"raw_tp+", "raw_tracepoint"},
	{"raw_tracepoint.w+", "raw_tracepoint_writable"},
	{"raw_tp.w+", "raw_tracepoint_writable"},
	{"tp_btf+", "tracing"},
	{"fentry+", "tracing"},
	{"fmod_ret+", "tracing"},
	{"fexit+", "tracing"},
	{"fentry.s+", "tracing"},
	{"fmod_ret.s+", "tracing"},
	{"fexit.s+", "tracing"},
	{"fsession+", "tracing"},
	{"fsession.s+", "tracing"},
	{"freplace+", "ext"},
	{"lsm+", "lsm"},
	{"lsm.s+", "lsm"},
	{"lsm_cgroup+", "lsm"},
	{"iter+", "tracing"},
	{"iter.s+", "tracing"},
	{"syscall", "syscall"},
	{"xdp.frags/devmap", "xdp"},
	{"xdp/devmap", "xdp"},
	{"xdp.frags/cpumap", "xdp"},
	{"xdp/cpumap", "xdp"},
	{"xdp.frags", "xdp"},
	{"xdp", "xdp"},
	{"perf_event", "perf_event"},
	{"lwt_in", "lwt_in"},
	{"lwt_out", "lwt_out"},
	{"lwt_xmit", "lwt_xmit"},
	{"lwt_seg6local", "lwt_seg6local"},
	{"sockops", "sock_ops"},
	{"sk_skb/stream_parser", "sk_skb"},
	{"sk_skb/stream_verdict", "sk_skb"},
	{"sk_skb/verdict", "sk_skb"},
	{"sk_skb", "sk_skb"},
	{"sk_msg", "sk_msg"},
	{"lirc_mode2", "lirc_mode2"},
	{"flow_dissector", "flow_dissector"},
	{"cgroup_skb/ingress", "cgroup_skb"},
	{"cgroup_skb/egress", "cgroup_skb"},
	{"cgroup/skb", "cgroup_skb"},
	{"cgroup/sock_create", "cgroup_sock"},
	{"cgroup/sock_release", "cgroup_sock"},
	{"cgroup/sock", "cgroup_sock"},
	{"cgroup/post_bind4", "cgroup_sock"},
	{"cgroup/post_bind6", "cgroup_sock"},
	{"cgroup/bind4", "cgroup_sock_addr"},
	{"cgroup/bind6", "cgroup_sock_addr"},
	{"cgroup/connect4", "cgroup_sock_addr"},
	{"cgroup/connect6", "cgroup_sock_addr"},
	{"cgroup/connect_unix", "cgroup_sock_addr"},
	{"cgroup/sendmsg4", "cgroup_sock_addr"},
	{"cgroup/sendmsg6", "cgroup_sock_addr"},
	{"cgroup/sendmsg_unix", "cgroup_sock_addr"},
	{"cgroup/recvmsg4", "cgroup_sock_addr"},
	{"cgroup/recvmsg6", "cgroup_sock_addr"},
	{"cgroup/recvmsg_unix", "cgroup_sock_addr"},
	{"cgroup/getpeername4", "cgroup_sock_addr"},
	{"cgroup/getpeername6", "cgroup_sock_addr"},
	{"cgroup/getpeername_unix", "cgroup_sock_addr"},
	{"cgroup/getsockname4", "cgroup_sock_addr"},
	{"cgroup/getsockname6", "cgroup_sock_addr"},
	{"cgroup/getsockname_unix", "cgroup_sock_addr"},
	{"cgroup/sysctl", "cgroup_sysctl"},
	{"cgroup/getsockopt", "cgroup_sockopt"},
	{"cgroup/setsockopt", "cgroup_sockopt"},
	{"cgroup/dev", "cgroup_device"},
	{"struct_ops+", "struct_ops"},
	{"struct_ops.s+", "struct_ops"},
	{"sk_lookup", "sk_lookup"},
	{"netfilter", "netfilter"},
}

// sectionProgType returns the program type the loaders give a program in
// section name ("xdp" for "xdp.frags"), or "" if they cannot tell it.
func sectionProgType(name string) string {
	n := strings.TrimPrefix(name, "?")
	head, _, _ := strings.Cut(n, "/")
	for _, p := range programSections {
		if base, plus := strings.CutSuffix(p.name, "+"); plus {
			if head == base {
				return p.progType
			}
		} else if n == p.name {
			return p.progType
		}
	}
	return ""
}

// checkSection reports whether the loaders can tell the program type of a
// program in section name, and if not, why, with the nearest known name.
func checkSection(name string) error {
	if sectionProgType(name) != "" {
		return nil
	}
	head, _, _ := strings.Cut(strings.TrimPrefix(name, "?"), "/")
	names := make([]string, len(programSections))
	for i, p := range programSections {
		names[i] = strings.TrimSuffix(p.name, "+")
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
// all of the type of the first: the kernel gives a prog_array the type of
// the first program put in it and refuses programs of other types, so the
// loaders would fail to fill it. Names of no program are left to the
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
		}
	}
	return nil
}

// tailCallType is the program type of a program in section sec, as a
// prog_array's owner: the kernel also tells XDP programs that take
// multi-buffer packets (xdp.frags, BPF_F_XDP_HAS_FRAGS) from those that do
// not, and refuses to mix them.
func tailCallType(sec string) string {
	t := sectionProgType(sec)
	if t == "xdp" && strings.HasPrefix(strings.TrimPrefix(sec, "?"), "xdp.frags") {
		return "xdp with frags (xdp.frags)"
	}
	return t
}
