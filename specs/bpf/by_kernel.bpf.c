// SPDX-License-Identifier: GPL-2.0
// Drops IPv4 on kernels older than 6.6 and passes it on newer ones; other frames pass. A
// stand-in for a program whose fate depends on the kernel it runs on (a helper that came later,
// a verifier that learned more): the kernel matrix's specs need a difference that is really
// there, decided by the running kernel, to show that the matrix finds it.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// Filled in by libbpf at load time from the running kernel's release.
extern int LINUX_KERNEL_VERSION __kconfig;

SEC("xdp")
int by_kernel(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP) && LINUX_KERNEL_VERSION < KERNEL_VERSION(6, 6, 0))
		return XDP_DROP;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
