import { uint } from './bytes.js';
import { checksum } from './checksum.js';
import type { EmitContext, ProtocolCodec, Spec } from './codec.js';
import { typeFor } from './ethernet.js';

/** GRE (RFC 2784, with RFC 2890's key and sequence number), version 0. */
export const BASE_LEN = 4;
const C = 0x8000;
const K = 0x2000;
const S = 0x1000;
/** Transparent Ethernet bridging: an Ethernet frame inside (NVGRE, gretap). */
export const ETH_P_TEB = 0x6558;

export interface Gre {
  readonly name: 'gre';
  /** The EtherType of what is inside. */
  readonly proto: number;
  readonly version: number;
  /** Present when the C bit is set. */
  readonly checksum?: number;
  /** Present when the K bit is set. */
  readonly key?: number;
  /** Present when the S bit is set. */
  readonly seq?: number;
}
/** `checksum: true` asks for a computed checksum; a number is written as given. */
export type GreSpec = Omit<Spec<Gre>, 'checksum'> & { checksum?: number | boolean | undefined };

export function headerLength(s: GreSpec): number {
  return (
    BASE_LEN +
    (s.checksum !== undefined && s.checksum !== false ? 4 : 0) +
    (s.key !== undefined ? 4 : 0) +
    (s.seq !== undefined ? 4 : 0)
  );
}

export function headerLengthAt(b: Buffer, off: number): number {
  const f = b.readUInt16BE(off);
  return BASE_LEN + (f & C ? 4 : 0) + (f & K ? 4 : 0) + (f & S ? 4 : 0);
}

export function parse(b: Buffer, off: number): Gre {
  const f = b.readUInt16BE(off);
  let p = off + BASE_LEN;
  const g: { -readonly [k in keyof Gre]: Gre[k] } = { name: 'gre', proto: b.readUInt16BE(off + 2), version: f & 7 };
  if (f & C) {
    g.checksum = b.readUInt16BE(p);
    p += 4;
  }
  if (f & K) {
    g.key = b.readUInt32BE(p);
    p += 4;
  }
  if (f & S) g.seq = b.readUInt32BE(p);
  return g;
}

export function emit(b: Buffer, off: number, s: GreSpec, ctx: EmitContext): void {
  const hasC = s.checksum !== undefined && s.checksum !== false;
  b.writeUInt16BE(
    (hasC ? C : 0) |
      (s.key !== undefined ? K : 0) |
      (s.seq !== undefined ? S : 0) |
      uint(s.version ?? 0, 3, 'gre', 'version'),
    off,
  );
  b.writeUInt16BE(
    s.proto === undefined
      ? ctx.next === 'eth'
        ? ETH_P_TEB
        : typeFor(ctx.next, ctx.afterNext, false)
      : uint(s.proto, 16, 'gre', 'proto'),
    off + 2,
  );
  let p = off + BASE_LEN;
  if (hasC) p += 4; // written by finish, over the whole packet
  if (s.key !== undefined) {
    b.writeUInt32BE(uint(s.key, 32, 'gre', 'key'), p);
    p += 4;
  }
  if (s.seq !== undefined) b.writeUInt32BE(uint(s.seq, 32, 'gre', 'seq'), p);
}

export function finish(b: Buffer, off: number, s: GreSpec, ctx: EmitContext): void {
  if (s.checksum === undefined || s.checksum === false) return;
  const at = off + BASE_LEN;
  if (typeof s.checksum === 'number') b.writeUInt16BE(uint(s.checksum, 16, 'gre', 'checksum'), at);
  else b.writeUInt16BE(checksum(b, off, ctx.contentEnd), at);
}

export const codec: ProtocolCodec<GreSpec> = {
  name: 'gre',
  followers: ['ipv4', 'ipv6', 'eth', 'payload'],
  headerLength,
  emit,
  finish,
};
