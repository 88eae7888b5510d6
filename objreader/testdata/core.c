// A clang-compiled object for objreader's tests: a BTF-defined map, global
// variables in .rodata, .data and .bss, a BPF-to-BPF call and CO-RE
// accesses to a locally defined struct.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} counts SEC(".maps");

volatile const __u32 limit = 7;
__u64 total = 3;
char msg[] = "hi";
__u64 zeroed;

// preserve_access_index makes every access to a task a CO-RE relocation.
struct task {
	int pid;
	int tgid;
	char comm[16];
} __attribute__((preserve_access_index));

static __attribute__((noinline)) int bump(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return key < limit;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int count(void *ctx)
{
	struct task *t = ctx;
	int tgid = BPF_CORE_READ(t, tgid);
	total += tgid;
	zeroed++;
	if (bpf_core_field_exists(t->comm))
		total += bpf_core_field_size(t->comm);
	return bump(tgid) + msg[0];
}

char LICENSE[] SEC("license") = "GPL";
