/* A 3-word hash for flow keys, after Bob Jenkins' lookup3 (the kernel's jhash_3words mixes
 * the same way): well spread over all 32 bits, so `hash % n` picks evenly among n. */
#ifndef XDPSPEC_HASH_H
#define XDPSPEC_HASH_H

#include <linux/types.h>

#define XDPSPEC_HASH_INIT 0xdeadbeef

static __always_inline __u32 rol32(__u32 v, int s)
{
	return (v << s) | (v >> (32 - s));
}

static __always_inline __u32 hash_3words(__u32 a, __u32 b, __u32 c, __u32 seed)
{
	a += XDPSPEC_HASH_INIT + (3 << 2) + seed;
	b += XDPSPEC_HASH_INIT + (3 << 2) + seed;
	c += XDPSPEC_HASH_INIT + (3 << 2) + seed;
	c ^= b; c -= rol32(b, 14);
	a ^= c; a -= rol32(c, 11);
	b ^= a; b -= rol32(a, 25);
	c ^= b; c -= rol32(b, 16);
	a ^= c; a -= rol32(c, 4);
	b ^= a; b -= rol32(a, 14);
	c ^= b; c -= rol32(b, 24);
	return c;
}

#endif
