/** What a layer's `emit` and `finish` know about the frame being built around it. */
export interface EmitContext {
  /** Name of the layer that follows, if any (used to fill type and protocol fields). */
  readonly next: string | undefined;
  /** Name of the layer after that (QinQ picks its outer TPID from it). */
  readonly afterNext: string | undefined;
  /** Where this layer's content ends: the frame end, or the start of trailing padding. */
  readonly contentEnd: number;
  /** Offset and version of the innermost IP header before this layer, for pseudo-headers. */
  readonly ip: { readonly off: number; readonly version: 4 | 6 } | undefined;
}

/** Layer specs are the layer's fields, every one optional: unset means computed or defaulted. */
export type Spec<L> = { -readonly [K in keyof Omit<L, 'name'>]?: L[K] | undefined };

/**
 * One protocol as the builder knows it, registered once (protocols.ts): what may follow it, how
 * long its header is for a spec, how it is written, and (for checksums over what follows) how it
 * is finished once the inner layers are written.
 */
export interface ProtocolCodec<S> {
  readonly name: string;
  readonly followers: readonly string[];
  headerLength(s: S): number;
  emit(b: Buffer, off: number, s: S, ctx: EmitContext): void;
  finish?(b: Buffer, off: number, s: S, ctx: EmitContext): void;
}

/** What may follow a link-layer header (Ethernet, a VLAN tag). */
export const L2_NEXT = ['vlan', 'ipv4', 'ipv6', 'arp', 'payload', 'padding'] as const;
/** Tunnels after either IP version: IP in IP (IPIP, 4in6, 6in4, 6in6) and GRE. */
export const IP_TUNNELS = ['ipv4', 'ipv6', 'gre'] as const;
/** What may follow an IPv6 header or one of its extension headers. */
export const IP6_NEXT = [
  'hopopts',
  'routing',
  'fragment',
  'dstopts',
  'tcp',
  'udp',
  'icmpv6',
  ...IP_TUNNELS,
  'payload',
  'padding',
] as const;
/** What may follow a transport header: its data, then trailing bytes. */
export const END_NEXT = ['payload', 'padding'] as const;
