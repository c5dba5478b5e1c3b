// SPDX-License-Identifier: GPL-2.0
/* A program in a section named as libbpf before 1.0 took for XDP by its prefix, as
 * xdp-tutorial's solutions are (SEC("xdp_icmp_echo"), SEC("xdp_redirect")): libbpf 1.x cannot
 * type it, and xdpspec's error names the type the prefix suggests. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp_redirect")
int xdp_prefixed(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
