// SPDX-License-Identifier: GPL-2.0
/* Redirects UDP through the devmap `ports`, key 0 if it holds a device, else key 1 (the
 * fallback action of the first bpf_redirect_map tells it), counting the frames it sees; the
 * object's second program counts into a map of its own. For the unit engine's redirect
 * location: the rerun must see the devmap's keys as they are now, and put back only the maps
 * the located program uses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
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
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} other_seen SEC(".maps");

static __always_inline void count(void *map)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(map, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp")
int redirect_fallback(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct iphdr *ip;
	long action;

	count(&seen);
	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	action = bpf_redirect_map(&ports, 0, XDP_PASS);
	if (action == XDP_REDIRECT)
		return XDP_REDIRECT;
	return bpf_redirect_map(&ports, 1, XDP_DROP);
}

SEC("xdp")
int count_other(struct xdp_md *ctx)
{
	count(&other_seen);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
