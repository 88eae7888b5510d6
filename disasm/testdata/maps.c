// A hash map, helper calls, a BPF-to-BPF call and a bounded loop, with two
// programs in one section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __attribute__((noinline)) __u64 checksum(const __u8 *p, int n)
{
	__u64 sum = 0;
	for (int i = 0; i < n && i < 64; i++)
		sum = sum * 31 + p[i];
	return sum;
}

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 key = 0;
	__u64 one = 1, *v;

	if (data + 64 > end)
		return XDP_PASS;
	key = checksum(data, 64) & 0xff;
	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
	return XDP_PASS;
}

SEC("xdp")
int drop_small(struct xdp_md *ctx)
{
	long len = (long)ctx->data_end - (long)ctx->data;
	if (len < 60)
		return XDP_DROP;
	return checksum((void *)(long)ctx->data, 8) == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
