// SPDX-License-Identifier: GPL-2.0
/* For the coverage specs: the lines marked at their end are ones clang keeps in the line info
 * (it folds some others into their neighbours), so which runs how often is known for any capture. A subprogram (its own function in the line
 * and func info, reached by a BPF-to-BPF call) walks the payload in a loop the compiler keeps,
 * one pass per non-zero byte, so the instructions a frame executes grow by the same amount for
 * every byte it walks.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u64 seen_ipv6, seen_other;

static __attribute__((noinline)) int walk(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 *p = data + sizeof(struct ethhdr);
	int n = 0;

#pragma clang loop unroll(disable)
	for (int i = 0; i < 8; i++) {
		if ((void *)(p + i + 1) > end)
			break;
		if (p[i] == 0) /* mark:byte */
			break;
		n++;
	}
	return n;
}

SEC("xdp")
int counted(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end) /* mark:bounds */
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		__sync_fetch_and_add(&seen_ipv6, 1); /* mark:ipv6 */
		return walk(ctx) > 4 ? XDP_DROP : XDP_PASS;
	}
	__sync_fetch_and_add(&seen_other, 1); /* mark:other */
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
