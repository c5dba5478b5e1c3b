// SPDX-License-Identifier: GPL-2.0
/*
 * An example XDP program, written by `xdpspec init`: drops TCP and UDP to one port (the global
 * `blocked_port`, 9 unless set before load), passes everything else, and counts both in a map.
 * Replace it with your own; specs/xdp_port_filter.spec.ts shows how it is tested.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

volatile const __u16 blocked_port = 9;

enum counter { COUNT_PASSED, COUNT_DROPPED, COUNT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COUNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline int count(__u32 which, int action)
{
	__u64 *n = bpf_map_lookup_elem(&counters, &which);

	if (n)
		__sync_fetch_and_add(n, 1);
	return action;
}

/* The destination port of a TCP or UDP header at l4, or 0 when there is none to read. */
static __always_inline __u16 dest_port(void *l4, void *end, __u8 proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return 0;
		return bpf_ntohs(tcp->dest);
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > end)
			return 0;
		return bpf_ntohs(udp->dest);
	}
	return 0;
}

SEC("xdp")
int xdp_port_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 port = 0;

	if ((void *)(eth + 1) > end)
		return count(COUNT_PASSED, XDP_PASS);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return count(COUNT_PASSED, XDP_PASS);
		/* Only a first fragment carries the port. */
		if (ip->frag_off & bpf_htons(0x1fff))
			return count(COUNT_PASSED, XDP_PASS);
		port = dest_port((void *)ip + ip->ihl * 4, end, ip->protocol);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return count(COUNT_PASSED, XDP_PASS);
		port = dest_port(ip6 + 1, end, ip6->nexthdr);
	}

	if (port != 0 && port == blocked_port)
		return count(COUNT_DROPPED, XDP_DROP);
	return count(COUNT_PASSED, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
