// SPDX-License-Identifier: GPL-2.0
/* The TC redirect of the packet-redirection article: on the clsact ingress hook of one port,
 * IPv4 frames for one destination address are sent straight to another port, skipping the
 * stack, with the destination MAC rewritten to the next hop's (the article hard-codes it; here
 * it is a global). Everything else goes on with TC_ACT_OK.
 *
 * Globals, set before load:
 *   target_ifindex  the port to redirect to;
 *   match_daddr     the IPv4 destination that is redirected;
 *   next_hop_mac    the destination MAC the frame gets;
 *   to_ingress      0 (default): out of the target's egress, as if it had sent the frame;
 *                   1: into the target's ingress (BPF_F_INGRESS), as if it had received it. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include "xdpspec_parse.h"

const volatile __u32 target_ifindex = 0;
const volatile __be32 match_daddr = 0;
const volatile __u8 next_hop_mac[6] = {};
const volatile __u32 to_ingress = 0;

SEC("tc")
int tc_redirect(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->daddr != match_daddr)
		return TC_ACT_OK;
	/* Without this the target's peer would see its neighbour's MAC as the destination and
	 * drop the frame as not its own. */
	copy_config_mac(eth->h_dest, next_hop_mac);
	return bpf_redirect(target_ifindex, to_ingress ? BPF_F_INGRESS : 0);
}

char _license[] SEC("license") = "GPL";
