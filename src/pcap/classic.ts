import { PcapFormatError, PcapLinkTypeError } from '../sys/errors.js';
import type { RecordDecoder } from './decoder.js';
import { CONVERTED_LINK_TYPES, ethernetFrom } from './link-layers.js';
import {
  LINKTYPE_ETHERNET,
  MAX_CAPTURED_LENGTH,
  linkTypeName,
  type CaptureInterface,
  type PcapRecord,
  type TimestampResolution,
} from './types.js';

// Classic libpcap format: a 24-byte file header, then records of a 16-byte header and data.
export const FILE_HEADER_LEN = 24;
export const RECORD_HEADER_LEN = 16;
export const MAGIC_US = 0xa1b2c3d4;
export const MAGIC_NS = 0xa1b23c4d;

/** True when the first four bytes are a classic pcap magic number in either byte order. */
export function isClassicMagic(b: Buffer): boolean {
  const le = b.readUInt32LE(0);
  const be = b.readUInt32BE(0);
  return le === MAGIC_US || le === MAGIC_NS || be === MAGIC_US || be === MAGIC_NS;
}

export class ClassicDecoder implements RecordDecoder {
  readonly format = 'pcap' as const;
  interfaces: CaptureInterface[] = [];
  record: PcapRecord | undefined = undefined;
  need = FILE_HEADER_LEN;
  private little = true;
  private nanos = false;
  private snap = 0;
  private index = 0;
  private haveHeader = false;
  /** The file's link type: records of another than Ethernet are given an Ethernet header. */
  private captured = LINKTYPE_ETHERNET;

  constructor(private readonly file: string) {}

  step(buf: Buffer, off: number, avail: number, fileOffset: number): number {
    this.record = undefined;
    if (!this.haveHeader) {
      if (avail < FILE_HEADER_LEN) {
        this.need = FILE_HEADER_LEN;
        return 0;
      }
      this.readHeader(buf, off, fileOffset);
      return FILE_HEADER_LEN;
    }
    if (avail < RECORD_HEADER_LEN) {
      this.need = RECORD_HEADER_LEN;
      return 0;
    }
    const le = this.little;
    const incl = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
    if (incl > MAX_CAPTURED_LENGTH) {
      this.fail(
        fileOffset,
        `captured length ${incl} is larger than ${MAX_CAPTURED_LENGTH} (256 KiB), the most xdpspec reads; the file is corrupt or not a capture of Ethernet frames`,
      );
    }
    if (this.snap !== 0 && incl > this.snap) {
      this.fail(fileOffset, `captured length ${incl} is larger than the snap length ${this.snap}`);
    }
    const total = RECORD_HEADER_LEN + incl;
    if (avail < total) {
      this.need = total;
      return 0;
    }
    const sec = le ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
    const frac = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
    const orig = le ? buf.readUInt32LE(off + 12) : buf.readUInt32BE(off + 12);
    const start = off + RECORD_HEADER_LEN;
    let data = buf.subarray(start, start + incl);
    let wire = orig;
    if (this.captured !== LINKTYPE_ETHERNET) {
      const e = ethernetFrom(this.captured, data);
      if (typeof e === 'string') this.fail(fileOffset, `record cannot be read as an Ethernet frame: ${e}`);
      data = e.frame;
      wire = orig + e.grown;
    }
    this.record = {
      index: this.index++,
      data,
      originalLength: wire,
      timestamp: BigInt(sec) * 1_000_000_000n + BigInt(this.nanos ? frac : frac * 1000),
      interfaceId: 0,
    };
    return total;
  }

  truncated(fileOffset: number, have: number): never {
    if (!this.haveHeader) {
      this.fail(fileOffset, `file header truncated: need ${FILE_HEADER_LEN} bytes, have ${have}`, false);
    }
    if (have < RECORD_HEADER_LEN) {
      this.fail(fileOffset, `record header truncated: need ${RECORD_HEADER_LEN} bytes, have ${have}`);
    }
    this.fail(
      fileOffset,
      `record truncated: need ${this.need} bytes (16-byte header and ${this.need - RECORD_HEADER_LEN} captured bytes), have ${have}`,
    );
  }

  private readHeader(buf: Buffer, off: number, fileOffset: number): void {
    const le = buf.readUInt32LE(off);
    if (le === MAGIC_US || le === MAGIC_NS) {
      this.little = true;
      this.nanos = le === MAGIC_NS;
    } else {
      const be = buf.readUInt32BE(off);
      if (be !== MAGIC_US && be !== MAGIC_NS) {
        this.fail(fileOffset, `unknown magic number 0x${buf.subarray(off, off + 4).toString('hex')}`, false);
      }
      this.little = false;
      this.nanos = be === MAGIC_NS;
    }
    const u32 = (o: number) => (this.little ? buf.readUInt32LE(off + o) : buf.readUInt32BE(off + o));
    this.snap = u32(16);
    // The upper bits of the link-type field carry FCS information (pcap-linktype(7)).
    const linkType = u32(20) & 0x0fffffff;
    if (linkType !== LINKTYPE_ETHERNET && !CONVERTED_LINK_TYPES.has(linkType)) {
      throw new PcapLinkTypeError({ file: this.file, offset: fileOffset + 20 }, linkType, linkTypeName(linkType));
    }
    this.captured = linkType;
    const resolution: TimestampResolution = this.nanos ? 'ns' : 'us';
    this.interfaces = [
      {
        id: 0,
        linkType: LINKTYPE_ETHERNET,
        ...(linkType !== LINKTYPE_ETHERNET ? { capturedLinkType: linkType } : {}),
        snapLength: this.snap,
        timestampResolution: resolution === 'ns' ? '10^-9' : '10^-6',
      },
    ];
    this.haveHeader = true;
  }

  private fail(offset: number, reason: string, inRecord = true): never {
    throw new PcapFormatError({ file: this.file, offset, record: inRecord ? this.index : undefined }, reason);
  }
}

export interface ClassicHeaderOptions {
  resolution: TimestampResolution;
  snapLength: number;
}

export function encodeClassicHeader(o: ClassicHeaderOptions): Buffer {
  const b = Buffer.alloc(FILE_HEADER_LEN);
  b.writeUInt32LE(o.resolution === 'ns' ? MAGIC_NS : MAGIC_US, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeUInt32LE(o.snapLength, 16);
  b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return b;
}

/** Writes one record (header and data) at `out[off]`; returns the bytes written. */
export function encodeClassicRecord(
  out: Buffer,
  off: number,
  data: Uint8Array,
  originalLength: number,
  timestamp: bigint,
  resolution: TimestampResolution,
): number {
  const sec = timestamp / 1_000_000_000n;
  const ns = timestamp % 1_000_000_000n;
  out.writeUInt32LE(Number(sec), off);
  out.writeUInt32LE(resolution === 'ns' ? Number(ns) : Number(ns / 1000n), off + 4);
  out.writeUInt32LE(data.length, off + 8);
  out.writeUInt32LE(originalLength, off + 12);
  out.set(data, off + RECORD_HEADER_LEN);
  return RECORD_HEADER_LEN + data.length;
}
