// SPDX-License-Identifier: GPL-2.0
/* xdpspec's reference workload for run-time baselines: what most packet programs do on every
 * frame (parse Ethernet, VLANs, IPv4 or IPv6 and the ports, look the flow up in a hash map),
 * then pass. A program's run time is recorded as a ratio to this one's, measured side by side,
 * so a baseline recorded on one machine means the same on a faster or slower one. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "xdpspec_parse.h"

struct flow_key {
	__u8 addrs[32];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct flow_key);
	__type(value, __u64);
} reference_flows SEC(".maps");

static __always_inline void work(void *data, void *end)
{
	struct cursor c = { .pos = data };
	struct flow_key key = {};
	struct ethhdr *eth = parse_ethhdr(&c, end);
	__be16 proto;
	__u8 l4 = 0;

	if (!eth)
		return;
	proto = skip_vlans(&c, end, eth->h_proto);
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = parse_iphdr(&c, end);

		if (!ip)
			return;
		__builtin_memcpy(key.addrs, &ip->saddr, 8);
		l4 = ip->protocol;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = parse_ipv6hdr(&c, end);

		if (!ip6)
			return;
		__builtin_memcpy(key.addrs, &ip6->saddr, 32);
		l4 = ip6->nexthdr;
	}
	key.proto = l4;
	if (l4 == IPPROTO_TCP || l4 == IPPROTO_UDP) {
		__be16 *ports = c.pos;

		if ((void *)(ports + 2) <= end) {
			key.sport = ports[0];
			key.dport = ports[1];
		}
	}
	bpf_map_lookup_elem(&reference_flows, &key);
}

SEC("xdp")
int xdpspec_reference(struct xdp_md *ctx)
{
	work((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

SEC("tc")
int xdpspec_reference_tc(struct __sk_buff *skb)
{
	work((void *)(long)skb->data, (void *)(long)skb->data_end);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
