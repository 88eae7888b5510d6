// Loops for asm()'s clang test (asm_clang_test.go): a bounded loop, a
// loop with may_goto (libbpf's can_loop, written out), bpf_loop with a
// callback (a function address loaded with ld_imm64), and 32-bit atomics.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define can_loop                                        \
	({ __label__ l_break, l_continue;               \
	   int ret = 1;                                 \
	   asm volatile goto("may_goto %l[l_break]"     \
			     :::: l_break);             \
	   goto l_continue;                             \
	   l_break: ret = 0;                            \
	   l_continue:;                                 \
	   ret;                                         \
	})

__u32 total = 0;

static int step(__u32 i, void *ctx)
{
	__sync_fetch_and_add(&total, i);
	return i > 20;
}

SEC("syscall")
int loops(void *ctx)
{
	__u32 sum = 0, i = 0;
	while (i < 1000 && can_loop) {
		sum += i * 3;
		i++;
	}
	bpf_loop(32, step, NULL, 0);
	__sync_fetch_and_xor(&total, sum);
	return sum;
}

char LICENSE[] SEC("license") = "GPL";
