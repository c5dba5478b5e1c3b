// SPDX-License-Identifier: GPL-2.0
/* Tags what it sees with VLAN 4011, as the kernel's test_xdp_vlan.c does on egress: the tag
 * bpf_skb_vlan_push adds stays in the socket buffer's metadata (a NIC's VLAN offload puts it on
 * the wire), which a test run does not return. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("tc")
int tc_vlan_push(struct __sk_buff *skb)
{
	bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 4011);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
