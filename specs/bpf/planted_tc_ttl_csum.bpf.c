// SPDX-License-Identifier: GPL-2.0
/* PLANTED BUG, for the property specs: a copy of tc_ttl.bpf.c whose checksum update is done by
 * hand and forgets the end-around carry, so it is wrong when the high byte of the checksum is
 * 0xff (about one frame in 256). The original: drops UDP to the discard port (9), decrements
 * the IPv4 TTL of everything else with the header checksum updated, and passes it on. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include "xdpspec_parse.h"

SEC("tc")
int planted_tc_ttl_csum(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;
	__u16 old, new;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = parse_iphdr(&c, end);
	if (!ip)
		return TC_ACT_OK;
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = parse_udphdr(&c, end);

		if (udp && udp->dest == bpf_htons(9))
			return TC_ACT_SHOT;
	}
	old = *(__u16 *)&ip->ttl;
	ip->ttl--;
	new = *(__u16 *)&ip->ttl;
	/* the bug: ~(~check + ~old + new) without folding the carry back in */
	ip->check = (__u16)(ip->check + bpf_htons(0x0100));
	(void)old;
	(void)new;
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
