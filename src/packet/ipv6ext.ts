import { toBytes, uint } from './bytes.js';
import { IP6_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';
import { protoFor } from './ipproto.js';

// IPv6 extension headers: hop-by-hop options, routing, fragment, destination options.
// Each is its own layer, so `fragment.offset` and `routing.segleft` are addressable fields.

/** Hop-by-hop (`hopopts`) or destination (`dstopts`) options header. */
export interface Ipv6Options {
  readonly name: 'hopopts' | 'dstopts';
  readonly nh: number;
  /** Header extension length: 8-byte units after the first 8 bytes. */
  readonly len: number;
  /** The option TLVs (with padding) after the 2-byte header. */
  readonly options: Buffer;
}
export type Ipv6OptionsSpec = Spec<Ipv6Options>;

export interface Routing {
  readonly name: 'routing';
  readonly nh: number;
  readonly len: number;
  /** Routing type (e.g. 2 for mobile IPv6, 4 for segment routing). */
  readonly type: number;
  /** Segments left. */
  readonly segleft: number;
  /** Type-specific data after the first 4 bytes. */
  readonly data: Buffer;
}
export type RoutingSpec = Spec<Routing>;

export interface Fragment {
  readonly name: 'fragment';
  readonly nh: number;
  /** The reserved byte after next header. */
  readonly res: number;
  /** Fragment offset in 8-byte units. */
  readonly offset: number;
  /** The two reserved bits before the M flag. */
  readonly res2: number;
  /** More fragments. */
  readonly mf: boolean;
  readonly id: number;
}
export type FragmentSpec = Spec<Fragment>;

export const FRAGMENT_LEN = 8;

/** Length in bytes of the option-style (hop-by-hop, routing, destination) header at `off`. */
export function lengthAt(b: Buffer, off: number): number {
  return (b[off + 1]! + 1) * 8;
}

export function parseOptions(b: Buffer, off: number, name: 'hopopts' | 'dstopts'): Ipv6Options {
  const len = lengthAt(b, off);
  return { name, nh: b[off]!, len: b[off + 1]!, options: b.subarray(off + 2, off + len) };
}

export function parseRouting(b: Buffer, off: number): Routing {
  const len = lengthAt(b, off);
  return {
    name: 'routing',
    nh: b[off]!,
    len: b[off + 1]!,
    type: b[off + 2]!,
    segleft: b[off + 3]!,
    data: b.subarray(off + 4, off + len),
  };
}

export function parseFragment(b: Buffer, off: number): Fragment {
  const w = b.readUInt16BE(off + 2);
  return {
    name: 'fragment',
    nh: b[off]!,
    res: b[off + 1]!,
    offset: w >> 3,
    res2: (w >> 1) & 3,
    mf: (w & 1) === 1,
    id: b.readUInt32BE(off + 4),
  };
}

function padded8(n: number): number {
  return (n + 7) & ~7;
}

export function optionsHeaderLength(s: Ipv6OptionsSpec, name: string): number {
  return padded8(2 + (s.options === undefined ? 0 : toBytes(s.options, name, 'options').length));
}

export function routingHeaderLength(s: RoutingSpec): number {
  return padded8(4 + (s.data === undefined ? 4 : toBytes(s.data, 'routing', 'data').length));
}

// Padding is zero bytes: in an options header each is a Pad1 option, so the header stays valid.
export function emitOptions(
  b: Buffer,
  off: number,
  s: Ipv6OptionsSpec,
  ctx: EmitContext,
  name: 'hopopts' | 'dstopts',
): void {
  const opts = s.options === undefined ? Buffer.alloc(0) : toBytes(s.options, name, 'options');
  const total = padded8(2 + opts.length);
  b[off] = s.nh === undefined ? protoFor(ctx.next) : uint(s.nh, 8, name, 'nh');
  b[off + 1] = s.len === undefined ? total / 8 - 1 : uint(s.len, 8, name, 'len');
  opts.copy(b, off + 2);
}

export function emitRouting(b: Buffer, off: number, s: RoutingSpec, ctx: EmitContext): void {
  const data = s.data === undefined ? Buffer.alloc(4) : toBytes(s.data, 'routing', 'data');
  const total = padded8(4 + data.length);
  b[off] = s.nh === undefined ? protoFor(ctx.next) : uint(s.nh, 8, 'routing', 'nh');
  b[off + 1] = s.len === undefined ? total / 8 - 1 : uint(s.len, 8, 'routing', 'len');
  b[off + 2] = uint(s.type ?? 0, 8, 'routing', 'type');
  b[off + 3] = uint(s.segleft ?? 0, 8, 'routing', 'segleft');
  data.copy(b, off + 4);
}

export function emitFragment(b: Buffer, off: number, s: FragmentSpec, ctx: EmitContext): void {
  b[off] = s.nh === undefined ? protoFor(ctx.next) : uint(s.nh, 8, 'fragment', 'nh');
  b[off + 1] = uint(s.res ?? 0, 8, 'fragment', 'res');
  const w =
    (uint(s.offset ?? 0, 13, 'fragment', 'offset') << 3) |
    (uint(s.res2 ?? 0, 2, 'fragment', 'res2') << 1) |
    (s.mf ? 1 : 0);
  b.writeUInt16BE(w, off + 2);
  b.writeUInt32BE(uint(s.id ?? 1, 32, 'fragment', 'id'), off + 4);
}

const options = (name: 'hopopts' | 'dstopts'): ProtocolCodec<Ipv6OptionsSpec> => ({
  name,
  followers: IP6_NEXT,
  headerLength: (s) => optionsHeaderLength(s, name),
  emit: (b, off, s, ctx) => emitOptions(b, off, s, ctx, name),
});
export const hopoptsCodec = options('hopopts');
export const dstoptsCodec = options('dstopts');
export const routingCodec: ProtocolCodec<RoutingSpec> = {
  name: 'routing',
  followers: IP6_NEXT,
  headerLength: routingHeaderLength,
  emit: emitRouting,
};
export const fragmentCodec: ProtocolCodec<FragmentSpec> = {
  name: 'fragment',
  followers: IP6_NEXT,
  headerLength: () => FRAGMENT_LEN,
  emit: emitFragment,
};
