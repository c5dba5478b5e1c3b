// SPDX-License-Identifier: GPL-2.0
/* Map layouts real programs use that a codec must read as C lets them be written: anonymous
 * unions and structs (Katran's flow keys), IPv6 addresses as __u32[4], and __be16 ports. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_key {
	union {
		__be32 src;
		__be32 srcv6[4];
	};
	union {
		__be32 dst;
		__be32 dstv6[4];
	};
	union {
		__u32 ports;
		__be16 port16[2];
	};
	__u8 proto;
};

struct real_def {
	__u32 addrv6[4];
	struct {
		__u16 weight;
		__u16 flags;
	};
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flow_key);
	__type(value, struct real_def);
} flows SEC(".maps");

SEC("xdp")
int xdp_codec_shapes(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
