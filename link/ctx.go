package link

import "github.com/bpfstar/bpfstar/progtype"

// A program's BTF prototype takes its context as linux/bpf.h types it:
// int name(struct xdp_md *ctx). The struct is the Context of the
// program's section convention (progtype.Def): kprobes (and uprobes,
// ksyscalls, USDT probes: all kprobe programs) take the registers, struct
// pt_regs of x86-64's asm/ptrace.h, and perf_event programs struct
// bpf_perf_event_data of linux/bpf_perf_event.h (x86-64's pt_regs, then
// sample_period and addr). These are x86-64's layouts on every host: an
// object has no architecture, and bpfstar targets x86-64 kernels for
// these two program types (README: "Kprobe and perf_event contexts are
// x86-64's"); other architectures read registers with CO-RE. Program types whose context is no UAPI struct
// keep void * (tracepoints take a struct of their own, in the kernel's
// BTF only), apart from tracing programs (and struct_ops and LSM
// programs, which the kernel runs the same way): their context is the
// traced function's arguments, one u64 each, which libbpf's BPF_PROG
// macro declares as unsigned long long *ctx (tracingContext). With that
// the verifier can size the context; with void * it logs "arg#0
// reference type('UNKNOWN ') size cannot be determined".

// tracingContext is contextStruct's answer for tracing programs: not a
// struct, but the integer type their context points at.
const tracingContext = progtype.TracingContext

// contextStruct returns the name of the context struct of a program in
// section, tracingContext for an array of u64, or "" for void * (and for
// a section the loaders cannot tell the type of).
func contextStruct(section string) string {
	d, _ := progtype.Lookup(section)
	return d.Context
}
