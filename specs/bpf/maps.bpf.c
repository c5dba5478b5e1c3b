// SPDX-License-Identifier: GPL-2.0
/* One map of every kind the map API supports, and a program that touches them, so specs
 * can check BTF-typed keys and values and see state change through test runs. */
#include <linux/bpf.h>
#include "xdpspec_parse.h"

struct flow_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct rule {
	__u32 action;
	char name[12];
	__u16 ports[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_stats);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} per_proto SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct rule);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

/* Globals: settable before load; .bss and .data ones readable after. */
const volatile __u32 drop_action = XDP_DROP;
const volatile __be32 blocked_ip = 0;
const volatile struct flow_key watched = {};
__u64 seen = 0;
char banner[16] = "xdpspec";

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct cursor c = { .pos = data };
	struct ethhdr *eth = parse_ethhdr(&c, end);
	struct flow_key key = {};
	struct flow_stats *st, init = { 1, 0 };
	struct lpm_v4_key lk = { .prefixlen = 32 };
	__u32 zero = 0, *action;
	__u64 *n;
	struct iphdr *ip;
	__u32 proto;

	__sync_fetch_and_add(&seen, 1);
	st = bpf_map_lookup_elem(&totals, &zero);
	if (st) {
		st->packets++;
		st->bytes += end - data;
	}
	if (!eth || skip_vlans(&c, end, eth->h_proto) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = parse_iphdr(&c, end);
	if (!ip)
		return XDP_PASS;
	proto = ip->protocol;
	n = bpf_map_lookup_elem(&per_proto, &proto);
	if (n)
		(*n)++;
	else {
		__u64 one = 1;
		bpf_map_update_elem(&per_proto, &proto, &one, BPF_ANY);
	}
	key.saddr = ip->saddr;
	key.daddr = ip->daddr;
	key.proto = ip->protocol;
	if (ip->protocol == IPPROTO_UDP || ip->protocol == IPPROTO_TCP) {
		struct udphdr *l4 = c.pos;

		if ((void *)(l4 + 1) <= end) {
			key.sport = l4->source;
			key.dport = l4->dest;
		}
	}
	st = bpf_map_lookup_elem(&flows, &key);
	if (st) {
		st->packets++;
		st->bytes += end - data;
	} else {
		init.bytes = end - data;
		bpf_map_update_elem(&flows, &key, &init, BPF_ANY);
	}
	if (blocked_ip && ip->saddr == blocked_ip)
		return drop_action;
	__builtin_memcpy(lk.addr, &ip->saddr, 4);
	action = bpf_map_lookup_elem(&prefixes, &lk);
	if (action)
		return *action;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
