// SPDX-License-Identifier: GPL-2.0
/* xdpspec's batch test run: BPF_PROG_TEST_RUN over many frames in one call from JavaScript.
 * Calling the kernel once per frame through koffi costs a foreign call, a copy into the run's
 * buffer and the reads of the results per frame; here the loop runs in C over frames laid end to
 * end, and the results come back in one array. The options block (context, repeat, flags) is the
 * one src/bpf/testrun.ts prepared; this only sets the per-frame fields.
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
 * `at`, where not NULL, says where each frame lies in memory instead (at[i] its address): the
 * frames of an array run before that do not share one buffer, which would otherwise be copied
 * one by one into `in` for every call (a copy from JavaScript per frame cost more than the rest
 * of the batch's JavaScript). */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define SAME_COPY (1u << 30)

int xdpspec_run_batch(int fd, struct bpf_test_run_opts *o, int ctx_len_off, const uint8_t *in,
		     const uint32_t *places, uint32_t n, uint32_t first, uint8_t *out, uint32_t out_at,
		     uint32_t out_cap, uint32_t max_out, uint32_t *res, const uint8_t *same,
		     const uint64_t *at)
{
	const uint32_t *starts = places, *lens = places + n;
	uint32_t off = out_at, *r = res + 2;
	uint32_t i;

	res[0] = 0;
	for (i = first; i < n; i++, r += 4) {
		uint32_t out_len, meta = 0;

		if (out_cap - off < max_out)
			break;
		o->data_in = at ? (const uint8_t *)(uintptr_t)at[i] : in + starts[i];
		o->data_size_in = lens[i];
		o->data_out = out + off;
		o->data_size_out = out_cap - off;
		if (ctx_len_off >= 0)
			*(uint32_t *)((uint8_t *)o->ctx_in + ctx_len_off) = lens[i];
		if (bpf_prog_test_run_opts(fd, o)) {
			res[0] = (uint32_t)errno;
			break;
		}
		out_len = o->data_size_out;
		if (ctx_len_off >= 0 && o->ctx_out) {
			meta = *(const uint32_t *)o->ctx_out;
			if (meta > out_len)
				meta = out_len;
		}
		r[0] = o->retval;
		r[1] = o->duration;
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
