// The C equivalent of task_info.star (and of examples/task_info.star), for
// clang-19 against vmlinux.h, which the benchmark makes at run time with
// bpftool btf dump file vmlinux.btf format c.
#include "vmlinux.h"

#define SEC(n) __attribute__((section(n), used))
#define __ksym __attribute__((section(".ksyms")))

static struct task_struct *(*bpf_get_current_task_btf)(void) = (void *)158;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *src) = (void *)113;

struct task_struct___local {
	int tgid;
	unsigned long long no_such_member;
} __attribute__((preserve_access_index));

struct no_such_type___local { unsigned int x; };

unsigned long long out[8];

SEC("raw_tp/sys_enter") int task_info(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_struct___local *l = (void *)t;
	struct task_struct *p;
	int tgid = 0;

	out[0] = __builtin_preserve_access_index(t->tgid);
	out[1] = __builtin_preserve_access_index(t->real_parent->tgid);
	bpf_probe_read_kernel(&p, sizeof(p), __builtin_preserve_access_index(&t->real_parent));
	bpf_probe_read_kernel(&tgid, sizeof(tgid), __builtin_preserve_access_index(&p->tgid));
	out[2] = tgid;
	out[3] = l->tgid;
	out[4] = __builtin_preserve_field_info(l->no_such_member, 2);
	out[5] = __builtin_preserve_type_info(*t, 1);
	out[6] = __builtin_preserve_enum_value(*(typeof(enum bpf_map_type) *)BPF_MAP_TYPE_ARENA, 1);
	out[7] = __builtin_preserve_type_info(*(struct no_such_type___local *)0, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
