// SPDX-License-Identifier: GPL-2.0
/* XDP and TC programs in legacy sections of one object, as the kernel's selftests have them
 * (test_xdp_vlan.c: SEC("xdp_vlan_change") beside SEC("tc_vlan_push")): one type for all cannot
 * load it, since each program's context only passes the verifier as its own type. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include "xdpspec_parse.h"

SEC("xdp_vlan_like")
int xdp_mixed(struct xdp_md *ctx)
{
	struct cursor c = { .pos = (void *)(long)ctx->data };
	struct ethhdr *eth = parse_ethhdr(&c, (void *)(long)ctx->data_end);

	return eth && eth->h_proto == bpf_htons(ETH_P_IPV6) ? XDP_PASS : XDP_DROP;
}

SEC("tc_mark_like")
int tc_mixed(struct __sk_buff *skb)
{
	skb->mark = 7; /* a store only a TC context takes */
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
