import type { Section } from './section.js';

/** One option of a block: its code and raw value (without padding). */
export interface BlockOption {
  readonly code: number;
  readonly value: Buffer;
}

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;

/**
 * Parses the options area `buf[start, end)`. Returns undefined when an option runs past the
 * area, so the caller can report it with the block's position.
 */
export function parseOptions(s: Section, buf: Buffer, start: number, end: number): BlockOption[] | undefined {
  const out: BlockOption[] = [];
  let o = start;
  while (o + 4 <= end) {
    const code = s.u16(buf, o);
    const len = s.u16(buf, o + 2);
    if (code === OPT_ENDOFOPT) break;
    const vEnd = o + 4 + len;
    if (vEnd > end) return undefined;
    out.push({ code, value: buf.subarray(o + 4, vEnd) });
    o += 4 + pad4(len);
  }
  return out;
}

export function optionText(opts: readonly BlockOption[], code: number): string | undefined {
  const o = opts.find((x) => x.code === code);
  return o ? o.value.toString('utf8') : undefined;
}

export function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** Encodes options (little-endian) followed by opt_endofopt; empty input gives no bytes. */
export function encodeOptions(opts: readonly BlockOption[]): Buffer {
  if (opts.length === 0) return Buffer.alloc(0);
  const size = opts.reduce((n, o) => n + 4 + pad4(o.value.length), 0) + 4;
  const b = Buffer.alloc(size);
  let off = 0;
  for (const o of opts) {
    b.writeUInt16LE(o.code, off);
    b.writeUInt16LE(o.value.length, off + 2);
    o.value.copy(b, off + 4);
    off += 4 + pad4(o.value.length);
  }
  return b; // the trailing 4 zero bytes are opt_endofopt
}
