// SPDX-License-Identifier: GPL-2.0
/* Rewrites a frame and then drops it, as a decapsulating program does with what it cannot
 * forward: the unit engine keeps those bytes although nothing leaves. Here the destination MAC
 * becomes 02:00:00:00:00:ee before the drop. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_rewrite_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memset(eth->h_dest, 0, ETH_ALEN);
	eth->h_dest[0] = 0x02;
	eth->h_dest[5] = 0xee;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
