// SPDX-License-Identifier: GPL-2.0
/* xdpspec's batch test run: BPF_PROG_TEST_RUN over many frames in one call from JavaScript.
 * Calling the kernel once per frame through koffi costs a foreign call, a copy into the run's
 * buffer and the reads of the results per frame; here the loop runs in C over frames laid end to
 * end, and the results come back in one array. The options (context, repeat, flags) are the
 * block src/bpf/testrun.ts prepared, read once per call into the system call's attributes;
 * only the per-frame fields change after that, and the block itself is left as it was.
 *
 * Frame i is places[n + i] bytes at in + places[i] (where it starts, then how long each is):
 * frames decoded from one capture file lie in one buffer, between record headers, and run from
 * where they are without a copy. Frames from `first` on are run; their outputs go to `out` from
 * `out_at` on (memory of the caller's that results keep viewing). res[0] is 0, or the errno of
 * the run that failed; res[1] the offset in `out` where the outputs end; then per frame k of
 * the call (frame first + k), res[2 + 4k ..] = return code, duration (ns), start and length of
 * its output in `out` (after any metadata the program put in front, as ctx_out's `data` says).
 * Stops early when `out` has less than `max_out` bytes left, or at a failing run. Returns how
 * many frames were run.
 *
 * `same`, where not NULL, holds copies of the frames laid as `in` holds them (the ones kept for
 * an array of frames run before). An output byte for byte the same as its frame's copy there is
 * not kept in `out`: its length gets SAME_COPY and its start is the frame's place in `same`, and
 * the next output goes over it. Most frames of a filter leave unchanged, and memory written for
 * each output is memory not in the caches: keeping every output cost more than the calls did
 * besides the kernel's work. The copy, not the caller's frame, so that a frame changed after the
 * run does not change what the result says came out.
 *
 * Each frame is one bpf(BPF_PROG_TEST_RUN) system call made here, not through libbpf's
 * bpf_prog_test_run_opts: that wrapper clears and fills the whole attribute block and copies
 * every result back for each call, where from one frame to the next only the data pointers and
 * sizes change; and on x86-64 the call is the instruction itself, not libc's syscall(), which
 * sets errno through thread-local storage and is one more function to come back through. The
 * attributes are the ones libbpf passes, of the same size, so a kernel takes or refuses them as
 * it would libbpf's. Measured side by side in one process, with the loop at eight places in its
 * library (see the README's benchmarks: where the loop lies moves it by 3%), testRunMany took
 * 1.065x the C loop's time through libbpf on average, 1.054x through syscall() and 1.046x so.
 *
 * `at`, where not NULL, says where each frame lies in memory instead (at[i] its address): the
 * frames of an array run before that do not share one buffer, which would otherwise be copied
 * one by one into `in` for every call (a copy from JavaScript per frame cost more than the rest
 * of the batch's JavaScript). */
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>

#include "sys_bpf.h"

#define SAME_COPY (1u << 30)

int xdpspec_run_batch(int fd, const struct bpf_test_run_opts *o, int ctx_len_off, const uint8_t *in,
		     const uint32_t *places, uint32_t n, uint32_t first, uint8_t *out, uint32_t out_at,
		     uint32_t out_cap, uint32_t max_out, uint32_t *res, const uint8_t *same,
		     const uint64_t *at)
{
	const uint32_t *starts = places, *lens = places + n;
	uint32_t off = out_at, *r = res + 2;
	union bpf_attr attr;
	uint32_t i;

	memset(&attr, 0, sizeof(attr));
	attr.test.prog_fd = (uint32_t)fd;
	attr.test.repeat = (uint32_t)o->repeat;
	attr.test.flags = o->flags;
	attr.test.cpu = o->cpu;
	attr.test.batch_size = o->batch_size;
	attr.test.ctx_in = (uintptr_t)o->ctx_in;
	attr.test.ctx_size_in = o->ctx_size_in;
	attr.test.ctx_out = (uintptr_t)o->ctx_out;
	res[0] = 0;
	for (i = first; i < n; i++, r += 4) {
		uint32_t out_len, meta = 0;
		long rc;

		if (out_cap - off < max_out)
			break;
		attr.test.data_in = at ? at[i] : (uintptr_t)(in + starts[i]);
		attr.test.data_size_in = lens[i];
		attr.test.data_out = (uintptr_t)(out + off);
		attr.test.data_size_out = out_cap - off;
		/* Written back with what the kernel wrote: the room has to be given again each time. */
		attr.test.ctx_size_out = o->ctx_size_out;
		if (ctx_len_off >= 0)
			*(uint32_t *)((uint8_t *)o->ctx_in + ctx_len_off) = lens[i];
		rc = sys_bpf(BPF_PROG_TEST_RUN, &attr, sizeof(attr.test));
		if (rc < 0) {
			res[0] = (uint32_t)-rc;
			break;
		}
		out_len = attr.test.data_size_out;
		if (ctx_len_off >= 0 && o->ctx_out) {
			meta = *(const uint32_t *)o->ctx_out;
			if (meta > out_len)
				meta = out_len;
		}
		r[0] = attr.test.retval;
		r[1] = attr.test.duration;
		if (same && !meta && out_len == lens[i] && !memcmp(out + off, same + starts[i], out_len)) {
			r[2] = starts[i];
			r[3] = out_len | SAME_COPY;
			continue;
		}
		r[2] = off + meta;
		r[3] = out_len - meta;
		off += (out_len + 7) & ~7u;
	}
	res[1] = off;
	return (int)(i - first);
}

/* Where a buffer JavaScript passes lies (koffi hands over its data pointer): for `at` above. */
uint64_t xdpspec_address(const void *p)
{
	return (uintptr_t)p;
}
