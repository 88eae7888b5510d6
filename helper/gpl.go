package helper

// gplOnly lists, by number, the helpers that the kernel lets only programs
// with a GPL-compatible license call, in every program type that offers
// them: their struct bpf_func_proto has .gpl_only = true.
//
// Where it comes from: the kernel has no interface that says which helpers
// are GPL-only (and libbpf's bpf_helper_defs.h does not say either), so
// the list was made by hand from the kernel's sources (torvalds/linux):
// the struct bpf_func_proto definitions with .gpl_only = true in
// kernel/trace/bpf_trace.c (the tracing helpers: probe_read*, trace_printk,
// trace_vprintk, perf_event_*, get_current_task*, task_pt_regs, seq_*,
// override_return, ...) and drivers/media/rc/bpf-lirc.c (rc_*), and those
// of kernel/bpf/helpers.c (snprintf, timer_*), kernel/bpf/stackmap.c
// (get_stack) and net/core/filter.c (skb_output, xdp_output, fib_lookup,
// check_mtu, the syncookie helpers). The list was then checked against a
// running kernel (6.18) by loading a call of every helper, with the
// license "MIT", as every program type that loads without BTF: the kernel
// refused exactly these (bar the two below) as GPL-restricted.
// TestGPLOnlyMatchesKernel does that again on the machine it runs on.
//
// Left out on purpose, because they are GPL-only in some program types
// only (the kernel has several protos for them):
//
//   - bpf_get_stackid: not in perf_event programs (bpf_get_stackid_proto_pe)
//   - bpf_get_func_ip: not in kprobe.multi programs (bpf_get_func_ip_proto_kprobe_multi)
//
// A helper missing from the list is never refused at build time; the
// kernel still refuses it at load time if it is GPL-only.
var gplOnly = map[int32]bool{
	4:   true, // bpf_probe_read
	6:   true, // bpf_trace_printk
	22:  true, // bpf_perf_event_read
	25:  true, // bpf_perf_event_output
	35:  true, // bpf_get_current_task
	36:  true, // bpf_probe_write_user
	45:  true, // bpf_probe_read_str
	55:  true, // bpf_perf_event_read_value
	56:  true, // bpf_perf_prog_read_value
	58:  true, // bpf_override_return
	67:  true, // bpf_get_stack
	69:  true, // bpf_fib_lookup
	77:  true, // bpf_rc_repeat
	78:  true, // bpf_rc_keydown
	92:  true, // bpf_rc_pointer_rel
	100: true, // bpf_tcp_check_syncookie
	110: true, // bpf_tcp_gen_syncookie
	111: true, // bpf_skb_output
	112: true, // bpf_probe_read_user
	113: true, // bpf_probe_read_kernel
	114: true, // bpf_probe_read_user_str
	115: true, // bpf_probe_read_kernel_str
	119: true, // bpf_read_branch_records
	121: true, // bpf_xdp_output
	126: true, // bpf_seq_printf
	127: true, // bpf_seq_write
	150: true, // bpf_seq_printf_btf
	158: true, // bpf_get_current_task_btf
	163: true, // bpf_check_mtu
	165: true, // bpf_snprintf
	169: true, // bpf_timer_init
	170: true, // bpf_timer_set_callback
	171: true, // bpf_timer_start
	172: true, // bpf_timer_cancel
	175: true, // bpf_task_pt_regs
	176: true, // bpf_get_branch_snapshot
	177: true, // bpf_trace_vprintk
	191: true, // bpf_copy_from_user_task
	204: true, // bpf_tcp_raw_gen_syncookie_ipv4
	205: true, // bpf_tcp_raw_gen_syncookie_ipv6
	206: true, // bpf_tcp_raw_check_syncookie_ipv4
	207: true, // bpf_tcp_raw_check_syncookie_ipv6
}

// GPLOnly reports whether the helper numbered id may only be called by
// programs with a GPL-compatible license (see gplOnly for the list and
// where it comes from).
func GPLOnly(id int32) bool { return gplOnly[id] }

// gplLicenses are the licenses the kernel counts as GPL-compatible
// (license_is_gpl_compatible in include/linux/license.h).
var gplLicenses = []string{"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"}

// GPLLicenses returns the licenses the kernel counts as GPL-compatible.
func GPLLicenses() []string { return append([]string(nil), gplLicenses...) }

// GPLCompatible reports whether the kernel counts license as
// GPL-compatible: it compares it exactly with each of GPLLicenses, as the
// kernel does.
func GPLCompatible(license string) bool {
	for _, l := range gplLicenses {
		if license == l {
			return true
		}
	}
	return false
}
