// SPDX-License-Identifier: GPL-2.0
/* A program that keeps no state and redirects UDP to port 5 to the ifindex `target` (a global
 * set before load, so in .rodata, not a map the program writes): for the unit engine's batched
 * runs with redirects located. Everything else passes. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "xdpspec_parse.h"

const volatile __u32 target = 0;

SEC("xdp")
int redirect_by_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;
	struct udphdr *udp;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = parse_udphdr(&c, end);
	if (!udp)
		return XDP_PASS;
	return udp->dest == bpf_htons(5) ? bpf_redirect(target, 0) : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
