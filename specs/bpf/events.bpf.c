// SPDX-License-Identifier: GPL-2.0
/* For xdpspec's own specs: reports every IPv4 UDP frame in a ring buffer (its source, length,
 * destination port and verdict), drops those to port 9, and reserves but discards the record of
 * those to port 7 (which a reader must never see). The same report goes to a perf event array
 * too, followed by the whole frame (as xdp-tutorial's xdp_sample_pkts and xdpdump send one). */
#include <linux/bpf.h>
#include "xdpspec_parse.h"

struct event {
	__be32 saddr;
	__u16 len;
	__u16 dport;
	__u32 verdict;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

/* Records are only ever pointed at by locals, whose types BTF leaves out: this keeps the type. */
const struct event *unused_event __attribute__((unused));

SEC("xdp")
int xdp_events(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;
	struct udphdr *udp;
	struct event *e, report;
	__u32 verdict;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	udp = parse_udphdr(&c, end);
	if (!udp)
		return XDP_PASS;
	verdict = udp->dest == bpf_htons(9) ? XDP_DROP : XDP_PASS;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return verdict;
	if (udp->dest == bpf_htons(7)) {
		bpf_ringbuf_discard(e, 0);
		return verdict;
	}
	e->saddr = ip->saddr;
	e->len = (__u16)(end - data);
	e->dport = bpf_ntohs(udp->dest);
	e->verdict = verdict;
	report = *e;
	bpf_ringbuf_submit(e, 0);
	/* The upper half of the flags is how many bytes of the frame follow the report. */
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU | ((__u64)report.len << 32), &report,
			      sizeof(report));
	return verdict;
}

char _license[] SEC("license") = "GPL";
