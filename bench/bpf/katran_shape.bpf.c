// SPDX-License-Identifier: GPL-2.0
/* A program with maps the size of Katran's balancer (the benchmark of bench() set-up and reset):
 * consistent-hash rings of 65,537 slots for 9 VIPs, 4,096 reals, 512 VIPs, a connection table of
 * a million LRU entries, per-CPU stats. The program touches the connection table and a stat, so
 * a case changes state the way the balancer's would. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define RING_SIZE 65537
#define MAX_VIPS 512

struct real { __u32 addr[4]; __u8 flags; __u8 pad[3]; };
struct vip_key { __u32 addr[4]; __u16 port; __u8 proto; __u8 pad; };
struct vip_meta { __u32 flags; __u32 vip_num; };
struct flow_key { __u32 src[4]; __u32 dst[4]; __u32 ports; __u8 proto; __u8 pad[3]; };
struct conn { __u32 real; __u32 atime; };
struct lb_stats { __u64 v1; __u64 v2; };

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, RING_SIZE * 9); __type(key, __u32); __type(value, __u32); } ch_rings SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4096); __type(key, __u32); __type(value, struct real); } reals SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, MAX_VIPS); __type(key, struct vip_key); __type(value, struct vip_meta); } vip_map SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 1000000); __type(key, struct flow_key); __type(value, struct conn); } conn_table SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, MAX_VIPS * 2); __type(key, __u32); __type(value, struct lb_stats); } stats SEC(".maps");

SEC("xdp")
int katran_shape(struct xdp_md *ctx)
{
	struct flow_key k = {};
	struct conn c = { .real = 1 };
	__u32 zero = 0;
	struct lb_stats *s = bpf_map_lookup_elem(&stats, &zero);

	k.ports = ctx->data_end - ctx->data;
	bpf_map_update_elem(&conn_table, &k, &c, BPF_ANY);
	if (s)
		s->v1++;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
