import type { CaptureInterface } from '../types.js';

/** An interface as a section knows it, with what timestamp conversion needs. */
export interface SectionInterface extends CaptureInterface {
  /** Timestamp units per second is 10^exp10 (when base2 is false) or 2^exp (when true). */
  readonly tsExponent: number;
  readonly tsBase2: boolean;
  /** if_tsoffset, in seconds, added to every timestamp. */
  readonly tsOffsetSeconds: bigint;
}

/**
 * What every block of a pcapng section depends on: the byte order set by its Section Header
 * Block and the interfaces described so far. A new section resets both.
 */
export class Section {
  little = true;
  interfaces: SectionInterface[] = [];
  /** Count of section header blocks seen; 0 before the first. */
  number = 0;

  u16(b: Buffer, o: number): number {
    return this.little ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }
  u32(b: Buffer, o: number): number {
    return this.little ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  /** Converts a raw 64-bit timestamp of interface `iface` to nanoseconds since the epoch. */
  toNanos(iface: SectionInterface, high: number, low: number): bigint {
    const raw = (BigInt(high) << 32n) | BigInt(low);
    let ns: bigint;
    if (iface.tsBase2) {
      ns = (raw * 1_000_000_000n) >> BigInt(iface.tsExponent);
    } else if (iface.tsExponent === 6) {
      ns = raw * 1000n; // the default; skip the general case's exponentiation
    } else if (iface.tsExponent <= 9) {
      ns = raw * 10n ** BigInt(9 - iface.tsExponent);
    } else {
      ns = raw / 10n ** BigInt(iface.tsExponent - 9);
    }
    return ns + iface.tsOffsetSeconds * 1_000_000_000n;
  }
}
