// SPDX-License-Identifier: GPL-2.0
/* The home router of the connection-tracking article, "XDP the hard way": two programs, one on
 * the LAN port and one on the WAN port, that share a connection-tracking table.
 *
 *   xdp_router_lan  sees what LAN hosts send out. A TCP SYN opens a flow (a conntrack entry and
 *                   a NAT port); the flow's segments get the WAN address and that port as source
 *                   (IP and TCP checksums patched) and leave straight out of the WAN port.
 *   xdp_router_wan  sees what comes in. TCP to the WAN address is matched to its flow by the
 *                   NAT table, checked against the flow's state, translated back and sent
 *                   straight to the LAN host; inbound TCP of no known flow, or that does not fit
 *                   the flow's state (a bare ACK to a flow that never saw a SYN-ACK, a SYN into
 *                   an open flow, anything after a RST), is dropped.
 *
 * Everything that is not TCP over IPv4 (UDP, ICMP, ARP, IPv6) is XDP_PASS: the article's "full
 * stack assist", the kernel deals with it. So is LAN traffic for the LAN or the router itself.
 *
 * TCP states are followed from the flags seen in both directions: SYN (SYN_SENT), SYN-ACK
 * (SYN_RECV), the LAN's ACK (ESTABLISHED), a FIN from one side (FIN_WAIT) and from both
 * (TIME_WAIT), RST from either (CLOSED). A LAN SYN on a tuple whose flow is closed or in
 * TIME_WAIT starts a new flow there, keeping its NAT port.
 *
 * Configuration is read-only data set before loading: the WAN address, the LAN prefix, both
 * ports' ifindexes, the WAN port's MAC and its gateway's, and the NAT port range. The LAN side's
 * MACs come from each flow's SYN (its source is the host, its destination the router). */
#include <linux/bpf.h>
#include "xdpspec_parse.h"
#include "xdpspec_csum.h"

const volatile __be32 wan_addr;
const volatile __be32 lan_prefix_addr;
const volatile __u32 lan_prefix_len = 24;
const volatile __u32 lan_ifindex;
const volatile __u32 wan_ifindex;
const volatile __u8 wan_mac[ETH_ALEN];
const volatile __u8 wan_gw_mac[ETH_ALEN];
const volatile __u16 nat_port_min = 20000;
const volatile __u16 nat_port_max = 29999;

enum ct_state {
	CT_SYN_SENT = 1,
	CT_SYN_RECV,
	CT_ESTABLISHED,
	CT_FIN_WAIT,
	CT_TIME_WAIT,
	CT_CLOSED,
};

/* A flow as the LAN host sees it. */
struct flow {
	__be32 lan_addr;
	__be32 remote_addr;
	__be16 lan_port;
	__be16 remote_port;
};

struct ct_entry {
	enum ct_state state;
	__u8 fin_out;
	__u8 fin_in;
	__be16 nat_port;
	__u8 host_mac[ETH_ALEN];
	__u8 router_mac[ETH_ALEN];
	__u64 packets_out;
	__u64 packets_in;
};

/* What an inbound segment carries: who sent it and to which NAT port. */
struct nat_key {
	__be32 remote_addr;
	__be16 remote_port;
	__be16 nat_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow);
	__type(value, struct ct_entry);
} conntrack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct nat_key);
	__type(value, struct flow);
} nat SEC(".maps");

/* The next NAT port to try, as an offset into the range. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nat_next SEC(".maps");

#define NAT_PORT_TRIES 8

/* The TCP header of an unfragmented IPv4 packet, or NULL. */
static __always_inline struct tcphdr *parse_tcp(struct cursor *c, void *end, struct iphdr *ip)
{
	if (ip->protocol != IPPROTO_TCP || ipv4_is_fragment(ip))
		return NULL;
	return parse_tcphdr(c, end);
}

static __always_inline int is_local(__be32 daddr)
{
	__u32 len = lan_prefix_len;
	__be32 mask = len == 0 ? 0 : bpf_htonl(len >= 32 ? 0xFFFFFFFF : ~(0xFFFFFFFFu >> len));

	return (daddr & mask) == (lan_prefix_addr & mask) || daddr == wan_addr;
}

static __always_inline void set_addr(struct iphdr *ip, struct tcphdr *tcp, __be32 *field, __be32 to)
{
	csum_replace4(&ip->check, *field, to);
	csum_replace4(&tcp->check, *field, to); /* the pseudo-header holds the addresses */
	*field = to;
}

static __always_inline void set_port(struct tcphdr *tcp, __be16 *field, __be16 to)
{
	csum_replace2(&tcp->check, *field, to);
	*field = to;
}

/* A NAT port no flow to the same remote address and port is using, or 0. */
static __always_inline __be16 nat_port_for(const struct flow *f)
{
	__u32 zero = 0, span = (__u32)nat_port_max - nat_port_min + 1;
	__u32 *next = bpf_map_lookup_elem(&nat_next, &zero);
	struct nat_key k = { .remote_addr = f->remote_addr, .remote_port = f->remote_port };

	if (!next || nat_port_max < nat_port_min)
		return 0;
	for (int i = 0; i < NAT_PORT_TRIES; i++) {
		__u32 n = __sync_fetch_and_add(next, 1);

		k.nat_port = bpf_htons(nat_port_min + n % span);
		if (!bpf_map_lookup_elem(&nat, &k))
			return k.nat_port;
	}
	return 0;
}

