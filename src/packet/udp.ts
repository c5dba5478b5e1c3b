import { uint } from './bytes.js';
import { upperLayerChecksum } from './checksum.js';
import { END_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';
import { IPPROTO } from './ipproto.js';

export const HEADER_LEN = 8;
/** GUE's port (RFC 8086), and Katran's: the ports where IP straight after UDP is parsed as GUE variant 1. */
export const GUE_PORT = 6080;
export const GUE_PORTS: ReadonlySet<number> = new Set([GUE_PORT, 9886]);

export interface Udp {
  readonly name: 'udp';
  readonly sport: number;
  readonly dport: number;
  /** Length of header and data. */
  readonly len: number;
  /** 0 over IPv4 means "no checksum". */
  readonly checksum: number;
}
export type UdpSpec = Spec<Udp>;

export function parse(b: Buffer, off: number): Udp {
  return {
    name: 'udp',
    sport: b.readUInt16BE(off),
    dport: b.readUInt16BE(off + 2),
    len: b.readUInt16BE(off + 4),
    checksum: b.readUInt16BE(off + 6),
  };
}

export function emit(b: Buffer, off: number, s: UdpSpec, ctx: EmitContext): void {
  b.writeUInt16BE(uint(s.sport ?? 12345, 16, 'udp', 'sport'), off);
  // A tunnel inside sets the well-known port its receivers listen on.
  const tunnel =
    ctx.next === 'vxlan'
      ? 4789
      : ctx.next === 'geneve'
        ? 6081
        : ctx.next === 'ipv4' || ctx.next === 'ipv6'
          ? GUE_PORT
          : 53;
  b.writeUInt16BE(uint(s.dport ?? tunnel, 16, 'udp', 'dport'), off + 2);
  b.writeUInt16BE(
    s.len === undefined ? uint(ctx.contentEnd - off, 16, 'udp', 'len') : uint(s.len, 16, 'udp', 'len'),
    off + 4,
  );
  b.writeUInt16BE(0, off + 6);
}

export function finish(b: Buffer, off: number, s: UdpSpec, ctx: EmitContext): void {
  let cs: number;
  if (s.checksum !== undefined) cs = uint(s.checksum, 16, 'udp', 'checksum');
  else {
    cs = upperLayerChecksum(b, off, ctx.contentEnd, IPPROTO.udp, ctx.ip);
    if (cs === 0) cs = 0xffff; // RFC 768: a computed zero is sent as all ones
  }
  b.writeUInt16BE(cs, off + 6);
}

export const codec: ProtocolCodec<UdpSpec> = {
  name: 'udp',
  // IP straight after UDP is GUE variant 1 (RFC 8086 section 4), as Katran encapsulates.
  followers: ['vxlan', 'geneve', 'ipv4', 'ipv6', ...END_NEXT],
  headerLength: () => HEADER_LEN,
  emit,
  finish,
};
