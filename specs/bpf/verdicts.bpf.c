// SPDX-License-Identifier: GPL-2.0
/* Every XDP verdict on demand, chosen by the UDP destination port, for the specs:
 *   1 aborted, 2 dropped, 3 passed, 4 sent back (TX) with MACs swapped,
 *   5 redirected to the ifindex in `redirect_ifindex` (bpf_redirect),
 *   6 redirected through the devmap `ports` at key 0 (bpf_redirect_map),
 *   7 TTL decremented (checksum updated) and passed,
 *   8 passed when it arrived on ifindex 1 (a plain test run's loopback), dropped otherwise:
 *     a program whose verdict depends on where it runs,
 *   9 UDP destination port rewritten to 99 (checksum updated) and passed. Anything else passes. */
#include <linux/bpf.h>
#include "xdpspec_parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} runs SEC(".maps");

const volatile __u32 redirect_ifindex = 0;

SEC("xdp")
int xdp_verdicts(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;
	struct udphdr *udp;
	__u32 zero = 0, sum;
	__u64 *n = bpf_map_lookup_elem(&runs, &zero);

	if (n)
		(*n)++;
	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = parse_udphdr(&c, end);
	if (!udp)
		return XDP_PASS;
	switch (bpf_ntohs(udp->dest)) {
	case 1:
		return XDP_ABORTED;
	case 2:
		return XDP_DROP;
	case 4: {
		unsigned char tmp[ETH_ALEN];

		__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
		return XDP_TX;
	}
	case 5:
		return bpf_redirect(redirect_ifindex, 0);
	case 6:
		return bpf_redirect_map(&ports, 0, 0);
	case 7:
		/* RFC 1624 incremental update: TTL is the high byte of its 16-bit word. */
		sum = (__u16)~bpf_ntohs(ip->check) + (__u16)~0x0100;
		sum = (sum & 0xffff) + (sum >> 16);
		ip->ttl--;
		ip->check = bpf_htons(~(__u16)(sum + (sum >> 16)));
		return XDP_PASS;
	case 8:
		return ctx->ingress_ifindex == 1 ? XDP_PASS : XDP_DROP;
	case 9:
		/* RFC 1624 again, for the 16-bit port: HC' = ~(~HC + ~m + m'). A zero UDP checksum
		 * means none was sent, and stays zero. */
		if (udp->check) {
			sum = (__u16)~bpf_ntohs(udp->check) + (__u16)~9 + 99;
			sum = (sum & 0xffff) + (sum >> 16);
			udp->check = bpf_htons(~(__u16)(sum + (sum >> 16)));
		}
		udp->dest = bpf_htons(99);
		return XDP_PASS;
	default:
		return XDP_PASS;
	}
}

char _license[] SEC("license") = "GPL";
