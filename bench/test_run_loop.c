// Baseline for the test-run benchmark: bpf_prog_test_run_opts called from C in a loop, one
// frame per call, frames taken in turn from a pcap file. Prints ns per call.
// usage: test_run_loop OBJECT PROGRAM FILE.pcap ITERATIONS [threaded]
// "threaded" starts an idle second thread first: in a process of more than one thread the
// kernel takes a reference on the program's file in every bpf() call (fdget's shared-table
// path), which a single-threaded loop never pays and a Node process (V8's and libuv's threads)
// always does.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct frame { uint32_t len; unsigned char data[2048]; };

static int read_pcap(const char *path, struct frame **out)
{
	FILE *f = fopen(path, "rb");
	unsigned char hdr[24], rec[16];
	int n = 0, cap = 0;
	*out = NULL;
	if (!f || fread(hdr, 1, 24, f) != 24) return -1;
	while (fread(rec, 1, 16, f) == 16) {
		uint32_t len;
		memcpy(&len, rec + 8, 4);
		if (len > 2048) return -1;
		if (n == cap) { cap = cap ? cap * 2 : 64; *out = realloc(*out, cap * sizeof(**out)); }
		(*out)[n].len = len;
		if (fread((*out)[n].data, 1, len, f) != len) return -1;
		n++;
	}
	fclose(f);
	return n;
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
	if (argc != 5 && !(argc == 6 && !strcmp(argv[5], "threaded"))) {
		fprintf(stderr, "usage: %s OBJECT PROGRAM FILE.pcap ITERATIONS [threaded]\n", argv[0]);
		return 2;
	}
	pthread_t t;
	if (argc == 6 && pthread_create(&t, NULL, idle, NULL)) { perror("thread"); return 1; }
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) { perror("load"); return 1; }
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) { fprintf(stderr, "no program %s\n", argv[2]); return 1; }
	int fd = bpf_program__fd(prog);
	struct frame *frames;
	int n = read_pcap(argv[3], &frames);
	if (n <= 0) { fprintf(stderr, "bad pcap\n"); return 1; }
	long iters = atol(argv[4]);
	static unsigned char out[65536];
	struct timespec a, b;
	unsigned long sum = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < iters; i++) {
		struct frame *fr = &frames[i % n];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = fr->data, .data_size_in = fr->len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
		if (bpf_prog_test_run_opts(fd, &o)) { perror("test run"); return 1; }
		sum += o.retval;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / iters;
	printf("{\"ns_per_call\": %.1f, \"retval_sum\": %lu}\n", ns, sum);
	return 0;
}
