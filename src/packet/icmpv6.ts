import { ipv6ToString, macToString, parseIpv6, parseMac, toBytes, uint } from './bytes.js';
import { upperLayerChecksum } from './checksum.js';
import { END_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';
import { FrameBuildError } from '../sys/errors.js';
import { IPPROTO } from './ipproto.js';

export const MIN_HEADER_LEN = 4;

export const ICMPV6_TYPES: Readonly<Record<number, string>> = {
  1: 'unreachable',
  2: 'packet too big',
  3: 'time exceeded',
  4: 'parameter problem',
  128: 'echo request',
  129: 'echo reply',
  133: 'router solicitation',
  134: 'router advertisement',
  135: 'neighbor solicitation',
  136: 'neighbor advertisement',
  137: 'redirect',
  143: 'mld report v2',
};

/** A neighbour-discovery option: link-layer addresses (types 1 and 2) decoded, others as bytes. */
export type NdOption =
  { readonly type: number; readonly lladdr: string } | { readonly type: number; readonly data: Buffer };

export interface Icmpv6 {
  readonly name: 'icmpv6';
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  /** Echo request and reply. */
  readonly id?: number;
  readonly seq?: number;
  /** Neighbour solicitation and advertisement: the address asked about or announced. */
  readonly target?: string;
  /** Neighbour advertisement flags: any of `R` (router), `S` (solicited), `O` (override). */
  readonly flags?: string;
  /** The reserved bits of router/neighbour solicitation and advertisement. */
  readonly reserved?: number;
  /** Other messages: the second 32-bit word (unused, MTU or pointer). */
  readonly rest?: number;
  /** Neighbour-discovery options (solicitations and advertisements). */
  readonly options?: readonly NdOption[];
}
export type Icmpv6Spec = Spec<Icmpv6>;

const ECHO_REQUEST = 128;
const ECHO_REPLY = 129;
const ROUTER_SOLICIT = 133;
const NEIGH_SOLICIT = 135;
const NEIGH_ADVERT = 136;

/** Bytes of the message before its options or payload, by type. */
export function fixedLength(type: number): number {
  return type === NEIGH_SOLICIT || type === NEIGH_ADVERT ? 24 : 8;
}

function hasOptions(type: number): boolean {
  return type === ROUTER_SOLICIT || type === NEIGH_SOLICIT || type === NEIGH_ADVERT;
}

/** Parses options in `b[off, end)`; stops at a malformed one. Returns them and the bytes used. */
function parseNdOptions(b: Buffer, off: number, end: number): { options: NdOption[]; used: number } {
  const options: NdOption[] = [];
  let o = off;
  while (o + 2 <= end) {
    const type = b[o]!;
    const len = b[o + 1]! * 8;
    if (len === 0 || o + len > end) break;
    if ((type === 1 || type === 2) && len === 8) options.push({ type, lladdr: macToString(b, o + 2) });
    else options.push({ type, data: b.subarray(o + 2, o + len) });
    o += len;
  }
  return { options, used: o - off };
}

/** Parses the message at `off` (at least `fixedLength(type)` bytes present); `used` covers options. */
export function parse(b: Buffer, off: number, end: number): { layer: Icmpv6; used: number } {
  const type = b[off]!;
  const base = { name: 'icmpv6' as const, type, code: b[off + 1]!, checksum: b.readUInt16BE(off + 2) };
  const fixed = fixedLength(type);
  if (type === ECHO_REQUEST || type === ECHO_REPLY) {
    const layer: Icmpv6 = {
      name: 'icmpv6',
      type,
      code: base.code,
      checksum: base.checksum,
      id: b.readUInt16BE(off + 4),
      seq: b.readUInt16BE(off + 6),
    };
    return { layer, used: fixed };
  }
  if (!hasOptions(type)) return { layer: { ...base, rest: b.readUInt32BE(off + 4) }, used: fixed };
  const { options, used } = parseNdOptions(b, off + fixed, end);
  const word = b.readUInt32BE(off + 4);
  if (type === ROUTER_SOLICIT) return { layer: { ...base, reserved: word, options }, used: fixed + used };
  const target = ipv6ToString(b, off + 8);
  if (type === NEIGH_SOLICIT) return { layer: { ...base, reserved: word, target, options }, used: fixed + used };
  const flags = (word & 0x80000000 ? 'R' : '') + (word & 0x40000000 ? 'S' : '') + (word & 0x20000000 ? 'O' : '');
  return { layer: { ...base, flags, reserved: word & 0x1fffffff, target, options }, used: fixed + used };
}

function optionBytes(opts: readonly NdOption[] | undefined): Buffer {
  if (!opts || opts.length === 0) return Buffer.alloc(0);
  const parts = opts.map((o) => {
    const body =
      'lladdr' in o ? parseMac(o.lladdr, 'icmpv6', 'options.lladdr') : toBytes(o.data, 'icmpv6', 'options.data');
    const len = (2 + body.length + 7) & ~7;
    const p = Buffer.alloc(len);
    p[0] = uint(o.type, 8, 'icmpv6', 'options.type');
    p[1] = len / 8;
    body.copy(p, 2);
    return p;
  });
  return Buffer.concat(parts);
}

export function headerLength(s: Icmpv6Spec): number {
  const type = s.type ?? ECHO_REQUEST;
  return fixedLength(type) + optionBytes(s.options).length;
}

export function emit(b: Buffer, off: number, s: Icmpv6Spec): void {
  const type = uint(s.type ?? ECHO_REQUEST, 8, 'icmpv6', 'type');
  b[off] = type;
  b[off + 1] = uint(s.code ?? 0, 8, 'icmpv6', 'code');
  b.writeUInt16BE(0, off + 2);
  if (type === ECHO_REQUEST || type === ECHO_REPLY) {
    b.writeUInt16BE(uint(s.id ?? 1, 16, 'icmpv6', 'id'), off + 4);
    b.writeUInt16BE(uint(s.seq ?? 1, 16, 'icmpv6', 'seq'), off + 6);
  } else if (type === NEIGH_ADVERT) {
    const f = s.flags ?? '';
    if (!/^[RSO]*$/.test(f))
      throw new FrameBuildError(
        'icmpv6',
        'flags',
        `${JSON.stringify(f)} is not a set of neighbour advertisement flags (R, S, O)`,
      );
    const word =
      (f.includes('R') ? 0x80000000 : 0) |
      (f.includes('S') ? 0x40000000 : 0) |
      (f.includes('O') ? 0x20000000 : 0) |
      uint(s.reserved ?? 0, 29, 'icmpv6', 'reserved');
    b.writeUInt32BE(word >>> 0, off + 4);
  } else if (hasOptions(type)) {
    b.writeUInt32BE(uint(s.reserved ?? 0, 32, 'icmpv6', 'reserved'), off + 4);
  } else {
    b.writeUInt32BE(uint(s.rest ?? 0, 32, 'icmpv6', 'rest'), off + 4);
  }
  if (type === NEIGH_SOLICIT || type === NEIGH_ADVERT)
    parseIpv6(s.target ?? 'fd00::2', 'icmpv6', 'target').copy(b, off + 8);
  optionBytes(s.options).copy(b, off + fixedLength(type));
}

export function finish(b: Buffer, off: number, s: Icmpv6Spec, ctx: EmitContext): void {
  if (s.checksum === undefined && ctx.ip?.version !== 6) {
    throw new FrameBuildError(
      'icmpv6',
      'checksum',
      'ICMPv6 needs an enclosing IPv6 header for its checksum; put it after ipv6() or set checksum',
    );
  }
  const cs =
    s.checksum === undefined
      ? upperLayerChecksum(b, off, ctx.contentEnd, IPPROTO.icmpv6, ctx.ip)
      : uint(s.checksum, 16, 'icmpv6', 'checksum');
  b.writeUInt16BE(cs, off + 2);
}

export const codec: ProtocolCodec<Icmpv6Spec> = {
  name: 'icmpv6',
  followers: END_NEXT,
  headerLength,
  emit: (b, off, s) => emit(b, off, s),
  finish,
};
