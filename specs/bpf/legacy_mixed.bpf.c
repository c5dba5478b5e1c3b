// SPDX-License-Identifier: GPL-2.0
/* XDP and TC programs in legacy sections of one object, as the kernel's selftests have them
 * (test_xdp_vlan.c: SEC("xdp_vlan_change") beside SEC("tc_vlan_push")): one type for all cannot
 * load it, since each program's context only passes the verifier as its own type. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp_vlan_like")
int xdp_mixed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	return eth->h_proto == __builtin_bswap16(ETH_P_IPV6) ? XDP_PASS : XDP_DROP;
}

SEC("tc_mark_like")
int tc_mixed(struct __sk_buff *skb)
{
	skb->mark = 7; /* a store only a TC context takes */
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
