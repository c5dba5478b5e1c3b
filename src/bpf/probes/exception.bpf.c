// SPDX-License-Identifier: GPL-2.0
/* xdpspec's own probe: counts the kernel's xdp_exception tracepoint (XDP_ABORTED, or an
 * action the driver cannot carry out) on one device of one network namespace, so a live run
 * can tell an aborted frame from a dropped one (veth counts both as xdp_drops).
 * The device and its namespace are read with CO-RE: the local structs below name only the
 * fields used, and libbpf finds their offsets in the running kernel's BTF at load time. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} __attribute__((preserve_access_index)) possible_net_t;

struct net_device {
	int ifindex;
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

__u32 watched_ifindex = 0;
__u32 watched_netns = 0; /* inode number of the namespace (stat /run/netns/NAME) */
__u64 count = 0;
__u32 last_action = 0;

SEC("raw_tp/xdp_exception")
int on_exception(struct bpf_raw_tracepoint_args *ctx)
{
	struct net_device *dev = (struct net_device *)ctx->args[0];

	if (BPF_CORE_READ(dev, ifindex) != (int)watched_ifindex)
		return 0;
	if (BPF_CORE_READ(dev, nd_net.net, ns.inum) != watched_netns)
		return 0;
	count++;
	last_action = (__u32)ctx->args[2];
	return 0;
}

char _license[] SEC("license") = "GPL";
