import { FrameBuildError } from '../sys/errors.js';
import { describe, toBytes, uint } from './bytes.js';
import { upperLayerChecksum } from './checksum.js';
import { END_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';
import { IPPROTO } from './ipproto.js';

export const MIN_HEADER_LEN = 20;

/**
 * A TCP option. Parsing is lossless: every option byte lands in exactly one entry, so a parsed
 * header re-emits byte for byte. `{ kind: number, data }` is a known or unknown option kept as
 * bytes (e.g. an MSS option of the wrong length); `raw` holds bytes that do not form an option
 * (a length running past the header).
 */
export type TcpOption =
  | { readonly kind: 'eol' }
  | { readonly kind: 'nop' }
  | { readonly kind: 'mss'; readonly value: number }
  | { readonly kind: 'wscale'; readonly value: number }
  | { readonly kind: 'sackok' }
  | { readonly kind: 'sack'; readonly blocks: readonly (readonly [number, number])[] }
  | { readonly kind: 'ts'; readonly val: number; readonly ecr: number }
  | { readonly kind: number; readonly data: Buffer }
  | { readonly kind: 'raw'; readonly data: Buffer };

export interface Tcp {
  readonly name: 'tcp';
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  /** Data offset: header length in 32-bit words. */
  readonly off: number;
  /** The three reserved bits between data offset and the flags. */
  readonly res: number;
  /** Flags as letters in the order FSRPAUECN (FIN SYN RST PSH ACK URG ECE CWR NS): a SYN-ACK is `SA`. */
  readonly flags: string;
  readonly win: number;
  readonly checksum: number;
  /** Urgent pointer. */
  readonly urp: number;
  readonly options: readonly TcpOption[];
}
export type TcpSpec = Omit<Spec<Tcp>, 'flags'> & { flags?: string | number | undefined };

const FLAG_LETTERS = 'FSRPAUECN';

export function flagsToString(bits: number): string {
  let s = '';
  for (let i = 0; i < 9; i++) if (bits & (1 << i)) s += FLAG_LETTERS[i];
  return s;
}

export function flagsToBits(f: string | number): number {
  if (typeof f === 'number') return uint(f, 9, 'tcp', 'flags');
  let bits = 0;
  for (const ch of f.toUpperCase()) {
    const i = FLAG_LETTERS.indexOf(ch);
    if (i < 0)
      throw new FrameBuildError(
        'tcp',
        'flags',
        `${JSON.stringify(f)} has ${JSON.stringify(ch)}, which is not a flag; use letters of FSRPAUECN (e.g. "SA" for SYN-ACK)`,
      );
    bits |= 1 << i;
  }
  return bits;
}

export function headerLengthAt(b: Buffer, off: number): number {
  return (b[off + 12]! >> 4) * 4;
}

export function parseOptions(b: Buffer, start: number, end: number): TcpOption[] {
  const out: TcpOption[] = [];
  let o = start;
  while (o < end) {
    const kind = b[o]!;
    if (kind === 0) {
      out.push({ kind: 'eol' });
      o++;
      continue;
    }
    if (kind === 1) {
      out.push({ kind: 'nop' });
      o++;
      continue;
    }
    const len = o + 1 < end ? b[o + 1]! : 0;
    if (len < 2 || o + len > end) {
      out.push({ kind: 'raw', data: b.subarray(o, end) });
      break;
    }
    const d = o + 2;
    if (kind === 2 && len === 4) out.push({ kind: 'mss', value: b.readUInt16BE(d) });
    else if (kind === 3 && len === 3) out.push({ kind: 'wscale', value: b[d]! });
    else if (kind === 4 && len === 2) out.push({ kind: 'sackok' });
    else if (kind === 5 && len >= 10 && (len - 2) % 8 === 0) {
      const blocks: [number, number][] = [];
      for (let p = d; p < o + len; p += 8) blocks.push([b.readUInt32BE(p), b.readUInt32BE(p + 4)]);
      out.push({ kind: 'sack', blocks });
    } else if (kind === 8 && len === 10) out.push({ kind: 'ts', val: b.readUInt32BE(d), ecr: b.readUInt32BE(d + 4) });
    else out.push({ kind, data: b.subarray(d, o + len) });
    o += len;
  }
  return out;
}

export function parse(b: Buffer, off: number, hl: number): Tcp {
  const w = b.readUInt16BE(off + 12);
  return {
    name: 'tcp',
    sport: b.readUInt16BE(off),
    dport: b.readUInt16BE(off + 2),
    seq: b.readUInt32BE(off + 4),
    ack: b.readUInt32BE(off + 8),
    off: w >> 12,
    res: (w >> 9) & 7,
    flags: flagsToString(w & 0x1ff),
    win: b.readUInt16BE(off + 14),
    checksum: b.readUInt16BE(off + 16),
    urp: b.readUInt16BE(off + 18),
    options: hl > MIN_HEADER_LEN ? parseOptions(b, off + MIN_HEADER_LEN, off + hl) : [],
  };
}

export function encodeOptions(opts: readonly TcpOption[] | undefined): Buffer {
  if (!opts || opts.length === 0) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  for (const o of opts) {
    switch (o.kind) {
      case 'eol':
        parts.push(Buffer.from([0]));
        break;
      case 'nop':
        parts.push(Buffer.from([1]));
        break;
      case 'mss': {
        const p = Buffer.from([2, 4, 0, 0]);
        p.writeUInt16BE(uint(o.value, 16, 'tcp', 'options.mss'), 2);
        parts.push(p);
        break;
      }
      case 'wscale':
        parts.push(Buffer.from([3, 3, uint(o.value, 8, 'tcp', 'options.wscale')]));
        break;
      case 'sackok':
        parts.push(Buffer.from([4, 2]));
        break;
      case 'sack': {
        const p = Buffer.alloc(2 + 8 * o.blocks.length);
        p[0] = 5;
        p[1] = p.length;
        o.blocks.forEach(([l, r], i) => {
          p.writeUInt32BE(uint(l, 32, 'tcp', 'options.sack'), 2 + 8 * i);
          p.writeUInt32BE(uint(r, 32, 'tcp', 'options.sack'), 6 + 8 * i);
        });
        parts.push(p);
        break;
      }
      case 'ts': {
        const p = Buffer.alloc(10);
        p[0] = 8;
        p[1] = 10;
        p.writeUInt32BE(uint(o.val, 32, 'tcp', 'options.ts'), 2);
        p.writeUInt32BE(uint(o.ecr, 32, 'tcp', 'options.ts'), 6);
        parts.push(p);
        break;
      }
      case 'raw':
        parts.push(toBytes(o.data, 'tcp', 'options.raw'));
        break;
      default: {
        const k = (o as { kind: unknown }).kind;
        if (typeof k !== 'number')
          throw new FrameBuildError(
            'tcp',
            'options',
            `unknown option kind ${describe(k)}; use eol, nop, mss, wscale, sackok, sack, ts, raw or a number with data`,
          );
        const data = toBytes((o as { data: unknown }).data, 'tcp', 'options.data');
        parts.push(Buffer.concat([Buffer.from([uint(k, 8, 'tcp', 'options.kind'), data.length + 2]), data]));
      }
    }
  }
  return Buffer.concat(parts);
}

export function headerLength(s: TcpSpec): number {
  return MIN_HEADER_LEN + ((encodeOptions(s.options).length + 3) & ~3);
}

export function emit(b: Buffer, off: number, s: TcpSpec): void {
  const opts = encodeOptions(s.options);
  const hl = MIN_HEADER_LEN + ((opts.length + 3) & ~3);
  b.writeUInt16BE(uint(s.sport ?? 12345, 16, 'tcp', 'sport'), off);
  b.writeUInt16BE(uint(s.dport ?? 80, 16, 'tcp', 'dport'), off + 2);
  b.writeUInt32BE(uint(s.seq ?? 0, 32, 'tcp', 'seq'), off + 4);
  b.writeUInt32BE(uint(s.ack ?? 0, 32, 'tcp', 'ack'), off + 8);
  if (s.off === undefined && hl > 60) {
    throw new FrameBuildError(
      'tcp',
      'options',
      `${opts.length} option bytes do not fit: a TCP header holds at most 40 (data offset 15)`,
    );
  }
  const doff = s.off === undefined ? hl / 4 : uint(s.off, 4, 'tcp', 'off');
  b.writeUInt16BE((doff << 12) | (uint(s.res ?? 0, 3, 'tcp', 'res') << 9) | flagsToBits(s.flags ?? 'S'), off + 12);
  b.writeUInt16BE(uint(s.win ?? 65535, 16, 'tcp', 'win'), off + 14);
  b.writeUInt16BE(0, off + 16);
  b.writeUInt16BE(uint(s.urp ?? 0, 16, 'tcp', 'urp'), off + 18);
  opts.copy(b, off + MIN_HEADER_LEN); // the rest up to hl stays zero: end-of-option-list padding
}

export function finish(b: Buffer, off: number, s: TcpSpec, ctx: EmitContext): void {
  const cs =
    s.checksum === undefined
      ? upperLayerChecksum(b, off, ctx.contentEnd, IPPROTO.tcp, ctx.ip)
      : uint(s.checksum, 16, 'tcp', 'checksum');
  b.writeUInt16BE(cs, off + 16);
}

export function formatOption(o: TcpOption): string {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return o.kind;
    case 'mss':
    case 'wscale':
      return `${o.kind} ${o.value}`;
    case 'sackok':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.map(([l, r]) => `${l}:${r}`).join(' ')}`;
    case 'ts':
      return `TS val ${o.val} ecr ${o.ecr}`;
    case 'raw':
      return `raw 0x${o.data.toString('hex')}`;
    default:
      return `opt-${o.kind} 0x${(o as { data: Buffer }).data.toString('hex')}`;
  }
}

export const codec: ProtocolCodec<TcpSpec> = {
  name: 'tcp',
  followers: END_NEXT,
  headerLength,
  emit: (b, off, s) => emit(b, off, s),
  finish,
};
