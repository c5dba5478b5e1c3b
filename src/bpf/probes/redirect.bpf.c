// SPDX-License-Identifier: GPL-2.0
/* xdpspec's own probe: records the kernel's xdp_redirect and xdp_redirect_err tracepoints
 * fired by one thread (the one running BPF_PROG_TEST_RUN), so a unit run can tell where an
 * XDP_REDIRECT sent its frame. Raw tracepoint arguments, in order: dev, prog, target, err,
 * map type, map id, index (the ifindex, or the map key).
 *
 * The events are a ring in .bss and count only grows: the reader maps the section and reads
 * count before and after a run, so nothing is reset between runs and no map is looked up. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct redirect_event {
	__u32 kind; /* 1: xdp_redirect, 2: xdp_redirect_err */
	__s32 err;
	__u32 map_type;
	__u32 map_id;
	__u32 index;
	__u32 pad;
};

#define MAX_EVENTS 16 /* a power of two: the ring's slot is count's low bits */

struct redirect_event events[MAX_EVENTS] = {};
__u64 watched_pid_tgid = 0;
__u32 count = 0;

static __always_inline int record(struct bpf_raw_tracepoint_args *ctx, __u32 kind)
{
	struct redirect_event *ev;
	__u32 i;

	if (bpf_get_current_pid_tgid() != watched_pid_tgid)
		return 0;
	/* Only the watched thread gets here, one event at a time: no atomics needed. The slot is
	 * written before count moves, so a reader that sees the count sees the event. */
	i = count;
	ev = &events[i & (MAX_EVENTS - 1)];
	ev->kind = kind;
	ev->err = (__s32)ctx->args[3];
	ev->map_type = (__u32)ctx->args[4];
	ev->map_id = (__u32)ctx->args[5];
	ev->index = (__u32)ctx->args[6];
	count = i + 1;
	return 0;
}

SEC("raw_tp/xdp_redirect")
int on_redirect(struct bpf_raw_tracepoint_args *ctx)
{
	return record(ctx, 1);
}

SEC("raw_tp/xdp_redirect_err")
int on_redirect_err(struct bpf_raw_tracepoint_args *ctx)
{
	return record(ctx, 2);
}

char _license[] SEC("license") = "GPL";
