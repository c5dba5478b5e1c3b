// SPDX-License-Identifier: GPL-2.0
/* xdpspec's batch test run: BPF_PROG_TEST_RUN over many frames in one call from JavaScript.
 * Calling the kernel once per frame through koffi costs a foreign call, a copy into the run's
 * buffer and the reads of the results per frame; here the loop runs in C over frames laid end to
 * end, and the results come back in one array. The options block (context, repeat, flags) is the
 * one src/bpf/testrun.ts prepared; this only sets the per-frame fields.
 *
 * Frame i is lens[i] bytes at in + starts[i]: frames decoded from one capture file lie in one
 * buffer, between record headers, and run from where they are without a copy. Its output goes
 * to `out` (memory of the caller's that results keep viewing): per frame i, res[4i..4i+3] =
 * return code, duration (ns), start and length of its output in `out` (after any metadata the
 * program put in front, as ctx_out's `data` says). Stops early when `out` has less than
 * `max_out` bytes left (err[0] 0) or at a failing run (err[0] = its errno); err[1] is how many
 * bytes of `out` the frames run used. Returns how many frames were run. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>

int xdpspec_run_many(int fd, struct bpf_test_run_opts *o, int ctx_len_off, const uint8_t *in,
		     const uint32_t *starts, const uint32_t *lens, uint32_t n, uint8_t *out,
		     uint32_t out_cap, uint32_t max_out, uint32_t *res, int *err)
{
	uint32_t off = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t out_len, meta = 0;

		if (out_cap - off < max_out) {
			err[0] = 0;
			err[1] = (int)off;
			return (int)i;
		}
		o->data_in = in + starts[i];
		o->data_size_in = lens[i];
		o->data_out = out + off;
		o->data_size_out = out_cap - off;
		if (ctx_len_off >= 0)
			*(uint32_t *)((uint8_t *)o->ctx_in + ctx_len_off) = lens[i];
		if (bpf_prog_test_run_opts(fd, o)) {
			err[0] = errno;
			err[1] = (int)off;
			return (int)i;
		}
		out_len = o->data_size_out;
		if (ctx_len_off >= 0 && o->ctx_out) {
			meta = *(const uint32_t *)o->ctx_out;
			if (meta > out_len)
				meta = out_len;
		}
		res[4 * i] = o->retval;
		res[4 * i + 1] = o->duration;
		res[4 * i + 2] = off + meta;
		res[4 * i + 3] = out_len - meta;
		off += (out_len + 7) & ~7u;
	}
	err[0] = 0;
	err[1] = (int)off;
	return (int)n;
}
