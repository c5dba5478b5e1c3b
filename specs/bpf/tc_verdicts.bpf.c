// SPDX-License-Identifier: GPL-2.0
/* Every TC verdict on demand, chosen by the UDP destination port, for the live specs:
 *   2 TC_ACT_SHOT, 3 TC_ACT_OK, 4 TC_ACT_STOLEN,
 *   5 bpf_redirect to the egress of `redirect_ifindex`,
 *   6 bpf_redirect to the ingress of `redirect_ifindex` (BPF_F_INGRESS),
 *   7 TTL decremented (checksum updated) and TC_ACT_OK,
 *   8 bpf_redirect to ifindex 4242 (no such port). Anything else is TC_ACT_OK. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <stddef.h>
#include "xdpspec_parse.h"

const volatile __u32 redirect_ifindex = 0;

SEC("tc")
int tc_verdicts(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;
	struct udphdr *udp;
	__u16 old, new;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	udp = parse_udphdr(&c, end);
	if (!udp)
		return TC_ACT_OK;
	switch (bpf_ntohs(udp->dest)) {
	case 2:
		return TC_ACT_SHOT;
	case 4:
		return TC_ACT_STOLEN;
	case 5:
		return bpf_redirect(redirect_ifindex, 0);
	case 6:
		return bpf_redirect(redirect_ifindex, BPF_F_INGRESS);
	case 7:
		old = *(__u16 *)&ip->ttl;
		ip->ttl--;
		new = *(__u16 *)&ip->ttl;
		bpf_l3_csum_replace(skb, sizeof(*eth) + offsetof(struct iphdr, check), old, new, sizeof(__u16));
		return TC_ACT_OK;
	case 8:
		return bpf_redirect(4242, 0);
	default:
		return TC_ACT_OK;
	}
}

char _license[] SEC("license") = "GPL";
