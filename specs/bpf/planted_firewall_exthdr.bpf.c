// SPDX-License-Identifier: GPL-2.0
/* PLANTED BUG, for the property specs: a copy of bpf/xdp_firewall.bpf.c that takes the IPv6 next
 * header as the transport header, without skipping extension headers, so a port rule misses
 * every IPv6 frame that carries one (and reads their bytes as ports).
 *
 * The original: a stateless XDP firewall in the manner of xdp-filter (xdp-tools), the firewall
 * of the Aya/XDP
 * article: rules live in maps and match a frame's source or destination MAC, IPv4 or IPv6
 * address (exact, or a prefix), or TCP/UDP port.
 *
 * The global `mode` says what a rule means:
 *   MODE_ALLOW (0, the default): everything passes, a frame matching a rule is dropped;
 *   MODE_DENY  (1):              everything is dropped, a frame matching a rule passes.
 * ARP always passes, whatever the mode: without it no host on the link could resolve another,
 * and a deny-mode firewall would cut off even the traffic its rules allow. Other non-IP traffic,
 * and frames too short or malformed to read, get the mode's default.
 *
 * Rules are tried in a fixed order, after the ARP check (source MAC, destination MAC, source address, destination
 * address, source port, destination port); the first that matches decides, and its hit counter
 * (the map value) goes up by one. Up to two VLAN tags (802.1Q, 802.1ad) are looked through, as
 * are IPv4 options and IPv6 extension headers. A non-first fragment has no ports to match.
 *
 * `stats` counts packets and bytes per XDP action (per CPU), as `xdp-filter status` shows them. */
#include <linux/bpf.h>
#include "xdpspec_parse.h"

#define MODE_ALLOW 0
#define MODE_DENY 1

#ifndef ETH_P_ARP
#define ETH_P_ARP 0x0806
#endif

struct mac_key {
	__u8 mac[6];
};

struct ipv4_key {
	__u32 prefixlen; /* LPM trie keys start with the prefix length */
	__be32 addr;
};

struct ipv6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct port_key {
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
	__be16 port;
};

struct action_stats {
	__u64 packets;
	__u64 bytes;
};

#define RULE_MAP(name, kind, key_type, entries, extra)   \
	struct {                                          \
		__uint(type, kind);                       \
		__uint(max_entries, entries);             \
		__type(key, key_type);                    \
		__type(value, __u64);                     \
		extra                                     \
	} name SEC(".maps")

#define LPM __uint(map_flags, BPF_F_NO_PREALLOC);

RULE_MAP(mac_src, BPF_MAP_TYPE_HASH, struct mac_key, 1024, );
RULE_MAP(mac_dst, BPF_MAP_TYPE_HASH, struct mac_key, 1024, );
RULE_MAP(ipv4_src, BPF_MAP_TYPE_LPM_TRIE, struct ipv4_key, 4096, LPM);
RULE_MAP(ipv4_dst, BPF_MAP_TYPE_LPM_TRIE, struct ipv4_key, 4096, LPM);
RULE_MAP(ipv6_src, BPF_MAP_TYPE_LPM_TRIE, struct ipv6_key, 4096, LPM);
RULE_MAP(ipv6_dst, BPF_MAP_TYPE_LPM_TRIE, struct ipv6_key, 4096, LPM);
RULE_MAP(port_src, BPF_MAP_TYPE_HASH, struct port_key, 1024, );
RULE_MAP(port_dst, BPF_MAP_TYPE_HASH, struct port_key, 1024, );

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_REDIRECT + 1);
	__type(key, __u32);
	__type(value, struct action_stats);
} stats SEC(".maps");

/* Not const: a running firewall can be switched between modes without reloading. */
volatile __u32 mode = MODE_ALLOW;

static __always_inline int count(struct xdp_md *ctx, int action)
{
	__u32 key = action;
	struct action_stats *s = bpf_map_lookup_elem(&stats, &key);

	if (s) {
		s->packets++;
		s->bytes += ctx->data_end - ctx->data;
	}
	return action;
}

/* The verdict for a frame that matched a rule (or did not). */
static __always_inline int decide(struct xdp_md *ctx, int matched)
{
	int pass = mode == MODE_DENY ? matched : !matched;

	return count(ctx, pass ? XDP_PASS : XDP_DROP);
}

static __always_inline int hit(void *map, void *key)
{
	__u64 *hits = bpf_map_lookup_elem(map, key);

	if (!hits)
		return 0;
	__sync_fetch_and_add(hits, 1);
	return 1;
}

static __always_inline int match_ports(struct cursor *c, void *end, __u8 proto)
{
	struct port_key k = { .proto = proto };
	/* TCP and UDP both start with the source port, then the destination port */
	__be16 *ports = c->pos;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	if ((void *)(ports + 2) > end)
		return 0;
	k.port = ports[0];
	if (hit(&port_src, &k))
		return 1;
	k.port = ports[1];
	return hit(&port_dst, &k);
}

SEC("xdp")
int planted_firewall_exthdr(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct mac_key mk = {};
	__be16 proto;

	if (!eth)
		return decide(ctx, 0);
	proto = skip_vlans(&c, end, eth->h_proto);
	if (proto == bpf_htons(ETH_P_ARP))
		return count(ctx, XDP_PASS);

	__builtin_memcpy(mk.mac, eth->h_source, 6);
	if (hit(&mac_src, &mk))
		return decide(ctx, 1);
	__builtin_memcpy(mk.mac, eth->h_dest, 6);
	if (hit(&mac_dst, &mk))
		return decide(ctx, 1);

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = parse_iphdr(&c, end);
		struct ipv4_key k = { .prefixlen = 32 };

		if (!ip)
			return decide(ctx, 0);
		k.addr = ip->saddr;
		if (hit(&ipv4_src, &k))
			return decide(ctx, 1);
		k.addr = ip->daddr;
		if (hit(&ipv4_dst, &k))
			return decide(ctx, 1);
		/* only the first fragment (offset 0) carries the ports */
		if (ip->frag_off & bpf_htons(0x1fff))
			return decide(ctx, 0);
		return decide(ctx, match_ports(&c, end, ip->protocol));
	}

	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = parse_ipv6hdr(&c, end);
		struct ipv6_key k = { .prefixlen = 128 };
		int next;

		if (!ip6)
			return decide(ctx, 0);
		__builtin_memcpy(k.addr, &ip6->saddr, 16);
		if (hit(&ipv6_src, &k))
			return decide(ctx, 1);
		__builtin_memcpy(k.addr, &ip6->daddr, 16);
		if (hit(&ipv6_dst, &k))
			return decide(ctx, 1);
		next = ip6->nexthdr; /* the bug: was skip_ipv6_exthdrs(&c, end, ip6->nexthdr) */
		if (next < 0)
			return decide(ctx, 0);
		return decide(ctx, match_ports(&c, end, next));
	}

	return decide(ctx, 0);
}

char _license[] SEC("license") = "GPL";
