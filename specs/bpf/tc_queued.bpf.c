// SPDX-License-Identifier: GPL-2.0
/* Return codes cls_bpf turns into TC_ACT_UNSPEC (the frame passes when no filter follows):
 * TC_ACT_QUEUED for frames up to 100 bytes, the unknown code 9 for longer ones. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_queued(struct __sk_buff *skb)
{
	return skb->len > 100 ? 9 : TC_ACT_QUEUED;
}

char _license[] SEC("license") = "GPL";
