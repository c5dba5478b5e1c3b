// SPDX-License-Identifier: GPL-2.0
/* Reads and writes XDP metadata (data_meta .. data): drops when the first word of the metadata
 * is 7; otherwise grows the metadata by 4 bytes in front, writes 0xfeedbeef there, and passes. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	__u32 *meta = (void *)(long)ctx->data_meta;

	if ((void *)(meta + 1) <= data && *meta == 7)
		return XDP_DROP;
	if (bpf_xdp_adjust_meta(ctx, -4))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data)
		return XDP_ABORTED;
	*meta = 0xfeedbeef;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
