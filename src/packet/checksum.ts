// The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words.

/** Adds the bytes `b[start, end)` to a running 32-bit sum (not yet folded). */
export function sum16(b: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  // Fold occasionally so the sum never leaves the safe-integer range for any frame size.
  return (sum & 0xffff) + Math.floor(sum / 0x10000);
}

/** Folds a running sum and complements it: the value to write into a checksum field. */
export function finish(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function checksum(b: Uint8Array, start: number, end: number, init = 0): number {
  return finish(sum16(b, start, end, init));
}

/** Sum of the IPv4 pseudo-header: addresses at `ipOff + 12`, protocol, upper-layer length. */
export function ipv4PseudoSum(b: Uint8Array, ipOff: number, proto: number, length: number): number {
  return sum16(b, ipOff + 12, ipOff + 20, proto + length);
}

/** Sum of the IPv6 pseudo-header: addresses at `ipOff + 8`, upper-layer length, next header. */
export function ipv6PseudoSum(b: Uint8Array, ipOff: number, nh: number, length: number): number {
  return sum16(b, ipOff + 8, ipOff + 40, nh + (length & 0xffff) + Math.floor(length / 0x10000));
}

/**
 * Checksum of an upper-layer segment `b[off, end)` with the pseudo-header of the IP header at
 * `ip.off` (none for ICMPv4, which passes `ip` undefined). The segment's checksum field must be
 * zero when computing, or hold the value when verifying (then the result is 0 if valid).
 */
export function upperLayerChecksum(
  b: Uint8Array,
  off: number,
  end: number,
  proto: number,
  ip: { readonly off: number; readonly version: 4 | 6 } | undefined,
): number {
  const len = end - off;
  let init = 0;
  if (ip) init = ip.version === 4 ? ipv4PseudoSum(b, ip.off, proto, len) : ipv6PseudoSum(b, ip.off, proto, len);
  return checksum(b, off, end, init);
}
