// A program for asm()'s clang test (asm_clang_test.go): maps, global
// variables (some reached through their section symbol), BPF-to-BPF calls
// to global and static functions, loops, atomics and helper calls.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

const volatile __u32 limit = 1500;
volatile __u64 packets = 0;
static volatile __u64 hidden[4];
static volatile __u32 flags = 7;

static __attribute__((noinline)) __u64 mix(__u64 a, __u64 b)
{
	return (a * 31) ^ (b >> 3) ^ (a << 7);
}

__attribute__((noinline)) int bump(__u32 key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &key);
	if (!v)
		return 0;
	__sync_fetch_and_add(v, n);
	__u64 old = __sync_fetch_and_or(v, 1);
	__u64 prev = __sync_lock_test_and_set(&hidden[1], old);
	__sync_val_compare_and_swap(&hidden[2], prev, n);
	return 1;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 len = end - data;
	__u64 h = 0;
	for (int i = 0; i < 8 && i < len; i++)
		h = mix(h, ((unsigned char *)data)[i & 7]);
	if (len > limit)
		return XDP_DROP;
	packets++;
	hidden[3] += h;
	__u32 key = h & 3;
	bump(key, len);
	__u64 one = 1;
	if (!bpf_map_lookup_elem(&seen, &key))
		bpf_map_update_elem(&seen, &key, &one, BPF_NOEXIST);
	return flags & 1 ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int classify(struct __sk_buff *skb)
{
	__u64 t = bpf_ktime_get_ns();
	return mix(t, skb->len) & 1;
}

char LICENSE[] SEC("license") = "GPL";
