// The C equivalent of examples/socket_filter.star, for the benchmark: keep
// IPv4 packets, truncated to 64 bytes, drop everything else. The EtherType
// is read with the legacy packet load (BPF_LD | BPF_ABS).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");

SEC("socket")
int ipv4_only(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != ETH_P_IP)
		return 0;
	return 64;
}

char LICENSE[] SEC("license") = "GPL";
