// SPDX-License-Identifier: GPL-2.0
/* The IPv6-only filter of the "XDP actions" article: IPv6 passes, everything else is
 * dropped. The decision is on the EtherType (after any VLAN tags); a frame too short to hold
 * an Ethernet header passes, since it is not ours to judge (the kernel discards it anyway).
 */
#include <linux/bpf.h>
#include "xdpspec_parse.h"

SEC("xdp")
int xdp_ipv6_only(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	__be16 proto;

	if (!eth)
		return XDP_PASS;
	proto = skip_vlans(&c, end, eth->h_proto);
	return proto == bpf_htons(ETH_P_IPV6) ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
