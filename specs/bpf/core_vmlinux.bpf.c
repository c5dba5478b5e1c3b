// SPDX-License-Identifier: GPL-2.0
/* A CO-RE program as libbpf-bootstrap's are written: every kernel type from vmlinux.h, which
 * bpf/rules.mk makes from the running kernel's BTF when no vmlinux.h lies beside the sources,
 * and a field read through a CO-RE relocation. Passes IPv6, drops the rest. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>

SEC("xdp")
int xdp_core_ipv6(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* relocated against the kernel's struct xdp_md at load: the field must exist there */
	if (!bpf_core_field_exists(ctx->ingress_ifindex))
		return XDP_ABORTED;
	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	return eth->h_proto == bpf_htons(0x86DD) ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
