// SPDX-License-Identifier: GPL-2.0
/* An object with a map and no program: what a header-only or misnamed build produces. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} only_a_map SEC(".maps");

char _license[] SEC("license") = "GPL";
