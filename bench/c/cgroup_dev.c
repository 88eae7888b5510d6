// The C equivalent of examples/cgroup_dev.star, for the benchmark: deny
// /dev/urandom (character device 1:9), allow every other device.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("cgroup/dev")
int deny_urandom(struct bpf_cgroup_dev_ctx *ctx)
{
	if ((ctx->access_type & 0xffff) == BPF_DEVCG_DEV_CHAR && ctx->major == 1 && ctx->minor == 9)
		return 0;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
