import { FrameBuildError } from '../sys/errors.js';
import { toBytes, uint } from './bytes.js';
import type { EmitContext, ProtocolCodec, Spec } from './codec.js';
import { typeFor } from './ethernet.js';
import { ETH_P_TEB } from './gre.js';

/** GENEVE (RFC 8926): what follows by its protocol type, by default to UDP port 6081. */
export const BASE_LEN = 8;
export const PORT = 6081;

export interface Geneve {
  readonly name: 'geneve';
  readonly version: number;
  /** O (control) and C (critical options) bits, as the byte after the option length holds them. */
  readonly flags: number;
  /** EtherType of what is inside: 0x6558 for Ethernet. */
  readonly proto: number;
  readonly vni: number;
  /** The options as bytes (a multiple of 4). */
  readonly options: Buffer;
}
export type GeneveSpec = Omit<Spec<Geneve>, 'options'> & { options?: Uint8Array | readonly number[] | undefined };

export function headerLength(s: GeneveSpec): number {
  return BASE_LEN + (s.options ? toBytes(s.options, 'geneve', 'options').length : 0);
}

export function headerLengthAt(b: Buffer, off: number): number {
  return BASE_LEN + (b[off]! & 0x3f) * 4;
}

export function parse(b: Buffer, off: number): Geneve {
  const len = headerLengthAt(b, off);
  return {
    name: 'geneve',
    version: b[off]! >> 6,
    flags: b[off + 1]!,
    proto: b.readUInt16BE(off + 2),
    vni: b.readUInt32BE(off + 4) >>> 8,
    options: b.subarray(off + BASE_LEN, off + len),
  };
}

export function emit(b: Buffer, off: number, s: GeneveSpec, ctx: EmitContext): void {
  const opts = s.options ? toBytes(s.options, 'geneve', 'options') : Buffer.alloc(0);
  if (opts.length % 4 !== 0 || opts.length > 252)
    throw new FrameBuildError(
      'geneve',
      'options',
      `${opts.length} bytes of options: GENEVE options come in 4-byte words, at most 252 bytes`,
    );
  b[off] = (uint(s.version ?? 0, 2, 'geneve', 'version') << 6) | (opts.length / 4);
  b[off + 1] = uint(s.flags ?? 0, 8, 'geneve', 'flags');
  b.writeUInt16BE(
    s.proto === undefined
      ? ctx.next === 'eth'
        ? ETH_P_TEB
        : typeFor(ctx.next, ctx.afterNext, false)
      : uint(s.proto, 16, 'geneve', 'proto'),
    off + 2,
  );
  b.writeUInt32BE((uint(s.vni ?? 1, 24, 'geneve', 'vni') << 8) >>> 0, off + 4);
  opts.copy(b, off + BASE_LEN);
}

export const codec: ProtocolCodec<GeneveSpec> = {
  name: 'geneve',
  followers: ['eth', 'ipv4', 'ipv6', 'payload'],
  headerLength,
  emit,
};
