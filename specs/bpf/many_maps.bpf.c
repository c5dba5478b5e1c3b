// SPDX-License-Identifier: GPL-2.0
/* A program that uses 64 maps, the most one program may (MAX_USED_MAPS): its counted copy would
 * need a 65th for its counters, which the kernel refuses, so it has to run as it is. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAP(n)                                                                                     \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_ARRAY);                                                  \
		__uint(max_entries, 1);                                                            \
		__type(key, __u32);                                                                \
		__type(value, __u64);                                                              \
	} m##n SEC(".maps");
#define MAP8(n) MAP(n##0) MAP(n##1) MAP(n##2) MAP(n##3) MAP(n##4) MAP(n##5) MAP(n##6) MAP(n##7)
MAP8(1) MAP8(2) MAP8(3) MAP8(4) MAP8(5) MAP8(6) MAP8(7) MAP8(8)

#define BUMP(n)                                                                                    \
	v = bpf_map_lookup_elem(&m##n, &k);                                                       \
	if (v)                                                                                     \
		(*v)++;
#define BUMP8(n) BUMP(n##0) BUMP(n##1) BUMP(n##2) BUMP(n##3) BUMP(n##4) BUMP(n##5) BUMP(n##6) BUMP(n##7)

SEC("xdp")
int xdp_many_maps(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v;

	BUMP8(1) BUMP8(2) BUMP8(3) BUMP8(4) BUMP8(5) BUMP8(6) BUMP8(7) BUMP8(8)
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
