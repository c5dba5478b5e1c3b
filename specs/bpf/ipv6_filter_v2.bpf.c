// SPDX-License-Identifier: GPL-2.0
/* The next version of bpf/xdp_ipv6_filter.bpf.c, for the A/B comparison specs: a deliberate
 * change that lets ARP through as well as IPv6 (the host keeps an IPv4 management address).
 * Same program name, so `xdpspec diff old.o new.o` pairs them up. */
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
	if (proto == bpf_htons(ETH_P_IPV6) || proto == bpf_htons(ETH_P_ARP))
		return XDP_PASS;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
