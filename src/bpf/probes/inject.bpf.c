// SPDX-License-Identifier: GPL-2.0
/* xdpspec's stream injector: run by BPF_PROG_TEST_RUN in live-frames mode with `repeat` set to
 * the number of frames waiting in `frames`, each run takes the next one, makes the test run's
 * frame that frame (its length, then its bytes) and redirects it through `out`, whose one entry
 * is the tester end of a bench's port. veth hands it to its peer, the DUT end, as a frame from
 * the wire: the program under test runs on it in the driver's receive path as on any other, and
 * no socket buffer is made for it on the way in (what a packet socket's send costs per frame).
 *
 * `next` counts the frames taken; a run past the last one drops its frame, so a repeat larger
 * than the batch sends nothing twice. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SLOT_BYTES 3392 /* the most a live-frames frame can grow to from TEMPLATE_BYTES */
#define TEMPLATE_BYTES 64
#define SLOTS 256

struct slot {
	__u32 len;
	__u8 data[SLOT_BYTES];
	__u8 pad[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct slot);
} frames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} out SEC(".maps");

__u32 next = 0;
__u32 count = 0;
/* Frames the injector could not make (a bad slot length, a resize the kernel refused). */
__u32 refused = 0;

SEC("xdp")
int inject(struct xdp_md *ctx)
{
	__u32 i = next;
	struct slot *s;
	__u32 len;

	if (i >= count)
		return XDP_DROP;
	next = i + 1;
	s = bpf_map_lookup_elem(&frames, &i);
	if (!s)
		goto refuse;
	len = s->len;
	if (len < 14 || len > SLOT_BYTES)
		goto refuse;
	if (bpf_xdp_adjust_tail(ctx, (int)len - (int)bpf_xdp_get_buff_len(ctx)))
		goto refuse;
	if (bpf_xdp_store_bytes(ctx, 0, s->data, len))
		goto refuse;
	return bpf_redirect_map(&out, 0, XDP_DROP);
refuse:
	__sync_fetch_and_add(&refused, 1);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
