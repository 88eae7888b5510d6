package link

import "strings"

// contextStructs names, by section name prefix (libbpf's conventions, as
// cilium/ebpf reads them too), the struct of linux/bpf.h that a program's
// context points at: its BTF prototype is int name(struct xdp_md *ctx).
// Kprobes (and uprobes, ksyscalls, USDT probes: all kprobe programs) take
// the registers, struct pt_regs of x86-64's asm/ptrace.h, and perf_event
// programs struct bpf_perf_event_data of linux/bpf_perf_event.h (x86-64's
// pt_regs, then sample_period and addr). Program types whose context is
// no UAPI struct keep void * (tracepoints take a struct of their own, in
// the kernel's BTF only), apart from tracing programs (and struct_ops and
// LSM programs, which the kernel runs the same way): their context is the
// traced function's arguments, one u64 each, which libbpf's BPF_PROG macro
// declares as unsigned long long *ctx (tracingContext). With that the
// verifier can size the context; with void * it logs "arg#0 reference
// type('UNKNOWN ') size cannot be determined". Longer prefixes come first.
var contextStructs = []struct{ prefix, name string }{
	{"cgroup_skb/", "__sk_buff"},
	{"cgroup/skb", "__sk_buff"},
	{"cgroup/dev", "bpf_cgroup_dev_ctx"},
	{"cgroup/sysctl", "bpf_sysctl"},
	{"cgroup/getsockopt", "bpf_sockopt"},
	{"cgroup/setsockopt", "bpf_sockopt"},
	{"cgroup/sock_create", "bpf_sock"},
	{"cgroup/sock_release", "bpf_sock"},
	{"cgroup/post_bind", "bpf_sock"},
	{"cgroup/sock", "bpf_sock"},
	{"cgroup/", "bpf_sock_addr"}, // bind, connect, sendmsg, recvmsg, getpeername, getsockname
	{"raw_tracepoint", "bpf_raw_tracepoint_args"},
	{"raw_tp", "bpf_raw_tracepoint_args"},
	{"sk_reuseport", "sk_reuseport_md"},
	{"sk_lookup", "bpf_sk_lookup"},
	{"sk_skb", "__sk_buff"},
	{"sk_msg", "sk_msg_md"},
	{"sockops", "bpf_sock_ops"},
	{"socket", "__sk_buff"},
	{"flow_dissector", "__sk_buff"},
	{"classifier", "__sk_buff"},
	{"action", "__sk_buff"},
	{"tcx/", "__sk_buff"},
	{"netkit/", "__sk_buff"},
	{"tc", "__sk_buff"},
	{"lwt_", "__sk_buff"},
	{"xdp", "xdp_md"},
	{"kretprobe", "pt_regs"}, // and kretprobe.multi
	{"kprobe", "pt_regs"},    // and kprobe.multi, kprobe.session
	{"uretprobe", "pt_regs"},
	{"uprobe", "pt_regs"},
	{"kretsyscall", "pt_regs"},
	{"ksyscall", "pt_regs"},
	{"usdt", "pt_regs"},
	{"perf_event", "bpf_perf_event_data"},
	{"fentry", tracingContext},
	{"fexit", tracingContext},
	{"fmod_ret", tracingContext},
	{"lsm_cgroup", tracingContext},
	{"lsm", tracingContext},
	{"tp_btf", tracingContext},
	{"struct_ops", tracingContext},
}

// tracingContext is contextStruct's answer for tracing programs: not a
// struct, but the integer type their context points at.
const tracingContext = "unsigned long long"

// contextStruct returns the name of the context struct of a program in
// section, tracingContext for an array of u64, or "" for void *.
func contextStruct(section string) string {
	for _, c := range contextStructs {
		if !strings.HasPrefix(section, c.prefix) {
			continue
		}
		// A prefix is the whole first component, or ends in / or _.
		rest := section[len(c.prefix):]
		if rest == "" || strings.HasSuffix(c.prefix, "/") || strings.HasSuffix(c.prefix, "_") || rest[0] == '/' || rest[0] == '.' || c.prefix == "cgroup/sock" || c.prefix == "cgroup/post_bind" {
			return c.name
		}
	}
	return ""
}
