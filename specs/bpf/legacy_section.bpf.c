// SPDX-License-Identifier: GPL-2.0
/* A program in a section whose name says no type, as the IPv6-filter article's program and
 * xdp-tutorial's solutions are written (SEC("prog"), SEC("xdp_icmp_echo")): libbpf 1.x cannot
 * infer the type, so loading needs it given (loadObject's programType, --type). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("prog")
int xdp_legacy(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
