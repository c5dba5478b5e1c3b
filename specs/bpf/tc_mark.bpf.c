// SPDX-License-Identifier: GPL-2.0
/* Drops what carries mark 1 and passes the rest: per-frame test-run options in the unit engine. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
	return skb->mark == 1 ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
