// Baseline for the test-run benchmark: bpf_prog_test_run_opts called from C in a loop, one
// frame per call, frames taken in turn from a pcap file. Prints ns per call.
// usage: test_run_loop OBJECT PROGRAM FILE.pcap ITERATIONS [threaded] [own]
// "threaded" starts an idle second thread first: in a process of more than one thread the
// kernel takes a reference on the program's file in every bpf() call (fdget's shared-table
// path), which a single-threaded loop never pays and a Node process (V8's and libuv's threads)
// always does.
// "own" makes each call the bpf() system call instruction itself, in the loop, as xdpspec's batch
// helper does, rather than through libbpf's function and libc's syscall(): on some machines of
// this kind (an AMD EPYC guest, 2026-12-04) a system call made from a function that then returns
// costs hundreds of ns more than one made inline (a bpf test run 1,200 ns against 830; getppid
// 215 against 140), on others 1-2%. The bench prints both loops, so that a ratio against the
// libbpf loop can be read for what the way of calling gives and what xdpspec's layer costs.
// Built with -DAS_LIBRARY it is only the loops, xdpspec_c_loop and xdpspec_c_loop_own, which the bench also calls through
// koffi in its own process, chunk by chunk alternated with testRunMany: the same machine state
// for both, and the same floor of a threaded process. There it also runs keeping every output
// (see the function), the other floor testRunMany pays and this loop does not.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../src/bpf/native/sys_bpf.h"

/*
 * Frame i is places[n + i] bytes at in + places[i]. With kept NULL every output goes over the
 * last at out (the baseline: nothing kept); else each goes after the one before from out +
 * *kept, starting over at out when less than 64 KiB is left (out_size well beyond the caches:
 * outputs kept, as testRunMany's results keep theirs, land in memory not written lately).
 * With own set, the attributes libbpf would pass, filled the same way for each call, go to
 * sys_bpf() (the helper's own, inline here too) instead of bpf_prog_test_run_opts().
 */
static inline __attribute__((always_inline)) long loop(int fd, const unsigned char *in, const uint32_t *places,
						       uint32_t n, long iters, unsigned char *out,
						       uint32_t out_size, uint32_t *kept, int own)
{
	uint32_t off = kept ? *kept : 0;
	unsigned long sum = 0;

	for (long i = 0; i < iters; i++) {
		uint32_t k = (uint32_t)(i % n);
		if (out_size - off < 65536)
			off = 0;
		uint32_t size_out, retval;
		if (own) {
			union bpf_attr a;
			long rc;

			memset(&a, 0, sizeof(a.test));
			a.test.prog_fd = (uint32_t)fd;
			a.test.data_in = (uintptr_t)(in + places[k]);
			a.test.data_size_in = places[n + k];
			a.test.data_out = (uintptr_t)(out + off);
			a.test.data_size_out = 65536;
			a.test.repeat = 1;
			rc = sys_bpf(BPF_PROG_TEST_RUN, &a, sizeof(a.test));
			if (rc < 0) {
				errno = (int)-rc; /* for main's perror, as libbpf sets it */
				return -1;
			}
			size_out = a.test.data_size_out;
			retval = a.test.retval;
		} else {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in + places[k], .data_size_in = places[n + k],
				    .data_out = out + off, .data_size_out = 65536, .repeat = 1);
			if (bpf_prog_test_run_opts(fd, &o))
				return -1;
			size_out = o.data_size_out;
			retval = o.retval;
		}
		if (kept)
			off += (size_out + 7) & ~7u;
		sum += retval;
	}
	if (kept)
		*kept = off;
	return (long)(sum & 0x7fffffff);
}

long xdpspec_c_loop(int fd, const unsigned char *in, const uint32_t *places, uint32_t n, long iters,
		    unsigned char *out, uint32_t out_size, uint32_t *kept)
{
	return loop(fd, in, places, n, iters, out, out_size, kept, 0);
}

long xdpspec_c_loop_own(int fd, const unsigned char *in, const uint32_t *places, uint32_t n, long iters,
			unsigned char *out, uint32_t out_size, uint32_t *kept)
{
	return loop(fd, in, places, n, iters, out, out_size, kept, 1);
}

#ifndef AS_LIBRARY
/* The frames of a classic pcap file end to end in one buffer, with their places as above. */
static int read_pcap(const char *path, unsigned char **in, uint32_t **places)
{
	FILE *f = fopen(path, "rb");
	unsigned char hdr[24], rec[16];
	uint32_t n = 0, cap = 0, at = 0, size = 0;
	uint32_t *starts = NULL, *lens = NULL;

	*in = NULL;
	if (!f || fread(hdr, 1, 24, f) != 24) return -1;
	while (fread(rec, 1, 16, f) == 16) {
		uint32_t len;
		memcpy(&len, rec + 8, 4);
		if (len > 65536) return -1;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			starts = realloc(starts, cap * sizeof(*starts));
			lens = realloc(lens, cap * sizeof(*lens));
		}
		if (at + len > size) { size = 2 * (at + len); *in = realloc(*in, size); }
		if (fread(*in + at, 1, len, f) != len) return -1;
		starts[n] = at;
		lens[n] = len;
		at += len;
		n++;
	}
	fclose(f);
	*places = malloc(2 * n * sizeof(**places));
	memcpy(*places, starts, n * sizeof(*starts));
	memcpy(*places + n, lens, n * sizeof(*lens));
	free(starts);
	free(lens);
	return (int)n;
}

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int threaded = 0, own = 0, bad = argc < 5;
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "threaded"))
			threaded = 1;
		else if (!strcmp(argv[i], "own"))
			own = 1;
		else
			bad = 1;
	}
	if (bad) {
		fprintf(stderr, "usage: %s OBJECT PROGRAM FILE.pcap ITERATIONS [threaded] [own]\n", argv[0]);
		return 2;
	}
	pthread_t t;
	if (threaded && pthread_create(&t, NULL, idle, NULL)) { perror("thread"); return 1; }
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) { perror("load"); return 1; }
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) { fprintf(stderr, "no program %s\n", argv[2]); return 1; }
	int fd = bpf_program__fd(prog);
	unsigned char *in;
	uint32_t *places;
	int n = read_pcap(argv[3], &in, &places);
	if (n <= 0) { fprintf(stderr, "bad pcap\n"); return 1; }
	long iters = atol(argv[4]);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	static unsigned char out[65536];
	long sum = (own ? xdpspec_c_loop_own : xdpspec_c_loop)(fd, in, places, (uint32_t)n, iters, out, sizeof(out), NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (sum < 0) { perror("test run"); return 1; }
	double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iters;
	printf("{\"ns_per_call\": %.1f, \"retval_sum\": %ld}\n", ns, sum);
	return 0;
}
#endif
