// Globals in .data, .bss and .rodata, atomics of every kind, and global
// functions that share .text.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 packets = 0;
__u32 flags = 7;
const volatile __u64 limit = 0x123456789abcdefULL;
static __u64 table[8];

__attribute__((noinline)) int classify(__u64 x)
{
	if (x > limit)
		return 2;
	if ((__s64)x < -5)
		return 1;
	return 0;
}

__attribute__((noinline)) __u64 mix(__u64 a, __u32 b)
{
	__u64 old = __sync_fetch_and_or(&packets, a);
	__sync_fetch_and_and(&flags, b);
	__sync_fetch_and_xor(&table[b & 7], a);
	__atomic_fetch_add(&flags, 1, __ATOMIC_RELAXED);
	old += __sync_lock_test_and_set(&table[1], a);
	old += __sync_val_compare_and_swap(&table[2], a, old);
	__u32 w = __sync_val_compare_and_swap(&flags, b, 3);
	w += __atomic_exchange_n(&flags, w, __ATOMIC_SEQ_CST);
	__atomic_fetch_sub(&table[3], 2, __ATOMIC_RELAXED);
	__atomic_fetch_or(&flags, 4, __ATOMIC_RELAXED);
	return old + w;
}

SEC("tc")
int prog(struct __sk_buff *skb)
{
	__u64 x = skb->len;
	for (int i = 0; i < 4; i++)
		x = mix(x, skb->mark + i);
	__atomic_fetch_add(&packets, 1, __ATOMIC_RELAXED);
	return classify(x);
}

char LICENSE[] SEC("license") = "GPL";
