// Baseline for the map benchmark: a hash map of N entries (4-byte keys, 8-byte values) filled
// with one batch update, read back with batch lookups, in C with libbpf. Prints ms for each.
// usage: map_batch N
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double ms(struct timespec a, struct timespec b)
{
	return (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
}

int main(int argc, char **argv)
{
	if (argc != 2) { fprintf(stderr, "usage: %s N\n", argv[0]); return 2; }
	uint32_t n = (uint32_t)atol(argv[1]);
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "base", 4, 8, n, NULL);
	if (fd < 0) { perror("create"); return 1; }
	uint32_t *keys = malloc(n * 4);
	uint64_t *values = malloc(n * 8);
	for (uint32_t i = 0; i < n; i++) { keys[i] = i; values[i] = (uint64_t)i * 3; }
	struct timespec a, b, c;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint32_t count = n;
	if (bpf_map_update_batch(fd, keys, values, &count, &opts)) { perror("update batch"); return 1; }
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint32_t *k2 = malloc(n * 4);
	uint64_t *v2 = malloc(n * 8);
	uint64_t token = 0, next = 0, got = 0;
	int first = 1;
	for (;;) {
		uint32_t chunk = 65536;
		if (got + chunk > n) chunk = n - got;
		if (chunk == 0) break;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : &token, &next, k2 + got, v2 + got, &chunk, &opts);
		got += chunk;
		if (rc && errno == ENOENT) break;
		if (rc) { perror("lookup batch"); return 1; }
		token = next;
		first = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &c);
	printf("{\"fill_ms\": %.2f, \"dump_ms\": %.2f, \"dumped\": %lu}\n", ms(a, b), ms(b, c), (unsigned long)got);
	return 0;
}
