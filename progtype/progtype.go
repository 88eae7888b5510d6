// Package progtype is what the name of a program's ELF section tells the
// loaders and the kernel about the program: one table, libbpf's section
// conventions, that every other package of bpfstar reads.
//
// A BPF object carries no program type. The loaders (libbpf, and with it
// bpftool; cilium/ebpf, which mirrors libbpf's table) read it from the name
// of the section that holds the program: a program in "xdp" is loaded as
// BPF_PROG_TYPE_XDP with expected attach type BPF_XDP, one in
// "kprobe/do_nanosleep" as BPF_PROG_TYPE_KPROBE, one in "lsm.s/file_open"
// as a sleepable BPF_PROG_TYPE_LSM that needs the BTF id of its target.
// Each Def is one row of that table (libbpf's section_defs in libbpf.c,
// cilium/ebpf's elf_sections.go) and holds everything bpfstar needs of the
// convention: the pattern and its matching rule, the program type, the
// expected attach type, libbpf's flags (sleepable, XDP frags, attach
// target), the struct of linux/bpf.h the program's context points at (for
// its BTF prototype and for reading fields by name) and whether
// BPF_PROG_TEST_RUN runs it (on packet data or on a context alone).
//
// Matching: a pattern ending in "+" ("kprobe+") matches itself and itself
// followed by "/" and anything ("kprobe/do_sys_open"); one ending in "/"
// matches itself followed by anything; any other must match exactly. That
// is libbpf's rule (sec_def_matches). cilium/ebpf matches an exact pattern
// as a prefix ("xdp" also takes "xdpfoo"), so exact matching is where the
// two loaders agree. A leading "?" (libbpf: do not load automatically) is
// allowed on any name. The first row that matches wins, so more specific
// rows come first ("xdp.frags/devmap" before "xdp.frags").
//
// The table is fixed data (Defs returns a copy); the tests check it row by
// row against cilium/ebpf's copy of libbpf's table, the numbers against the
// kernel's BTF, and every row against the kernel by loading and test-running
// a program of it.
package progtype

import (
	"strconv"
	"strings"
)

// Type is a program type: enum bpf_prog_type of linux/bpf.h.
type Type uint32

// The program types (BPF_PROG_TYPE_*), with the kernel's numbers.
const (
	Unspec Type = iota
	SocketFilter
	Kprobe
	SchedCLS
	SchedACT
	Tracepoint
	XDP
	PerfEvent
	CgroupSKB
	CgroupSock
	LWTIn
	LWTOut
	LWTXmit
	SockOps
	SkSKB
	CgroupDevice
	SkMsg
	RawTracepoint
	CgroupSockAddr
	LWTSeg6Local
	LircMode2
	SkReuseport
	FlowDissector
	CgroupSysctl
	RawTracepointWritable
	CgroupSockopt
	Tracing
	StructOps
	Ext
	LSM
	SkLookup
	Syscall
	Netfilter
)

// typeNames are the types' names: BPF_PROG_TYPE_ in lower case, without
// the prefix.
var typeNames = [...]string{
	"unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint",
	"xdp", "perf_event", "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out",
	"lwt_xmit", "sock_ops", "sk_skb", "cgroup_device", "sk_msg",
	"raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2",
	"sk_reuseport", "flow_dissector", "cgroup_sysctl",
	"raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops", "ext",
	"lsm", "sk_lookup", "syscall", "netfilter",
}

// String returns the type's name as linux/bpf.h spells it, in lower case
// and without BPF_PROG_TYPE_: "sched_cls".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type " + strconv.FormatUint(uint64(t), 10)
}

// AttachType is an expected attach type: enum bpf_attach_type of
// linux/bpf.h, or AttachNone.
type AttachType uint32

// AttachNone is the AttachType of a program type that takes none. The
// loaders then give the kernel 0, which is also BPF_CGROUP_INET_INGRESS's
// number: Kernel tells the two apart.
const AttachNone AttachType = ^AttachType(0)

