/* Incremental Internet checksum updates (RFC 1624: HC' = ~(~HC + ~m + m')), shared by the
 * programs in bpf/ that rewrite addresses, ports or sequence numbers. The one's complement
 * sum does not care about byte order, so the old and new values go in as they sit in the
 * packet, and the checksum field is patched in place. */
#ifndef XDPSPEC_CSUM_H
#define XDPSPEC_CSUM_H

#include <linux/types.h>

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* A 16-bit word of the checksummed data changed from `from` to `to`. */
static __always_inline void csum_replace2(__sum16 *check, __u16 from, __u16 to)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~from;
	sum += to;
	*check = (__sum16)~csum_fold32(sum);
}

/* A 32-bit value (an address, a sequence number) changed: two words. */
static __always_inline void csum_replace4(__sum16 *check, __u32 from, __u32 to)
{
	__u32 sum = (__u16)~*check;

	sum += (__u16)~(from >> 16);
	sum += (__u16)~(from & 0xffff);
	sum += to >> 16;
	sum += to & 0xffff;
	*check = (__sum16)~csum_fold32(sum);
}

#endif
