// SPDX-License-Identifier: GPL-2.0
/* Pushes each frame's length into a queue and a stack: maps of values without keys, whose state
 * xdpspec reads by popping and puts back by pushing (between cases, around located redirects). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16);
	__type(value, __u32);
} lengths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 16);
	__type(value, __u32);
} pile SEC(".maps");

SEC("xdp")
int xdp_queues(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	bpf_map_push_elem(&lengths, &len, BPF_EXIST); /* full: the oldest goes */
	bpf_map_push_elem(&pile, &len, BPF_EXIST);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
