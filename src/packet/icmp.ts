import { uint } from './bytes.js';
import { checksum } from './checksum.js';
import { END_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';

export const HEADER_LEN = 8;

export const ICMP_TYPES: Readonly<Record<number, string>> = {
  0: 'echo reply',
  3: 'unreachable',
  4: 'source quench',
  5: 'redirect',
  8: 'echo request',
  11: 'time exceeded',
  12: 'parameter problem',
  13: 'timestamp request',
  14: 'timestamp reply',
};

/** Types whose second word is an identifier and a sequence number. */
function isEcho(type: number): boolean {
  return type === 0 || type === 8 || type === 13 || type === 14;
}

export interface Icmp {
  readonly name: 'icmp';
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  /** Echo and timestamp messages: identifier and sequence number. */
  readonly id?: number;
  readonly seq?: number;
  /** Other messages: the second 32-bit word (unused, pointer, gateway, or next-hop MTU). */
  readonly rest?: number;
}
export type IcmpSpec = Spec<Icmp>;

export function parse(b: Buffer, off: number): Icmp {
  const type = b[off]!;
  const code = b[off + 1]!;
  const checksum = b.readUInt16BE(off + 2);
  // Literals rather than a spread of a common base: this runs once per frame when decoding captures.
  if (isEcho(type))
    return { name: 'icmp', type, code, checksum, id: b.readUInt16BE(off + 4), seq: b.readUInt16BE(off + 6) };
  return { name: 'icmp', type, code, checksum, rest: b.readUInt32BE(off + 4) };
}

export function emit(b: Buffer, off: number, s: IcmpSpec): void {
  const type = uint(s.type ?? 8, 8, 'icmp', 'type');
  b[off] = type;
  b[off + 1] = uint(s.code ?? 0, 8, 'icmp', 'code');
  b.writeUInt16BE(0, off + 2);
  if (s.rest !== undefined || (!isEcho(type) && s.id === undefined && s.seq === undefined)) {
    b.writeUInt32BE(uint(s.rest ?? 0, 32, 'icmp', 'rest'), off + 4);
  } else {
    b.writeUInt16BE(uint(s.id ?? 1, 16, 'icmp', 'id'), off + 4);
    b.writeUInt16BE(uint(s.seq ?? 1, 16, 'icmp', 'seq'), off + 6);
  }
}

export function finish(b: Buffer, off: number, s: IcmpSpec, ctx: EmitContext): void {
  const cs = s.checksum === undefined ? checksum(b, off, ctx.contentEnd) : uint(s.checksum, 16, 'icmp', 'checksum');
  b.writeUInt16BE(cs, off + 2);
}

export const codec: ProtocolCodec<IcmpSpec> = {
  name: 'icmp',
  followers: END_NEXT,
  headerLength: () => HEADER_LEN,
  emit: (b, off, s) => emit(b, off, s),
  finish,
};
