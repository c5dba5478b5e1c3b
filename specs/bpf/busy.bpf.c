// SPDX-License-Identifier: GPL-2.0
/* A program whose work per frame the specs control, for the run-time gate's specs: `rounds`
 * rounds of mixing the first bytes of the frame, then XDP_PASS. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 rounds = 1;
/* Where the result goes, so the compiler cannot leave the work out. */
volatile __u64 sink;

SEC("xdp")
int xdp_busy(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 h = 0x9e3779b97f4a7c15ULL;
	__u32 i;

	if (data + 8 > end)
		return XDP_PASS;
	for (i = 0; i < rounds && i < 100000; i++)
		h = (h ^ *(__u64 *)data) * 0xff51afd7ed558ccdULL + i;
	sink = h;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
