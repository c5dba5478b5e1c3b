import { FrameBuildError } from '../sys/errors.js';
import { ipv4ToString, parseIpv4, toBytes, uint } from './bytes.js';
import { checksum } from './checksum.js';
import { IP_TUNNELS, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';
import { protoFor } from './ipproto.js';

export const MIN_HEADER_LEN = 20;

export interface Ipv4 {
  readonly name: 'ipv4';
  readonly version: number;
  /** Header length in 32-bit words. */
  readonly ihl: number;
  /** The whole second byte: DSCP (upper 6 bits) and ECN (lower 2). */
  readonly tos: number;
  /** Total length: header and payload. */
  readonly len: number;
  readonly id: number;
  /** The reserved ("evil") flag bit. */
  readonly rf: boolean;
  readonly df: boolean;
  readonly mf: boolean;
  /** Fragment offset in 8-byte units, as on the wire. */
  readonly frag: number;
  readonly ttl: number;
  readonly proto: number;
  readonly checksum: number;
  readonly src: string;
  readonly dst: string;
  /** Option bytes after the 20-byte header, including any padding. */
  readonly options: Buffer;
}
export type Ipv4Spec = Spec<Ipv4>;

/** Header length in bytes announced by the header at `off`. */
export function headerLengthAt(b: Buffer, off: number): number {
  return (b[off]! & 0x0f) * 4;
}

export function parse(b: Buffer, off: number, hl: number): Ipv4 {
  const ff = b.readUInt16BE(off + 6);
  return {
    name: 'ipv4',
    version: b[off]! >> 4,
    ihl: b[off]! & 0x0f,
    tos: b[off + 1]!,
    len: b.readUInt16BE(off + 2),
    id: b.readUInt16BE(off + 4),
    rf: (ff & 0x8000) !== 0,
    df: (ff & 0x4000) !== 0,
    mf: (ff & 0x2000) !== 0,
    frag: ff & 0x1fff,
    ttl: b[off + 8]!,
    proto: b[off + 9]!,
    checksum: b.readUInt16BE(off + 10),
    src: ipv4ToString(b, off + 12),
    dst: ipv4ToString(b, off + 16),
    options: b.subarray(off + MIN_HEADER_LEN, off + hl),
  };
}

function optionBytes(s: Ipv4Spec): Buffer {
  return s.options === undefined ? Buffer.alloc(0) : toBytes(s.options, 'ipv4', 'options');
}

export function headerLength(s: Ipv4Spec): number {
  return MIN_HEADER_LEN + ((optionBytes(s).length + 3) & ~3);
}

export function emit(b: Buffer, off: number, s: Ipv4Spec, ctx: EmitContext): void {
  const opts = optionBytes(s);
  const hl = MIN_HEADER_LEN + ((opts.length + 3) & ~3);
  if (s.ihl === undefined && hl > 60) {
    throw new FrameBuildError(
      'ipv4',
      'options',
      `${opts.length} option bytes do not fit: an IPv4 header holds at most 40 (ihl 15)`,
    );
  }
  b[off] =
    (uint(s.version ?? 4, 4, 'ipv4', 'version') << 4) | (s.ihl === undefined ? hl / 4 : uint(s.ihl, 4, 'ipv4', 'ihl'));
  b[off + 1] = uint(s.tos ?? 0, 8, 'ipv4', 'tos');
  b.writeUInt16BE(
    s.len === undefined ? uint(ctx.contentEnd - off, 16, 'ipv4', 'len') : uint(s.len, 16, 'ipv4', 'len'),
    off + 2,
  );
  b.writeUInt16BE(uint(s.id ?? 1, 16, 'ipv4', 'id'), off + 4);
  const ff = (s.rf ? 0x8000 : 0) | (s.df ? 0x4000 : 0) | (s.mf ? 0x2000 : 0) | uint(s.frag ?? 0, 13, 'ipv4', 'frag');
  b.writeUInt16BE(ff, off + 6);
  b[off + 8] = uint(s.ttl ?? 64, 8, 'ipv4', 'ttl');
  b[off + 9] = s.proto === undefined ? protoFor(ctx.next) : uint(s.proto, 8, 'ipv4', 'proto');
  b.writeUInt16BE(0, off + 10);
  parseIpv4(s.src ?? '10.0.0.1', 'ipv4', 'src').copy(b, off + 12);
  parseIpv4(s.dst ?? '10.0.0.2', 'ipv4', 'dst').copy(b, off + 16);
  opts.copy(b, off + MIN_HEADER_LEN);
  // The header checksum covers only the header, which is complete now.
  const cs = s.checksum === undefined ? checksum(b, off, off + hl) : uint(s.checksum, 16, 'ipv4', 'checksum');
  b.writeUInt16BE(cs, off + 10);
}

/** True when the header checksum at `off` is right for the header's bytes. */
export function checksumValid(b: Buffer, off: number, hl: number): boolean {
  return checksum(b, off, off + hl) === 0;
}

export const codec: ProtocolCodec<Ipv4Spec> = {
  name: 'ipv4',
  followers: ['tcp', 'udp', 'icmp', ...IP_TUNNELS, 'payload', 'padding'],
  headerLength,
  emit,
};