/* A LAN SYN: a new flow, or a new one on a tuple whose last flow is over. NULL: no NAT port. */
static __always_inline struct ct_entry *open_flow(const struct flow *f, struct ct_entry *old, struct ethhdr *eth)
{
	struct ct_entry e = { .state = CT_SYN_SENT };
	struct nat_key k = { .remote_addr = f->remote_addr, .remote_port = f->remote_port };

	e.nat_port = old ? old->nat_port : nat_port_for(f);
	if (!e.nat_port)
		return NULL;
	__builtin_memcpy(e.host_mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(e.router_mac, eth->h_dest, ETH_ALEN);
	k.nat_port = e.nat_port;
	if (bpf_map_update_elem(&nat, &k, f, BPF_ANY) || bpf_map_update_elem(&conntrack, f, &e, BPF_ANY))
		return NULL;
	return bpf_map_lookup_elem(&conntrack, f);
}

static __always_inline void on_fin(struct ct_entry *ct, int outbound)
{
	if (outbound)
		ct->fin_out = 1;
	else
		ct->fin_in = 1;
	ct->state = ct->fin_out && ct->fin_in ? CT_TIME_WAIT : CT_FIN_WAIT;
}

SEC("xdp")
int xdp_router_lan(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = (void *)(long)ctx->data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;
	struct tcphdr *tcp;
	struct ct_entry *ct;
	struct flow f;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip || is_local(ip->daddr))
		return XDP_PASS;
	tcp = parse_tcp(&c, end, ip);
	if (!tcp)
		return XDP_PASS; /* not TCP (or a fragment): the kernel routes it */

	f = (struct flow){ .lan_addr = ip->saddr, .remote_addr = ip->daddr, .lan_port = tcp->source, .remote_port = tcp->dest };
	ct = bpf_map_lookup_elem(&conntrack, &f);
	if (tcp->syn && !tcp->ack) {
		if (!ct || ct->state == CT_CLOSED || ct->state == CT_TIME_WAIT)
			ct = open_flow(&f, ct, eth);
		else if (ct->state != CT_SYN_SENT)
			return XDP_DROP; /* a SYN inside an open flow */
		if (!ct)
			return XDP_DROP; /* no NAT port left, or the tables are full */
	} else {
		if (!ct || ct->state == CT_CLOSED)
			return XDP_DROP; /* nothing to translate it with */
		if (ct->state == CT_SYN_SENT && !tcp->rst)
			return XDP_DROP; /* only the far side can answer a SYN */
		if (tcp->rst)
			ct->state = CT_CLOSED;
		else if (tcp->fin)
			on_fin(ct, 1);
		else if (ct->state == CT_SYN_RECV && tcp->ack)
			ct->state = CT_ESTABLISHED;
	}
	__sync_fetch_and_add(&ct->packets_out, 1);

	set_addr(ip, tcp, &ip->saddr, wan_addr);
	set_port(tcp, &tcp->source, ct->nat_port);
	copy_config_mac(eth->h_source, wan_mac);
	copy_config_mac(eth->h_dest, wan_gw_mac);
	return bpf_redirect(wan_ifindex, 0);
}

SEC("xdp")
int xdp_router_wan(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = (void *)(long)ctx->data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct nat_key k;
	struct iphdr *ip;
	struct tcphdr *tcp;
	struct ct_entry *ct;
	struct flow *f;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->protocol != IPPROTO_TCP)
		return XDP_PASS; /* UDP, ICMP, ...: the kernel's */
	tcp = parse_tcp(&c, end, ip);
	if (!tcp || ip->daddr != wan_addr)
		return XDP_DROP; /* fragments match no flow; LAN hosts are not reachable from outside */

	k = (struct nat_key){ .remote_addr = ip->saddr, .remote_port = tcp->source, .nat_port = tcp->dest };
	f = bpf_map_lookup_elem(&nat, &k);
	if (!f)
		return XDP_DROP;
	ct = bpf_map_lookup_elem(&conntrack, f);
	if (!ct || ct->state == CT_CLOSED)
		return XDP_DROP;

	if (tcp->rst) {
		ct->state = CT_CLOSED;
	} else if (ct->state == CT_SYN_SENT || ct->state == CT_SYN_RECV) {
		if (!(tcp->syn && tcp->ack))
			return XDP_DROP; /* a handshake's only inbound segment is the SYN-ACK */
		ct->state = CT_SYN_RECV;
	} else if (tcp->syn) {
		return XDP_DROP; /* a SYN into an open flow */
	} else if (tcp->fin) {
		on_fin(ct, 0);
	}
	__sync_fetch_and_add(&ct->packets_in, 1);

	set_addr(ip, tcp, &ip->daddr, f->lan_addr);
	set_port(tcp, &tcp->dest, f->lan_port);
	__builtin_memcpy(eth->h_source, ct->router_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, ct->host_mac, ETH_ALEN);
	return bpf_redirect(lan_ifindex, 0);
}

char _license[] SEC("license") = "GPL";
