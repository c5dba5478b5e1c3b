// SPDX-License-Identifier: GPL-2.0
/* xdpspec's own probe watching XDP or TC on one device of one namespace (a live bench's DUT port).
 * Native mode needs only `exceptions` (veth counts XDP_ABORTED and XDP_DROP both as xdp_drops);
 * generic (skb) mode, where the driver counts nothing, needs all four. For that device only:
 *   frees            skbs freed (kfree_skb tracepoint, any reason): a generic XDP_DROP or
 *                    XDP_ABORTED frees the frame (reason NOT_SPECIFIED on 6.18); a passed frame
 *                    reaches the capture taps before the stack could free it;
 *   exceptions       xdp_exception: XDP_ABORTED (or an action the kernel cannot carry out);
 *   redirects        xdp_redirect: a redirect carried out;
 *   redirect_errors  xdp_redirect_err: a redirect that failed (the frame is then freed), with
 *                    the last one's target index, errno and map id.
 * TC ingress, where no driver counter helps, needs the fate of the skb after the program:
 *   tc_drops         freed with SKB_DROP_REASON_TC_INGRESS: the program returned TC_ACT_SHOT;
 *   consumes         consumed while no socket of the namespace owns it: TC_ACT_STOLEN or
 *                    TRAP;
 *   other_frees      freed for another reason while no socket of the namespace owns it: a
 *                    TC_ACT_REDIRECT that failed (skb_do_redirect frees it, NOT_SPECIFIED).
 * TC egress, where the bench sends from a packet socket of the DUT's namespace (the injector,
 * named by its socket cookie):
 *   tc_egress_drops  freed with SKB_DROP_REASON_TC_EGRESS: TC_ACT_SHOT;
 *   injected_consumes an injector's skb consumed on the device: TC_ACT_STOLEN or TRAP
 *                    (a frame that leaves is consumed on the peer, whose device it then is);
 *   injected_frees   an injector's skb freed on the device for another reason: a failed
 *                    TC_ACT_REDIRECT.
 * Streaming through TC, where frames go by in batches and a fate must be counted, not seen,
 * every skb of the stream's sending socket (`stream_cookie`; veth keeps skb->sk across
 * namespaces, and the IP layer lets go of it before it routes a passed frame) is followed:
 *   stream_drops         freed on the device with reason TC_INGRESS or TC_EGRESS: TC_ACT_SHOT;
 *   stream_consumes      consumed on the device: TC_ACT_STOLEN or TRAP;
 *   stream_frees         freed on the device with no reason given: a failed TC_ACT_REDIRECT;
 *   stream_xmit_here     transmitted by the device (net_dev_start_xmit, after TC egress ran);
 *   stream_xmit_elsewhere transmitted by another device of the namespace: redirected to it;
 *   stream_rx_here       received on the device (netif_rx): arriving from its peer;
 *   stream_rx_elsewhere  received on another device of the namespace: redirected into it.
 * A frame TC lets through never shows up here: the stack and xdpspec's capture sockets hold
 * references to it, and the last one is dropped by a socket read, when a socket of the DUT's
 * namespace owns the skb. (A frame may still be owned by its sender's socket in the tester's
 * namespace: veth keeps skb->sk across namespaces.)
 * The device and its namespace are read with CO-RE against the running kernel's BTF. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} __attribute__((preserve_access_index)) possible_net_t;

struct net_device {
	int ifindex;
	possible_net_t nd_net;
} __attribute__((preserve_access_index));

typedef struct {
	long long counter;
} __attribute__((preserve_access_index)) atomic64_t;

struct sock_common {
	possible_net_t skc_net;
	atomic64_t skc_cookie;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
} __attribute__((preserve_access_index));

struct sk_buff {
	struct net_device *dev;
	struct sock *sk;
	unsigned int len;
	unsigned char *head;
	unsigned char *data;
	__u16 mac_header;
	__u8 cloned : 1;
} __attribute__((preserve_access_index));

/* The value is the running kernel's, by CO-RE; the one here is a placeholder. */
enum skb_drop_reason {
	SKB_DROP_REASON_NOT_SPECIFIED = 0,
	SKB_DROP_REASON_TC_INGRESS = 1,
	SKB_DROP_REASON_TC_EGRESS = 2,
};

__u32 watched_ifindex = 0;
__u32 watched_netns = 0;
__u64 frees = 0;
__u64 exceptions = 0;
__u64 redirects = 0;
__u64 redirect_errors = 0;
/* The last failed redirect's target: the ifindex (or map key), the error, the map (0: none). */
__u32 redirect_error_index = 0;
__s32 redirect_error_errno = 0;
__u32 redirect_error_map_id = 0;
__u64 tc_drops = 0;
__u64 consumes = 0;
__u64 other_frees = 0;
__u64 injector_cookie = 0;
__u64 tc_egress_drops = 0;
__u64 injected_consumes = 0;
__u64 injected_frees = 0;
__u64 stream_cookie = 0;
__u64 stream_drops = 0;
__u64 stream_consumes = 0;
__u64 stream_frees = 0;
__u64 stream_xmit_here = 0;
__u64 stream_xmit_elsewhere = 0;
__u64 stream_rx_here = 0;
__u64 stream_rx_elsewhere = 0;
/* Native mode: a frame XDP passed that the stack freed before any capture saw it (a VLAN header
 * cut short). Such an skb was never cloned: a capture socket clones the skbs it takes, so a frame
 * a tap saw and the IP layer dropped later is not one of these. Their count, and the last one's
 * length and first 64 bytes from its Ethernet header, which tell it from other frames. */
