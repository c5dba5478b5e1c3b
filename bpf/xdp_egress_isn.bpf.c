// SPDX-License-Identifier: GPL-2.0
/* The egress-XDP article's motivating example: shift the initial sequence number of the TCP
 * connections an application opens, which XDP can do because it keeps no socket metadata that
 * would have to follow (a TC program would have to keep the socket's idea of its ISN in step).
 *
 * The application's traffic leaves its namespace through a veth pair, so XDP on the outer end
 * sees it as ingress. Two programs share a flow table:
 *   xdp_isn_out  on the outer end, the way out: a SYN (without ACK) opens a flow with the
 *                current `isn_offset`; every segment of the flow gets its sequence number
 *                shifted by it. On the SYN, the SACK-permitted option becomes two NOPs: SACK
 *                blocks from the peer would be in the shifted space, and this program does not
 *                rewrite them.
 *   xdp_isn_in   on the uplink (where the peer's answers come in), the way back: segments of a
 *                known flow get their acknowledgement number shifted back, so the application's
 *                kernel sees its own numbers.
 * TCP checksums are patched for each change. IPv4 only; everything else passes unchanged.
 * `isn_offset` may change at run time: a flow keeps the offset it opened with. */
#include <linux/bpf.h>
#include "xdpspec_parse.h"
#include "xdpspec_csum.h"

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_SACK_PERM 4
#define TCP_MAX_OPTIONS 40

__u32 isn_offset = 0x10000000;

/* A flow as the application sees it. */
struct flow {
	__be32 local_addr;
	__be32 remote_addr;
	__be16 local_port;
	__be16 remote_port;
};

struct isn_flow {
	__u32 offset;
	__u32 sack_stripped;
	__u64 packets_out;
	__u64 packets_in;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow);
	__type(value, struct isn_flow);
} isn_flows SEC(".maps");

static __always_inline struct tcphdr *parse_ipv4_tcp(struct xdp_md *ctx, struct iphdr **ipp)
{
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = (void *)(long)ctx->data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct tcphdr *tcp;
	struct iphdr *ip;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->protocol != IPPROTO_TCP || ipv4_is_fragment(ip))
		return NULL;
	tcp = parse_tcphdr(&c, end);
	if (!tcp)
		return NULL;
	*ipp = ip;
	return tcp;
}

/* Turns a SACK-permitted option into two NOPs. Returns 1 when there was one.
 *
 * The walk goes byte by byte with a count of bytes still to skip, rather than jumping from
 * option to option: the position is then the loop counter, and the verifier can prune states
 * that differ only in the count, where a jumping offset makes every path distinct (the
 * jumping version runs into the verifier's one-million-instruction limit). */
static __always_inline int strip_sack_permitted(struct tcphdr *tcp, void *end)
{
	__u8 *opts = (__u8 *)(tcp + 1);
	__u32 len = tcp->doff * 4 - sizeof(*tcp);
	__u32 skip = 0;

	for (__u32 i = 0; i < TCP_MAX_OPTIONS; i++) {
		__u8 *p = opts + i;
		__u8 was[2] = { TCPOPT_SACK_PERM, 2 };
		__u16 old, nops = (TCPOPT_NOP << 8) | TCPOPT_NOP;

		/* Keeps p in a register: clang would otherwise rebuild it for the writes below from
		 * the packet start, a pointer the verifier has no bounds check for. */
		asm volatile("" : "+r"(p));
		if (i >= len || (void *)(p + 2) > end)
			break;
		if (skip) {
			skip--;
			continue;
		}
		if (p[0] == TCPOPT_EOL)
			break;
		if (p[0] == TCPOPT_NOP)
			continue;
		if (p[1] < 2)
			break; /* malformed: leave the rest alone */
		if (p[0] == TCPOPT_SACK_PERM && p[1] == 2) {
			__builtin_memcpy(&old, was, 2);
			/* At an odd offset the two bytes sit in different checksum words, each in the
			 * other half: the same as one word with its bytes swapped. */
			if (i & 1)
				old = __builtin_bswap16(old);
			csum_replace2(&tcp->check, old, nops);
			p[0] = TCPOPT_NOP;
			p[1] = TCPOPT_NOP;
			return 1;
		}
		skip = p[1] - 1;
	}
	return 0;
}

static __always_inline void shift(struct tcphdr *tcp, __be32 *field, __u32 by)
{
	__be32 to = bpf_htonl(bpf_ntohl(*field) + by);

	csum_replace4(&tcp->check, *field, to);
	*field = to;
}

SEC("xdp")
int xdp_isn_out(struct xdp_md *ctx)
{
	struct iphdr *ip = NULL;
	struct tcphdr *tcp = parse_ipv4_tcp(ctx, &ip);
	struct isn_flow *fl;
	struct flow f;

	if (!tcp)
		return XDP_PASS;
	f = (struct flow){ .local_addr = ip->saddr, .remote_addr = ip->daddr, .local_port = tcp->source, .remote_port = tcp->dest };
	if (tcp->syn && !tcp->ack) {
		struct isn_flow fresh = { .offset = isn_offset };

		fresh.sack_stripped = strip_sack_permitted(tcp, (void *)(long)ctx->data_end);
		bpf_map_update_elem(&isn_flows, &f, &fresh, BPF_ANY);
	}
	fl = bpf_map_lookup_elem(&isn_flows, &f);
	if (!fl)
		return XDP_PASS; /* opened before this program was there: left alone */
	shift(tcp, &tcp->seq, fl->offset);
	__sync_fetch_and_add(&fl->packets_out, 1);
	return XDP_PASS;
}

SEC("xdp")
int xdp_isn_in(struct xdp_md *ctx)
{
	struct iphdr *ip = NULL;
	struct tcphdr *tcp = parse_ipv4_tcp(ctx, &ip);
	struct isn_flow *fl;
	struct flow f;

	if (!tcp)
		return XDP_PASS;
	f = (struct flow){ .local_addr = ip->daddr, .remote_addr = ip->saddr, .local_port = tcp->dest, .remote_port = tcp->source };
	fl = bpf_map_lookup_elem(&isn_flows, &f);
	if (!fl)
		return XDP_PASS;
	if (tcp->ack)
		shift(tcp, &tcp->ack_seq, -fl->offset);
	__sync_fetch_and_add(&fl->packets_in, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
