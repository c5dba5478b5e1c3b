// SPDX-License-Identifier: GPL-2.0
/* For xdpspec's own specs: writes the low byte of the ingress ifindex into the last byte of the
 * source MAC and passes the frame. A test run given no ingress device runs on loopback (1), a
 * live run on the port, so the two engines' outputs differ in one field (and runBoth must say which). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ingress_stamp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	eth->h_source[5] = (__u8)ctx->ingress_ifindex;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
