// SPDX-License-Identifier: GPL-2.0
/* Reads and writes __sk_buff fields a TC test run carries in and out: mark = cb[0] + 1,
 * cb[1] = wire_len, priority = gso_segs, cb[2] = the low 32 bits of tstamp. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_context(struct __sk_buff *skb)
{
	skb->mark = skb->cb[0] + 1;
	skb->cb[1] = skb->wire_len;
	skb->priority = skb->gso_segs;
	skb->cb[2] = (__u32)skb->tstamp;
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
