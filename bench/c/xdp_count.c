// The C equivalent of examples/xdp_count.star, for the benchmark: count
// packets and bytes in an array map, with the three kinds of globals and
// BPF-to-BPF calls.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 8);
	__uint(max_entries, 2);
} stats SEC(".maps");

const volatile __u32 verdict = XDP_PASS;
__u32 min_len = 14;
__u64 seen;

static __noinline __u64 packet_length(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

static __noinline int add(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &slot);
	if (v)
		__sync_fetch_and_add(v, n);
	return 0;
}

static __noinline int account(__u64 len)
{
	add(0, 1);
	add(1, len);
	return 0;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&seen, 1);
	__u64 len = packet_length(ctx);
	if (len < min_len)
		return XDP_DROP;
	account(len);
	return verdict;
}

char LICENSE[] SEC("license") = "GPL";
