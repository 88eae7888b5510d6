// Instructions of the v4 ISA for asm()'s clang test (asm_clang_test.go):
// sign-extending loads and moves, signed division and modulo, byte swaps,
// 32-bit jumps, 64-bit constants, a jump table turned into branches.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct hdr {
	__s8 a;
	__s16 b;
	__s32 c;
	__u64 d;
};

SEC("socket")
long signs(struct __sk_buff *skb)
{
	struct hdr h;
	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)))
		return 0;
	long r = h.a + h.b + h.c;
	r = r / (long)(h.d | 1) + r % -7;
	int s = (int)h.d;
	s = s / 3 - (s % 5);
	r += (signed char)h.d;
	r += (short)(h.d >> 8);
	r += (int)(h.d >> 16);
	r ^= __builtin_bswap64(h.d) + __builtin_bswap32((__u32)h.d) + __builtin_bswap16((__u16)h.d);
	if ((__u32)r > 1000 && (int)s < -3)
		r = 0x1122334455667788LL;
	switch (skb->protocol) {
	case 1: r += 11; break;
	case 2: r -= 7; break;
	case 3: r *= 5; break;
	case 8: r <<= 2; break;
	default: r = -r;
	}
	unsigned int u = (unsigned int)r;
	u = u / 7 + u % 9;
	return r + s + (u >> 2);
}

char LICENSE[] SEC("license") = "GPL";
