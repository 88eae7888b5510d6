package starlib

import (
	"fmt"
	"strings"

	"github.com/bpfstar/bpfstar/internal/spell"
)

// programSections are the section names of programs that both loaders
// (libbpf, and with it bpftool; cilium/ebpf) map to a program type, as
// libbpf's table of section definitions has them (cilium/ebpf v0.22 mirrors
// it). A name with "+" stands for itself and for itself followed by "/"
// and anything ("kprobe/do_sys_open"); a name without it must match
// exactly. A leading "?" (do not load automatically) is allowed on any of
// them. The list is data: the kernel's and the loaders' vocabulary.
var programSections = []string{
	"socket", "sk_reuseport/migrate", "sk_reuseport", "kprobe+", "uprobe+", "uprobe.s+",
	"kretprobe+", "uretprobe+", "uretprobe.s+", "kprobe.multi+", "kretprobe.multi+",
	"kprobe.session+", "uprobe.multi+", "uretprobe.multi+", "uprobe.session+",
	"uprobe.multi.s+", "uretprobe.multi.s+", "uprobe.session.s+", "ksyscall+",
	"kretsyscall+", "usdt+", "usdt.s+", "tc/ingress", "tc/egress", "tcx/ingress",
	"tcx/egress", "tc", "classifier", "action", "netkit/primary", "netkit/peer",
	"tracepoint+", "tp+", "raw_tracepoint+", "raw_tp+", "raw_tracepoint.w+",
	"raw_tp.w+", "tp_btf+", "fentry+", "fmod_ret+", "fexit+", "fentry.s+", "fmod_ret.s+",
	"fexit.s+", "fsession+", "fsession.s+", "freplace+", "lsm+", "lsm.s+", "lsm_cgroup+",
	"iter+", "iter.s+", "syscall", "xdp.frags/devmap", "xdp/devmap", "xdp.frags/cpumap",
	"xdp/cpumap", "xdp.frags", "xdp", "perf_event", "lwt_in", "lwt_out", "lwt_xmit",
	"lwt_seg6local", "sockops", "sk_skb/stream_parser", "sk_skb/stream_verdict",
	"sk_skb/verdict", "sk_skb", "sk_msg", "lirc_mode2", "flow_dissector", "cgroup_skb/ingress",
	"cgroup_skb/egress", "cgroup/skb", "cgroup/sock_create", "cgroup/sock_release",
	"cgroup/sock", "cgroup/post_bind4", "cgroup/post_bind6", "cgroup/bind4",
	"cgroup/bind6", "cgroup/connect4", "cgroup/connect6", "cgroup/connect_unix",
	"cgroup/sendmsg4", "cgroup/sendmsg6", "cgroup/sendmsg_unix", "cgroup/recvmsg4",
	"cgroup/recvmsg6", "cgroup/recvmsg_unix", "cgroup/getpeername4", "cgroup/getpeername6",
	"cgroup/getpeername_unix", "cgroup/getsockname4", "cgroup/getsockname6",
	"cgroup/getsockname_unix", "cgroup/sysctl", "cgroup/getsockopt", "cgroup/setsockopt",
	"cgroup/dev", "struct_ops+", "struct_ops.s+", "sk_lookup", "netfilter",
}

// checkSection reports whether the loaders can tell the program type of a
// program in section name, and if not, why, with the nearest known name.
func checkSection(name string) error {
	n := strings.TrimPrefix(name, "?")
	head, _, _ := strings.Cut(n, "/")
	for _, p := range programSections {
		if base, plus := strings.CutSuffix(p, "+"); plus {
			if head == base {
				return nil
			}
		} else if n == p {
			return nil
		}
	}
	names := make([]string, len(programSections))
	for i, p := range programSections {
		names[i] = strings.TrimSuffix(p, "+")
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
