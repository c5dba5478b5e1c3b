import { valueText } from '../sys/text.js';
import ipaddr from 'ipaddr.js';
import { FrameBuildError } from '../sys/errors.js';

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Lower-case MAC with colons, from 6 bytes at `off`. */
export function macToString(b: Uint8Array, off: number): string {
  return `${HEX[b[off]!]}:${HEX[b[off + 1]!]}:${HEX[b[off + 2]!]}:${HEX[b[off + 3]!]}:${HEX[b[off + 4]!]}:${HEX[b[off + 5]!]}`;
}

export function ipv4ToString(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text form: lower case, leading zeros dropped, the longest run (>= 2) of zero groups as `::`. */
export function ipv6ToString(b: Uint8Array, off: number): string {
  // Find the longest run of zero groups first, then write the groups around it.
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && b[off + 2 * i] === 0 && b[off + 2 * i + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart > bestLen) {
        bestStart = runStart;
        bestLen = i - runStart;
      }
      runStart = -1;
    }
  }
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s.length > 0 && !s.endsWith(':')) s += ':';
    s += ((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!).toString(16);
  }
  return s;
}

const MAC_RE = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

// Specs build many frames from a few addresses, and parsing text (IPv6 above all) was most of a
// build's time: parsed addresses are kept, read-only (every caller copies from them).
const parsed = new Map<string, Buffer>();
function cached(key: string, parse: () => Buffer): Buffer {
  let b = parsed.get(key);
  if (!b) {
    if (parsed.size >= 4096) parsed.clear();
    b = parse();
    parsed.set(key, b);
  }
  return b;
}

/** Parses `aa:bb:cc:dd:ee:ff` (or with dashes) into 6 bytes. */
export function parseMac(s: unknown, layer: string, field: string): Buffer {
  if (isBytes(s) && s.length === 6) return Buffer.from(s);
  if (typeof s !== 'string' || !MAC_RE.test(s)) {
    throw new FrameBuildError(
      layer,
      field,
      `${JSON.stringify(s)} is not a MAC address; write it as six hex bytes with colons, e.g. 02:00:00:00:00:01`,
    );
  }
  return cached(`m${s}`, () => Buffer.from(s.replace(/[:-]/g, ''), 'hex'));
}

export function parseIpv4(s: unknown, layer: string, field: string): Buffer {
  if (isBytes(s) && s.length === 4) return Buffer.from(s);
  if (typeof s !== 'string')
    throw new FrameBuildError(
      layer,
      field,
      `${JSON.stringify(s)} is not an IPv4 address in dotted decimal, e.g. 10.0.0.1`,
    );
  return cached(`4${s}`, () => {
    if (!ipaddr.IPv4.isValidFourPartDecimal(s)) {
      throw new FrameBuildError(
        layer,
        field,
        `${JSON.stringify(s)} is not an IPv4 address in dotted decimal, e.g. 10.0.0.1`,
      );
    }
    return Buffer.from(ipaddr.IPv4.parse(s).toByteArray());
  });
}

export function parseIpv6(s: unknown, layer: string, field: string): Buffer {
  if (isBytes(s) && s.length === 16) return Buffer.from(s);
  if (typeof s !== 'string')
    throw new FrameBuildError(layer, field, `${JSON.stringify(s)} is not an IPv6 address, e.g. fd00::1`);
  return cached(`6${s}`, () => {
    if (!ipaddr.IPv6.isValid(s) || s.includes('%'))
      throw new FrameBuildError(layer, field, `${JSON.stringify(s)} is not an IPv6 address, e.g. fd00::1`);
    return Buffer.from(ipaddr.IPv6.parse(s).toByteArray());
  });
}

export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

/** Bytes from a string (UTF-8), a byte array, or an array of byte values. */
export function toBytes(x: unknown, layer: string, field: string): Buffer {
  if (isBytes(x)) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  if (typeof x === 'string') return Buffer.from(x, 'utf8');
  if (Array.isArray(x) && x.every((v) => Number.isInteger(v) && v >= 0 && v <= 255)) return Buffer.from(x);
  throw new FrameBuildError(
    layer,
    field,
    `expected bytes (a Buffer, a string or an array of byte values), got ${describe(x)}`,
  );
}

/** Checks that `v` fits in an unsigned field of `bits` bits; returns it. */
export function uint(v: unknown, bits: number, layer: string, field: string): number {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new FrameBuildError(layer, field, `${describe(v)} does not fit in ${bits} bits (0 to ${max})`);
  }
  return v;
}

export function describe(x: unknown): string {
  if (x === undefined) return 'undefined';
  if (isBytes(x)) return `${x.length} bytes`;
  return typeof x === 'string' ? JSON.stringify(x) : valueText(x);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
