// SPDX-License-Identifier: GPL-2.0
/* A counter in a map pinned by name (LIBBPF_PIN_BY_NAME), as xdp-tools and many deployed
 * programs declare their state: xdpspec must keep it to the run, not the host's /sys/fs/bpf. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdpspec_pinned_frames SEC(".maps");

SEC("xdp")
int xdp_count_pinned(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&xdpspec_pinned_frames, &key);

	if (n)
		__sync_fetch_and_add(n, 1);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
