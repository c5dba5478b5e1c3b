// SPDX-License-Identifier: GPL-2.0
/* The load balancer of the XDP article's lab: `lb`, `h2` and `h3` on one bridge. TCP and UDP
 * for the virtual IP that reach lb go to a backend chosen by a hash of the 5-tuple: the
 * destination IP and MAC become the backend's, the source MAC lb's own, checksums are patched,
 * and the frame goes back out the way it came (XDP_TX). The client's address is kept, so a
 * backend sees who is asking; backends route the clients' subnet through lb, so their answers
 * come back to it and leave with the virtual IP as source, to the client's MAC.
 *
 * `backends` holds up to MAX_BACKENDS backends under slots 0..MAX_BACKENDS-1; a flow's pick is
 * among the slots present, so deleting one sends new flows to the others. Flows remember their
 * backend (and the client's MAC, for the answers) in `flows`: a flow stays on its backend while
 * that backend is in the table, even when others come or go. Everything else is XDP_PASS. */
#include <linux/bpf.h>
#include "xdpspec_parse.h"
#include "xdpspec_csum.h"
#include "xdpspec_hash.h"

#define MAX_BACKENDS 8

const volatile __be32 vip_addr;
const volatile __u32 hash_seed;

struct backend {
	__be32 addr;
	__u8 mac[ETH_ALEN];
	__u16 pad;
};

/* A flow as the client sends it; the answers are looked up by the same key. */
struct flow {
	__be32 client_addr;
	__be16 client_port;
	__be16 vip_port;
	__u8 proto;
	__u8 pad[3];
};

struct lb_flow {
	__u32 slot;
	__be32 backend_addr;
	__u8 client_mac[ETH_ALEN];
	__u8 lb_mac[ETH_ALEN];
	__u64 packets;
	__u64 answers;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow);
	__type(value, struct lb_flow);
} flows SEC(".maps");

/* Where the ports and the checksum of a TCP or UDP header are. */
struct l4 {
	__be16 *sport;
	__be16 *dport;
	__sum16 *check;
	int udp;
};

static __always_inline int parse_l4(struct cursor *c, void *end, struct iphdr *ip, struct l4 *l)
{
	struct tcphdr *tcp;
	struct udphdr *udp;

	if (ipv4_is_fragment(ip))
		return -1;
	if (ip->protocol == IPPROTO_TCP && (tcp = parse_tcphdr(c, end))) {
		*l = (struct l4){ &tcp->source, &tcp->dest, &tcp->check, 0 };
		return 0;
	}
	if (ip->protocol == IPPROTO_UDP && (udp = parse_udphdr(c, end))) {
		*l = (struct l4){ &udp->source, &udp->dest, &udp->check, 1 };
		return 0;
	}
	return -1;
}

/* Address rewrite, with the IP checksum and the L4 one (its pseudo-header holds the address).
 * A UDP checksum of 0 means "none" and stays so. */
static __always_inline void set_addr(struct iphdr *ip, struct l4 *l, __be32 *field, __be32 to)
{
	csum_replace4(&ip->check, *field, to);
	if (!l->udp || *l->check)
		csum_replace4(l->check, *field, to);
	*field = to;
}

/* The n-th backend present, n = hash mod how many are. */
static __always_inline int pick(__u32 hash, __u32 *slot, struct backend **b)
{
	__u32 present = 0, n;

#pragma unroll
	for (__u32 i = 0; i < MAX_BACKENDS; i++) {
		__u32 k = i;

		if (bpf_map_lookup_elem(&backends, &k))
			present++;
	}
	if (!present)
		return -1;
	n = hash % present;
#pragma unroll
	for (__u32 i = 0; i < MAX_BACKENDS; i++) {
		__u32 k = i;
		struct backend *found = bpf_map_lookup_elem(&backends, &k);

		if (found && n-- == 0) {
			*slot = i;
			*b = found;
			return 0;
		}
	}
	return -1;
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = (void *)(long)ctx->data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct lb_flow *fl;
	struct backend *b;
	struct iphdr *ip;
	struct flow key;
	struct l4 l;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip || parse_l4(&c, end, ip, &l))
		return XDP_PASS;

	if (ip->daddr == vip_addr) {
		__u32 slot;

		key = (struct flow){ .client_addr = ip->saddr, .client_port = *l.sport, .vip_port = *l.dport, .proto = ip->protocol };
		fl = bpf_map_lookup_elem(&flows, &key);
		b = fl ? bpf_map_lookup_elem(&backends, &fl->slot) : NULL;
		if (!b || b->addr != fl->backend_addr) {
			/* A new flow, or its backend left: pick one. */
			struct lb_flow fresh = {};
			__u32 hash = hash_3words(ip->saddr, ((__u32)*l.sport << 16) | *l.dport, ip->protocol, hash_seed);

			if (pick(hash, &slot, &b))
				return XDP_DROP; /* no backend to send it to */
			fresh.slot = slot;
			fresh.backend_addr = b->addr;
			__builtin_memcpy(fresh.client_mac, eth->h_source, ETH_ALEN);
			__builtin_memcpy(fresh.lb_mac, eth->h_dest, ETH_ALEN);
			bpf_map_update_elem(&flows, &key, &fresh, BPF_ANY);
			fl = bpf_map_lookup_elem(&flows, &key);
			if (!fl)
				return XDP_DROP;
		}
		__sync_fetch_and_add(&fl->packets, 1);
		set_addr(ip, &l, &ip->daddr, b->addr);
		__builtin_memcpy(eth->h_source, fl->lb_mac, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, b->mac, ETH_ALEN);
		return XDP_TX;
	}

	/* An answer from a backend to a client of the virtual IP? */
	key = (struct flow){ .client_addr = ip->daddr, .client_port = *l.dport, .vip_port = *l.sport, .proto = ip->protocol };
	fl = bpf_map_lookup_elem(&flows, &key);
	if (!fl || fl->backend_addr != ip->saddr)
		return XDP_PASS;
	__sync_fetch_and_add(&fl->answers, 1);
	set_addr(ip, &l, &ip->saddr, vip_addr);
	__builtin_memcpy(eth->h_source, fl->lb_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, fl->client_mac, ETH_ALEN);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
