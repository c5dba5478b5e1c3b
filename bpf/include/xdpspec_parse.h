/* Bounds-checked header parsing shared by the programs in bpf/.
 *
 * Each helper takes a cursor and the end of the packet, checks that the whole header is
 * inside the packet before it returns a pointer to it (the verifier insists, and a short
 * frame must never be read past its end), and advances the cursor.
 */
#ifndef XDPSPEC_PARSE_H
#define XDPSPEC_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct cursor {
	void *pos;
};

struct vlan_hdr {
	__be16 tci;
	__be16 encapsulated_proto;
};

/* Returns the Ethernet header, or NULL when the frame is shorter than one. */
static __always_inline struct ethhdr *parse_ethhdr(struct cursor *c, void *end)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > end)
		return NULL;
	c->pos = eth + 1;
	return eth;
}

/* Skips up to two VLAN tags (802.1Q, or QinQ with an 802.1ad outer tag) after the Ethernet
 * header. Returns the EtherType of what follows in network byte order, or 0 when a tag is
 * cut short. */
static __always_inline __be16 skip_vlans(struct cursor *c, void *end, __be16 proto)
{
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_hdr *v = c->pos;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(v + 1) > end)
			return 0;
		proto = v->encapsulated_proto;
		c->pos = v + 1;
	}
	return proto;
}

/* Returns the IPv4 header with its options, or NULL when it is cut short or malformed. */
static __always_inline struct iphdr *parse_iphdr(struct cursor *c, void *end)
{
	struct iphdr *ip = c->pos;
	int hl;

	if ((void *)(ip + 1) > end)
		return NULL;
	hl = ip->ihl * 4;
	if (hl < (int)sizeof(*ip) || c->pos + hl > end)
		return NULL;
	c->pos += hl;
	return ip;
}

/* Returns the fixed IPv6 header; extension headers are the caller's business. */
static __always_inline struct ipv6hdr *parse_ipv6hdr(struct cursor *c, void *end)
{
	struct ipv6hdr *ip6 = c->pos;

	if ((void *)(ip6 + 1) > end)
		return NULL;
	c->pos = ip6 + 1;
	return ip6;
}

#endif /* XDPSPEC_PARSE_H */
