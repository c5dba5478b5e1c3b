// SPDX-License-Identifier: GPL-2.0
/* PLANTED BUG, for the property specs: a copy of bpf/xdp_redirect.bpf.c that forwards IPv4 frames
 * whose TTL is 1 (it tests `< 1` where the original tests `<= 1`), which the kernel should
 * have answered with ICMP time exceeded.
 *
 * The original: an XDP forwarder, the real-world version the packet-redirection article points
 * to: each
 * IPv4 or IPv6 frame is looked up in the kernel's routing table and neighbour cache with
 * bpf_fib_lookup, and when both answer it leaves straight out of the route's port, with the
 * next hop's MAC as destination, the port's own as source, and the TTL (hop limit) one lower,
 * the IPv4 checksum updated to match. It never drops: whatever it cannot forward itself goes to
 * the kernel (XDP_PASS), which knows what to do:
 *   - a TTL or hop limit of 1 or less: the kernel answers with ICMP time exceeded;
 *   - no route, no neighbour entry yet, forwarding off on the port: the kernel routes, resolves
 *     or refuses it;
 *   - a route out of a port that is not in `tx_ports`: this program only forwards between the
 *     ports it was given.
 * `tx_ports` is a devmap keyed by ifindex; put each port in it under its own ifindex. */
#include <linux/bpf.h>
#include "xdpspec_parse.h"
#include "xdpspec_csum.h"

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* TTL - 1 with the checksum patched: the TTL shares a 16-bit word with the protocol. */
static __always_inline void ipv4_decrease_ttl(struct iphdr *ip)
{
	__u16 *word = (__u16 *)&ip->ttl;
	__u16 old = *word;

	ip->ttl--;
	csum_replace2(&ip->check, old, *word);
}

SEC("xdp")
int planted_redirect_ttl(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct bpf_fib_lookup fib = {};
	struct iphdr *ip = NULL;
	struct ipv6hdr *ip6 = NULL;

	if (!eth)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		ip = parse_iphdr(&c, end);
		if (!ip || ip->ttl < 1) /* the bug: was <= 1 */
			return XDP_PASS;
		fib.family = AF_INET;
		fib.tos = ip->tos;
		fib.l4_protocol = ip->protocol;
		fib.tot_len = bpf_ntohs(ip->tot_len);
		fib.ipv4_src = ip->saddr;
		fib.ipv4_dst = ip->daddr;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6 = parse_ipv6hdr(&c, end);
		if (!ip6 || ip6->hop_limit <= 1)
			return XDP_PASS;
		fib.family = AF_INET6;
		fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0FFFFFFF);
		fib.l4_protocol = ip6->nexthdr;
		fib.tot_len = bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
	} else {
		return XDP_PASS;
	}
	fib.ifindex = ctx->ingress_ifindex;

	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&tx_ports, &fib.ifindex))
		return XDP_PASS;

	if (ip)
		ipv4_decrease_ttl(ip);
	else if (ip6)
		ip6->hop_limit--;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect_map(&tx_ports, fib.ifindex, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