// attachNames are the attach types' names (BPF_ in lower case, without
// the prefix), by the kernel's numbers.
var attachNames = [...]string{
	"cgroup_inet_ingress", "cgroup_inet_egress", "cgroup_inet_sock_create",
	"cgroup_sock_ops", "sk_skb_stream_parser", "sk_skb_stream_verdict",
	"cgroup_device", "sk_msg_verdict", "cgroup_inet4_bind", "cgroup_inet6_bind",
	"cgroup_inet4_connect", "cgroup_inet6_connect", "cgroup_inet4_post_bind",
	"cgroup_inet6_post_bind", "cgroup_udp4_sendmsg", "cgroup_udp6_sendmsg",
	"lirc_mode2", "flow_dissector", "cgroup_sysctl", "cgroup_udp4_recvmsg",
	"cgroup_udp6_recvmsg", "cgroup_getsockopt", "cgroup_setsockopt",
	"trace_raw_tp", "trace_fentry", "trace_fexit", "modify_return", "lsm_mac",
	"trace_iter", "cgroup_inet4_getpeername", "cgroup_inet6_getpeername",
	"cgroup_inet4_getsockname", "cgroup_inet6_getsockname", "xdp_devmap",
	"cgroup_inet_sock_release", "xdp_cpumap", "sk_lookup", "xdp",
	"sk_skb_verdict", "sk_reuseport_select", "sk_reuseport_select_or_migrate",
	"perf_event", "trace_kprobe_multi", "lsm_cgroup", "struct_ops", "netfilter",
	"tcx_ingress", "tcx_egress", "trace_uprobe_multi", "cgroup_unix_connect",
	"cgroup_unix_sendmsg", "cgroup_unix_recvmsg", "cgroup_unix_getpeername",
	"cgroup_unix_getsockname", "netkit_primary", "netkit_peer",
	"trace_kprobe_session", "trace_uprobe_session", "trace_fsession",
}

// attach returns the attach type called name ("" for AttachNone).
func attach(name string) AttachType {
	if name == "" {
		return AttachNone
	}
	for i, n := range attachNames {
		if n == name {
			return AttachType(i)
		}
	}
	panic("progtype: no attach type " + name) // the table's own names; TestDefs checks them
}

// String returns the attach type's name as linux/bpf.h spells it, in
// lower case and without BPF_: "tcx_ingress"; "none" for AttachNone.
func (a AttachType) String() string {
	if a == AttachNone {
		return "none"
	}
	if int(a) < len(attachNames) {
		return attachNames[a]
	}
	return "attach type " + strconv.FormatUint(uint64(a), 10)
}

// Kernel returns the number the loaders give the kernel as the program's
// expected_attach_type: 0 for AttachNone.
func (a AttachType) Kernel() uint32 {
	if a == AttachNone {
		return 0
	}
	return uint32(a)
}

// Flags are libbpf's flags of a section convention (enum sec_def_flags).
type Flags uint8

const (
	// ExpAttachOpt: the expected attach type is optional; libbpf retries
	// the load without it on kernels that refuse it.
	ExpAttachOpt Flags = 1 << iota
	// Attachable: the program type takes an expected attach type.
	Attachable
	// AttachBTF: the section names a kernel function or hook after "/",
	// whose BTF id the loaders pass as attach_btf_id: the program needs an
	// attach target to load.
	AttachBTF
	// Sleepable: loaded with BPF_F_SLEEPABLE.
	Sleepable
	// XDPFrags: loaded with BPF_F_XDP_HAS_FRAGS (multi-buffer packets).
	XDPFrags
	// USDT: libbpf attaches the program to USDT probes.
	USDT

	attachableOpt = Attachable | ExpAttachOpt
)

// Run says whether and how BPF_PROG_TEST_RUN runs programs of a section.
type Run uint8

const (
	// RunNone: the kernel has no test run for the program (ENOTSUPP) or
	// refuses it for this attach type.
	RunNone Run = iota
	// RunContext: the kernel runs the program on a context the caller
	// gives (or none), without packet data: raw tracepoints, syscall
	// programs, sk_lookup, and fentry/fexit/fmod_ret on the kernel's
	// test functions.
	RunContext
	// RunData: the kernel runs the program on packet data (and, for most,
	// an optional context).
	RunData
)

// TracingContext is a Def's Context for programs whose context is the
// traced function's arguments, one u64 each, which libbpf's BPF_PROG
// macro declares as unsigned long long *ctx: tracing, LSM and struct_ops
// programs.
const TracingContext = "unsigned long long"

// Def is one of libbpf's section conventions.
type Def struct {
	// Pattern is libbpf's: "xdp", "kprobe+", "cgroup/connect4".
	Pattern string
	Type    Type
	// Attach is the expected attach type the loaders give programs of
	// this section.
	Attach AttachType
	Flags  Flags
	// Context is the struct of linux/bpf.h (or, for kprobes and
	// perf_event programs, of x86-64's asm/ptrace.h and
	// linux/bpf_perf_event.h) that the program's context points at:
	// "xdp_md", "__sk_buff", "pt_regs"; TracingContext; or "" where it is
	// no UAPI type (void *): tracepoints (whose struct is in the kernel's
	// BTF only), syscall, iterator, freplace, netfilter, lirc programs.
	Context string
	// Run is whether BPF_PROG_TEST_RUN runs the program.
	Run Run
}

