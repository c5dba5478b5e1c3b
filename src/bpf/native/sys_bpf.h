/* SPDX-License-Identifier: GPL-2.0 */
/* The bpf() system call made here rather than through libbpf's wrappers or libc's syscall():
 * the batch helper (run_many.c) and the test-run bench's loop that calls the kernel the same
 * way (bench/test_run_loop.c). On x86-64 it is the instruction itself, inline where it is used:
 * on some machines of this kind a system call made from a function that returns right after
 * costs hundreds of ns more (see the README's benchmarks). */
#ifndef XDPSPEC_SYS_BPF_H
#define XDPSPEC_SYS_BPF_H

#include <errno.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

/* bpf(cmd, attr, size): the result, or -errno (errno itself is left as it was on x86-64). */
static inline long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size)
{
#if defined(__x86_64__)
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)__NR_bpf), "D"((long)cmd), "S"(attr), "d"((long)size)
			 : "rcx", "r11", "memory");
	return ret;
#else
	long ret = syscall(__NR_bpf, cmd, attr, size);

	return ret < 0 ? -errno : ret;
#endif
}

#endif