__u64 uncaptured_frees = 0;
__u32 freed_len = 0;
__u64 freed_bytes[8] = {};

static __always_inline int watched(struct net_device *dev)
{
	return BPF_CORE_READ(dev, ifindex) == (int)watched_ifindex &&
	       BPF_CORE_READ(dev, nd_net.net, ns.inum) == watched_netns;
}

/* A socket of the watched namespace (a capture socket, or an application) owns the skb. */
static __always_inline int owned_here(struct sk_buff *skb)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);

	return sk && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) == watched_netns;
}

static __always_inline int owned_by(struct sk_buff *skb, __u64 cookie)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);

	return cookie && sk && BPF_CORE_READ(sk, __sk_common.skc_cookie.counter) == (long long)cookie;
}

/* The bench's own sending socket in the DUT's namespace owns the skb. */
static __always_inline int injected(struct sk_buff *skb)
{
	return owned_by(skb, injector_cookie);
}

static __always_inline int in_namespace(struct net_device *dev)
{
	return BPF_CORE_READ(dev, nd_net.net, ns.inum) == watched_netns;
}

static __always_inline int is_tc_drop(__u64 reason)
{
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TC_INGRESS))
		return 1;
	return bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TC_EGRESS) &&
	       reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TC_EGRESS);
}

SEC("raw_tp/kfree_skb")
int on_kfree_skb(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
	__u64 reason = ctx->args[2]; /* args: skb, location, reason */

	if (!watched(BPF_CORE_READ(skb, dev)))
		return 0;
	if (!BPF_CORE_READ_BITFIELD_PROBED(skb, cloned)) {
		unsigned char *head = BPF_CORE_READ(skb, head);
		unsigned char *data = BPF_CORE_READ(skb, data);
		unsigned char *mac = head + BPF_CORE_READ(skb, mac_header);

		freed_len = BPF_CORE_READ(skb, len) + (unsigned int)(data - mac);
		bpf_probe_read_kernel(freed_bytes, sizeof(freed_bytes), mac);
		uncaptured_frees++;
	}
	frees++;
	if (owned_by(skb, stream_cookie)) {
		if (is_tc_drop(reason))
			stream_drops++;
		else if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_NOT_SPECIFIED))
			stream_frees++;
	}
	if (reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TC_INGRESS))
		tc_drops++;
	else if (bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_REASON_TC_EGRESS) &&
		 reason == bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TC_EGRESS))
		tc_egress_drops++;
	else if (injected(skb))
		injected_frees++;
	else if (!owned_here(skb))
		other_frees++;
	return 0;
}

SEC("raw_tp/consume_skb")
int on_consume_skb(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];

	if (!watched(BPF_CORE_READ(skb, dev)))
		return 0;
	if (owned_by(skb, stream_cookie))
		stream_consumes++;
	if (injected(skb))
		injected_consumes++;
	else if (!owned_here(skb))
		consumes++;
	return 0;
}

SEC("raw_tp/net_dev_start_xmit")
int on_xmit(struct bpf_raw_tracepoint_args *ctx)
{
	/* args: skb, dev */
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
	struct net_device *dev = (struct net_device *)ctx->args[1];

	if (!owned_by(skb, stream_cookie) || !in_namespace(dev))
		return 0;
	if (BPF_CORE_READ(dev, ifindex) == (int)watched_ifindex)
		stream_xmit_here++;
	else
		stream_xmit_elsewhere++;
	return 0;
}

SEC("raw_tp/netif_rx")
int on_rx(struct bpf_raw_tracepoint_args *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->args[0];
	struct net_device *dev = BPF_CORE_READ(skb, dev);

	if (!owned_by(skb, stream_cookie) || !in_namespace(dev))
		return 0;
	if (BPF_CORE_READ(dev, ifindex) == (int)watched_ifindex)
		stream_rx_here++;
	else
		stream_rx_elsewhere++;
	return 0;
}

SEC("raw_tp/xdp_exception")
int on_exception(struct bpf_raw_tracepoint_args *ctx)
{
	if (watched((struct net_device *)ctx->args[0]))
		exceptions++;
	return 0;
}

SEC("raw_tp/xdp_redirect")
int on_redirect(struct bpf_raw_tracepoint_args *ctx)
{
	if (watched((struct net_device *)ctx->args[0]))
		redirects++;
	return 0;
}

SEC("raw_tp/xdp_redirect_err")
int on_redirect_err(struct bpf_raw_tracepoint_args *ctx)
{
	/* args: dev, xdp prog, target, err, map type, map id, index */
	if (!watched((struct net_device *)ctx->args[0]))
		return 0;
	redirect_error_index = (__u32)ctx->args[6];
	redirect_error_errno = -(__s32)ctx->args[3];
	redirect_error_map_id = (__u32)ctx->args[5];
	redirect_errors++;
	return 0;
}

char _license[] SEC("license") = "GPL";
