// SPDX-License-Identifier: GPL-2.0
/* A map of maps: the outer array's slot 0 holds an inner array whose element 0 says whether to
 * drop (1) or pass. Specs fill the slot with a map made in TypeScript (createMap). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} policies SEC(".maps");

SEC("xdp")
int xdp_policy(struct xdp_md *ctx)
{
	__u32 key = 0;
	void *inner = bpf_map_lookup_elem(&policies, &key);
	__u32 *drop;

	if (!inner)
		return XDP_PASS;
	drop = bpf_map_lookup_elem(inner, &key);
	return drop && *drop == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
