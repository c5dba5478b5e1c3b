// SPDX-License-Identifier: GPL-2.0
/* Grows frames for the specs: `head` (only 16 is supported) bytes pushed in front, with the
 * Ethernet header copied to the new front and the first two bytes after it set to 0xee, and
 * `tail` zero bytes appended at the end. */
#include <linux/bpf.h>
#include "xdpspec_parse.h"

const volatile __s32 head = 0;
const volatile __s32 tail = 0;

SEC("xdp")
int xdp_grow(struct xdp_md *ctx)
{
	void *data, *end;
	struct ethhdr *eth, *old;

	if (tail && bpf_xdp_adjust_tail(ctx, tail))
		return XDP_ABORTED;
	if (head) {
		if (bpf_xdp_adjust_head(ctx, -head))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		eth = data;
		if ((void *)(eth + 1) > end)
			return XDP_ABORTED;
		/* the original header now starts `head` bytes in */
		if (head != 16)
			return XDP_ABORTED;
		old = data + 16;
		if ((void *)(old + 1) > end)
			return XDP_ABORTED;
		__builtin_memcpy(eth, old, sizeof(*eth));
		__builtin_memset(old, 0xee, 2);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
