/** IP protocol / IPv6 next-header numbers of the layers xdpspec knows. */
export const IPPROTO = {
  hopopts: 0,
  icmp: 1,
  /** IPv4 inside IP (IPIP, RFC 2003). */
  ipv4: 4,
  tcp: 6,
  udp: 17,
  /** IPv6 inside IP (RFC 2473, and 6in4). */
  ipv6: 41,
  routing: 43,
  fragment: 44,
  gre: 47,
  icmpv6: 58,
  none: 59,
  dstopts: 60,
  /** RFC 3692 experimentation value: what a bare payload is announced as, so it never parses as a protocol. */
  experimental: 253,
} as const;

const BY_NAME: Readonly<Record<string, number>> = IPPROTO;

/** Number announcing layer `next` in an IPv4 protocol or IPv6 next-header field. */
export function protoFor(next: string | undefined): number {
  return (next !== undefined ? BY_NAME[next] : undefined) ?? IPPROTO.experimental;
}

const NAMES: Readonly<Record<number, string>> = {
  0: 'hopopts',
  1: 'icmp',
  2: 'igmp',
  4: 'ipip',
  6: 'tcp',
  17: 'udp',
  41: 'ipv6',
  43: 'routing',
  44: 'fragment',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'icmpv6',
  59: 'none',
  60: 'dstopts',
  132: 'sctp',
};

export function protoName(n: number): string | undefined {
  return NAMES[n];
}