// row is a Def as the table writes it, the attach type by name.
type row struct {
	pattern string
	typ     Type
	attach  string
	flags   Flags
	ctx     string
	run     Run
}

func (r *row) def() Def {
	return Def{Pattern: r.pattern, Type: r.typ, Attach: attach(r.attach), Flags: r.flags, Context: r.ctx, Run: r.run}
}

const (
	skb = "__sk_buff"
	tr  = TracingContext
	reg = "pt_regs"
)

// table is libbpf's section_defs as cilium/ebpf v0.22 copies it
// (elf_sections.go), in its order, with bpfstar's columns. Run is what
// the kernel answers (TestDefsInKernel) for every row a test machine loads;
// for the others it is what the kernel's sources say: fentry, fexit,
// fmod_ret and fsession programs run on the kernel's test functions
// (bpf_prog_test_run_tracing), LSM, freplace and struct_ops programs do
// not (bpf_dummy_ops aside).
var table = [...]row{
	{"socket", SocketFilter, "", 0, skb, RunData},
	{"sk_reuseport/migrate", SkReuseport, "sk_reuseport_select_or_migrate", Attachable, "sk_reuseport_md", RunNone},
	{"sk_reuseport", SkReuseport, "sk_reuseport_select", Attachable, "sk_reuseport_md", RunNone},
	{"kprobe+", Kprobe, "", 0, reg, RunNone},
	{"uprobe+", Kprobe, "", 0, reg, RunNone},
	{"uprobe.s+", Kprobe, "", Sleepable, reg, RunNone},
	{"kretprobe+", Kprobe, "", 0, reg, RunNone},
	{"uretprobe+", Kprobe, "", 0, reg, RunNone},
	{"uretprobe.s+", Kprobe, "", Sleepable, reg, RunNone},
	{"kprobe.multi+", Kprobe, "trace_kprobe_multi", 0, reg, RunNone},
	{"kretprobe.multi+", Kprobe, "trace_kprobe_multi", 0, reg, RunNone},
	{"kprobe.session+", Kprobe, "trace_kprobe_session", 0, reg, RunNone},
	{"uprobe.multi+", Kprobe, "trace_uprobe_multi", 0, reg, RunNone},
	{"uretprobe.multi+", Kprobe, "trace_uprobe_multi", 0, reg, RunNone},
	{"uprobe.session+", Kprobe, "trace_uprobe_session", 0, reg, RunNone},
	{"uprobe.multi.s+", Kprobe, "trace_uprobe_multi", Sleepable, reg, RunNone},
	{"uretprobe.multi.s+", Kprobe, "trace_uprobe_multi", Sleepable, reg, RunNone},
	{"uprobe.session.s+", Kprobe, "trace_uprobe_session", Sleepable, reg, RunNone},
	{"ksyscall+", Kprobe, "", 0, reg, RunNone},
	{"kretsyscall+", Kprobe, "", 0, reg, RunNone},
	{"usdt+", Kprobe, "", USDT, reg, RunNone},
	{"usdt.s+", Kprobe, "", USDT | Sleepable, reg, RunNone},
	{"tc/ingress", SchedCLS, "tcx_ingress", 0, skb, RunData},
	{"tc/egress", SchedCLS, "tcx_egress", 0, skb, RunData},
	{"tcx/ingress", SchedCLS, "tcx_ingress", 0, skb, RunData},
	{"tcx/egress", SchedCLS, "tcx_egress", 0, skb, RunData},
	{"tc", SchedCLS, "", 0, skb, RunData},
	{"classifier", SchedCLS, "", 0, skb, RunData},
	{"action", SchedACT, "", 0, skb, RunData},
	{"netkit/primary", SchedCLS, "netkit_primary", 0, skb, RunData},
	{"netkit/peer", SchedCLS, "netkit_peer", 0, skb, RunData},
	{"tracepoint+", Tracepoint, "", 0, "", RunNone},
	{"tp+", Tracepoint, "", 0, "", RunNone},
	{"raw_tracepoint+", RawTracepoint, "", 0, "bpf_raw_tracepoint_args", RunContext},
	{"raw_tp+", RawTracepoint, "", 0, "bpf_raw_tracepoint_args", RunContext},
	{"raw_tracepoint.w+", RawTracepointWritable, "", 0, "bpf_raw_tracepoint_args", RunNone},
	{"raw_tp.w+", RawTracepointWritable, "", 0, "bpf_raw_tracepoint_args", RunNone},
	{"tp_btf+", Tracing, "trace_raw_tp", AttachBTF, tr, RunNone},
	{"fentry+", Tracing, "trace_fentry", AttachBTF, tr, RunContext},
	{"fmod_ret+", Tracing, "modify_return", AttachBTF, tr, RunContext},
	{"fexit+", Tracing, "trace_fexit", AttachBTF, tr, RunContext},
	{"fentry.s+", Tracing, "trace_fentry", AttachBTF | Sleepable, tr, RunContext},
	{"fmod_ret.s+", Tracing, "modify_return", AttachBTF | Sleepable, tr, RunContext},
	{"fexit.s+", Tracing, "trace_fexit", AttachBTF | Sleepable, tr, RunContext},
	{"fsession+", Tracing, "trace_fsession", AttachBTF, tr, RunContext},
	{"fsession.s+", Tracing, "trace_fsession", AttachBTF | Sleepable, tr, RunContext},
	{"freplace+", Ext, "", AttachBTF, "", RunNone},
	{"lsm+", LSM, "lsm_mac", AttachBTF, tr, RunNone},
	{"lsm.s+", LSM, "lsm_mac", AttachBTF | Sleepable, tr, RunNone},
	{"lsm_cgroup+", LSM, "lsm_cgroup", AttachBTF, tr, RunNone},
	{"iter+", Tracing, "trace_iter", AttachBTF, "", RunNone},
	{"iter.s+", Tracing, "trace_iter", AttachBTF | Sleepable, "", RunNone},
	{"syscall", Syscall, "", Sleepable, "", RunContext},
	{"xdp.frags/devmap", XDP, "xdp_devmap", XDPFrags, "xdp_md", RunNone},
	{"xdp/devmap", XDP, "xdp_devmap", Attachable, "xdp_md", RunNone},
	{"xdp.frags/cpumap", XDP, "xdp_cpumap", XDPFrags, "xdp_md", RunNone},
	{"xdp/cpumap", XDP, "xdp_cpumap", Attachable, "xdp_md", RunNone},
	{"xdp.frags", XDP, "xdp", XDPFrags, "xdp_md", RunData},
	{"xdp", XDP, "xdp", attachableOpt, "xdp_md", RunData},
	{"perf_event", PerfEvent, "", 0, "bpf_perf_event_data", RunNone},
	{"lwt_in", LWTIn, "", 0, skb, RunData},
	{"lwt_out", LWTOut, "", 0, skb, RunData},
	{"lwt_xmit", LWTXmit, "", 0, skb, RunData},
	{"lwt_seg6local", LWTSeg6Local, "", 0, skb, RunNone},
	{"sockops", SockOps, "cgroup_sock_ops", attachableOpt, "bpf_sock_ops", RunNone},
	{"sk_skb/stream_parser", SkSKB, "sk_skb_stream_parser", attachableOpt, skb, RunNone},
	{"sk_skb/stream_verdict", SkSKB, "sk_skb_stream_verdict", attachableOpt, skb, RunNone},
	{"sk_skb/verdict", SkSKB, "sk_skb_verdict", attachableOpt, skb, RunNone},
	{"sk_skb", SkSKB, "", 0, skb, RunNone},
	{"sk_msg", SkMsg, "sk_msg_verdict", attachableOpt, "sk_msg_md", RunNone},
	{"lirc_mode2", LircMode2, "lirc_mode2", attachableOpt, "", RunNone},
	{"flow_dissector", FlowDissector, "flow_dissector", attachableOpt, skb, RunData},
	{"cgroup_skb/ingress", CgroupSKB, "cgroup_inet_ingress", attachableOpt, skb, RunData},
	{"cgroup_skb/egress", CgroupSKB, "cgroup_inet_egress", attachableOpt, skb, RunData},
	{"cgroup/skb", CgroupSKB, "", 0, skb, RunData},
	{"cgroup/sock_create", CgroupSock, "cgroup_inet_sock_create", Attachable, "bpf_sock", RunNone},
	{"cgroup/sock_release", CgroupSock, "cgroup_inet_sock_release", Attachable, "bpf_sock", RunNone},
	{"cgroup/sock", CgroupSock, "cgroup_inet_sock_create", attachableOpt, "bpf_sock", RunNone},
	{"cgroup/post_bind4", CgroupSock, "cgroup_inet4_post_bind", Attachable, "bpf_sock", RunNone},
	{"cgroup/post_bind6", CgroupSock, "cgroup_inet6_post_bind", Attachable, "bpf_sock", RunNone},
	{"cgroup/bind4", CgroupSockAddr, "cgroup_inet4_bind", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/bind6", CgroupSockAddr, "cgroup_inet6_bind", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/connect4", CgroupSockAddr, "cgroup_inet4_connect", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/connect6", CgroupSockAddr, "cgroup_inet6_connect", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/connect_unix", CgroupSockAddr, "cgroup_unix_connect", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/sendmsg4", CgroupSockAddr, "cgroup_udp4_sendmsg", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/sendmsg6", CgroupSockAddr, "cgroup_udp6_sendmsg", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/sendmsg_unix", CgroupSockAddr, "cgroup_unix_sendmsg", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/recvmsg4", CgroupSockAddr, "cgroup_udp4_recvmsg", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/recvmsg6", CgroupSockAddr, "cgroup_udp6_recvmsg", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/recvmsg_unix", CgroupSockAddr, "cgroup_unix_recvmsg", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/getpeername4", CgroupSockAddr, "cgroup_inet4_getpeername", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/getpeername6", CgroupSockAddr, "cgroup_inet6_getpeername", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/getpeername_unix", CgroupSockAddr, "cgroup_unix_getpeername", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/getsockname4", CgroupSockAddr, "cgroup_inet4_getsockname", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/getsockname6", CgroupSockAddr, "cgroup_inet6_getsockname", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/getsockname_unix", CgroupSockAddr, "cgroup_unix_getsockname", Attachable, "bpf_sock_addr", RunNone},
	{"cgroup/sysctl", CgroupSysctl, "cgroup_sysctl", Attachable, "bpf_sysctl", RunNone},
	{"cgroup/getsockopt", CgroupSockopt, "cgroup_getsockopt", Attachable, "bpf_sockopt", RunNone},
	{"cgroup/setsockopt", CgroupSockopt, "cgroup_setsockopt", Attachable, "bpf_sockopt", RunNone},
	{"cgroup/dev", CgroupDevice, "cgroup_device", attachableOpt, "bpf_cgroup_dev_ctx", RunNone},
	{"struct_ops+", StructOps, "", 0, tr, RunNone},
	{"struct_ops.s+", StructOps, "", Sleepable, tr, RunNone},
	{"sk_lookup", SkLookup, "sk_lookup", Attachable, "bpf_sk_lookup", RunContext},
	{"netfilter", Netfilter, "netfilter", 0, "", RunData},
}

