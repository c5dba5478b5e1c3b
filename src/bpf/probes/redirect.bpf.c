// SPDX-License-Identifier: GPL-2.0
/* xdpspec's own probe: records the kernel's xdp_redirect and xdp_redirect_err tracepoints
 * fired by one thread (the one running BPF_PROG_TEST_RUN), so a unit run can tell where an
 * XDP_REDIRECT sent its frame. Raw tracepoint arguments, in order: dev, prog, target, err,
 * map type, map id, index (the ifindex, or the map key). */
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

#define MAX_EVENTS 16

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_EVENTS);
	__type(key, __u32);
	__type(value, struct redirect_event);
} events SEC(".maps");

__u64 watched_pid_tgid = 0;
__u32 count = 0;

static __always_inline int record(struct bpf_raw_tracepoint_args *ctx, __u32 kind)
{
	struct redirect_event *ev;
	__u32 i;

	if (bpf_get_current_pid_tgid() != watched_pid_tgid)
		return 0;
	/* Only the watched thread gets here, one event at a time: no atomics needed. */
	i = count;
	count = i + 1;
	if (i >= MAX_EVENTS)
		return 0;
	ev = bpf_map_lookup_elem(&events, &i);
	if (!ev)
		return 0;
	ev->kind = kind;
	ev->err = (__s32)ctx->args[3];
	ev->map_type = (__u32)ctx->args[4];
	ev->map_id = (__u32)ctx->args[5];
	ev->index = (__u32)ctx->args[6];
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
