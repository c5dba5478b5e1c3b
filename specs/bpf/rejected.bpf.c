// SPDX-License-Identifier: GPL-2.0
/* Deliberately rejected by the verifier: it reads the packet without checking data_end. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[12] == 0x86 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
