// SPDX-License-Identifier: GPL-2.0
/* For xdpspec's own specs: records the ingress ifindex of the last frame, which a test run
 * given no ingress device sees as loopback's (1) and a live run as the port's, so the two
 * engines leave different map states behind (and runBoth must say so). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} seen SEC(".maps");

SEC("xdp")
int ingress_seen(struct xdp_md *ctx)
{
	__u32 zero = 0, ifindex = ctx->ingress_ifindex;

	bpf_map_update_elem(&seen, &zero, &ifindex, BPF_ANY);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
