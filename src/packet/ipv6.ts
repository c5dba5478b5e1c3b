import { ipv6ToString, parseIpv6, uint } from './bytes.js';
import { IP6_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';
import { protoFor } from './ipproto.js';

export const HEADER_LEN = 40;

export interface Ipv6 {
  readonly name: 'ipv6';
  readonly version: number;
  /** Traffic class. */
  readonly tc: number;
  /** Flow label (20 bits). */
  readonly flow: number;
  /** Payload length: everything after this 40-byte header, extension headers included. */
  readonly plen: number;
  /** Next header. */
  readonly nh: number;
  /** Hop limit. */
  readonly hlim: number;
  readonly src: string;
  readonly dst: string;
}
export type Ipv6Spec = Spec<Ipv6>;

export function parse(b: Buffer, off: number): Ipv6 {
  const w = b.readUInt32BE(off);
  return {
    name: 'ipv6',
    version: w >>> 28,
    tc: (w >>> 20) & 0xff,
    flow: w & 0xfffff,
    plen: b.readUInt16BE(off + 4),
    nh: b[off + 6]!,
    hlim: b[off + 7]!,
    src: ipv6ToString(b, off + 8),
    dst: ipv6ToString(b, off + 24),
  };
}

export function emit(b: Buffer, off: number, s: Ipv6Spec, ctx: EmitContext): void {
  const w =
    (uint(s.version ?? 6, 4, 'ipv6', 'version') << 28) |
    (uint(s.tc ?? 0, 8, 'ipv6', 'tc') << 20) |
    uint(s.flow ?? 0, 20, 'ipv6', 'flow');
  b.writeUInt32BE(w >>> 0, off);
  b.writeUInt16BE(
    s.plen === undefined
      ? uint(ctx.contentEnd - off - HEADER_LEN, 16, 'ipv6', 'plen')
      : uint(s.plen, 16, 'ipv6', 'plen'),
    off + 4,
  );
  b[off + 6] = s.nh === undefined ? protoFor(ctx.next) : uint(s.nh, 8, 'ipv6', 'nh');
  b[off + 7] = uint(s.hlim ?? 64, 8, 'ipv6', 'hlim');
  parseIpv6(s.src ?? 'fd00::1', 'ipv6', 'src').copy(b, off + 8);
  parseIpv6(s.dst ?? 'fd00::2', 'ipv6', 'dst').copy(b, off + 24);
}

export const codec: ProtocolCodec<Ipv6Spec> = {
  name: 'ipv6',
  followers: IP6_NEXT,
  headerLength: () => HEADER_LEN,
  emit,
};
