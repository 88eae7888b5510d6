// The C equivalent of examples/isa_v4.star, for the benchmark (built with
// -mcpu=v4): sign-extending moves and loads, signed division and modulo,
// byte swaps and atomics on the stack, in two socket filters.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("socket")
int v4_arith(struct __sk_buff *skb)
{
	volatile long a = -100;
	long b = (signed char)a;
	int c = (short)a;
	a = a / 7;
	b = b % 3;
	c = c / -2;
	a = __builtin_bswap64(a);
	b = __builtin_bswap16(b);
	c = __builtin_bswap32(c);
	if (a + b + c == 0)
		return 1;
	return 0;
}

SEC("socket")
int v4_memory(struct __sk_buff *skb)
{
	volatile long slot = 0, acc = 0;
	slot = 5;
	long b = *(volatile signed char *)&slot;
	long h = *(volatile short *)&slot;
	long w = *(volatile int *)&slot;
	__sync_fetch_and_add(&acc, 5);
	long old = __sync_fetch_and_or(&acc, 5);
	__atomic_exchange_n((int *)&acc, (int)b, __ATOMIC_SEQ_CST);
	__sync_val_compare_and_swap(&acc, 0, h + w + old);
	if ((int)bpf_ktime_get_ns() > -1)
		return 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
