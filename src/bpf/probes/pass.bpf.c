// SPDX-License-Identifier: GPL-2.0
/* xdpspec's pass-through program for tester ends: a veth delivers frames sent to it with
 * XDP_TX or XDP_REDIRECT only when it has an XDP program of its own (or GRO), so benches
 * attach this one, which lets everything through to the capture sockets. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdpspec_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
