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

#ifndef NEXTHDR_HOP
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_NONE 59
#define NEXTHDR_DEST 60
#endif

/* Walks IPv6 extension headers (hop-by-hop, routing, fragment, destination options, AH; at
 * most 6 of them, more than real traffic carries) from `nexthdr`, leaving the cursor on the
 * upper-layer header. Returns that header's protocol number, NEXTHDR_NONE when there is none
 * to read (a non-first fragment, "no next header"), or -1 when a header is cut short. */
static __always_inline int skip_ipv6_exthdrs(struct cursor *c, void *end, __u8 nexthdr)
{
#pragma unroll
	for (int i = 0; i < 6; i++) {
		__u8 *h = c->pos;
		int len;

		switch (nexthdr) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
			if ((void *)(h + 2) > end)
				return -1;
			len = (h[1] + 1) * 8;
			break;
		case NEXTHDR_AUTH:
			if ((void *)(h + 2) > end)
				return -1;
			len = (h[1] + 2) * 4;
			break;
		case NEXTHDR_FRAGMENT:
			if ((void *)(h + 8) > end)
				return -1;
			/* fragment offset (13 bits, in bytes 2-3 above the flags) */
			if ((((__u16)h[2] << 8 | h[3]) & 0xfff8) != 0)
				return NEXTHDR_NONE;
			len = 8;
			break;
		default:
			return nexthdr;
		}
		if (c->pos + len > end)
			return -1;
		nexthdr = h[0];
		c->pos += len;
	}
	return nexthdr;
}

/* Whether an IPv4 packet is a fragment, first or later: a program that rewrites ports (or
 * matches flows by them) must leave all fragments alone, since only the first has the ports. */
static __always_inline int ipv4_is_fragment(const struct iphdr *ip)
{
	return (ip->frag_off & bpf_htons(0x3FFF)) != 0; /* MF, or a fragment offset */
}

/* Returns the TCP header, or NULL when it is cut short or its data offset is below 5 words.
 * The cursor moves past the fixed header only: options are the caller's business. */
static __always_inline struct tcphdr *parse_tcphdr(struct cursor *c, void *end)
{
	struct tcphdr *tcp = c->pos;

	if ((void *)(tcp + 1) > end || tcp->doff < 5)
		return NULL;
	c->pos = tcp + 1;
	return tcp;
}

/* Returns the UDP header, or NULL when it is cut short. */
static __always_inline struct udphdr *parse_udphdr(struct cursor *c, void *end)
{
	struct udphdr *udp = c->pos;

	if ((void *)(udp + 1) > end)
		return NULL;
	c->pos = udp + 1;
	return udp;
}

/* Copies a MAC address from read-only configuration (`const volatile __u8 mac[6]`) byte by
 * byte: each read of a volatile global must happen at run time, and a memcpy would cast the
 * volatile away and let clang fold in the all-zero initial value. */
static __always_inline void copy_config_mac(__u8 *to, const volatile __u8 *from)
{
#pragma unroll
	for (int i = 0; i < ETH_ALEN; i++)
		to[i] = from[i];
}

#endif /* XDPSPEC_PARSE_H */