// Defs returns the table, a copy, in libbpf's order.
func Defs() []Def {
	defs := make([]Def, len(table))
	for i := range table {
		defs[i] = table[i].def()
	}
	return defs
}

// Lookup returns the convention of a program in section name, as both
// loaders read it, or a zero Def and false if they cannot tell the
// program's type.
func Lookup(name string) (Def, bool) {
	name = strings.TrimPrefix(name, "?")
	head, _, slash := strings.Cut(name, "/")
	for i := range table {
		if matches(table[i].pattern, name, head, slash) {
			return table[i].def(), true
		}
	}
	return Def{}, false
}

// matches reports whether a section called name (head before its first
// "/", if it has one) matches pattern, by libbpf's rule.
func matches(pattern, name, head string, slash bool) bool {
	if base, ok := strings.CutSuffix(pattern, "+"); ok {
		return head == base
	}
	if base, ok := strings.CutSuffix(pattern, "/"); ok {
		return slash && head == base
	}
	return name == pattern
}

// Base returns the pattern without its "+" or "/": the name a section of
// the convention starts with.
func (d Def) Base() string {
	return strings.TrimRight(d.Pattern, "+/")
}

// StructOps reports whether the program is a struct_ops program, a
// member of a kernel struct of function pointers.
func (d Def) StructOps() bool { return d.Type == StructOps }

// NeedsTarget reports whether the kernel loads the program only with a
// target: the BTF id of a kernel function or hook (libbpf's SEC_ATTACH_BTF:
// tracing, LSM, iterator and freplace programs) or of the struct_ops
// member it implements.
func (d Def) NeedsTarget() bool { return d.Flags&AttachBTF != 0 || d.Type == StructOps }

// TestRun reports whether BPF_PROG_TEST_RUN runs the program.
func (d Def) TestRun() bool { return d.Run != RunNone }

// TakesData reports whether BPF_PROG_TEST_RUN runs the program on packet
// data.
func (d Def) TakesData() bool { return d.Run == RunData }
