import { PcapFormatError, PcapLinkTypeError } from '../../sys/errors.js';
import type { RecordDecoder } from '../decoder.js';
import { CONVERTED_LINK_TYPES, ethernetFrom } from '../link-layers.js';
import { LINKTYPE_ETHERNET, MAX_CAPTURED_LENGTH, linkTypeName, type PcapRecord } from '../types.js';
import { EPB_FIXED_LEN, EPB_TYPE, OPB_FIXED_LEN, OPB_TYPE } from './epb.js';
import { IDB_MIN_LEN, IDB_TYPE, interfaceFromOptions } from './idb.js';
import { OPT_COMMENT, optionText, pad4, parseOptions } from './options.js';
import { Section, type SectionInterface } from './section.js';
import { SHB_MIN_LEN, SHB_TYPE, sectionByteOrder } from './shb.js';
import { SPB_FIXED_LEN, SPB_TYPE } from './spb.js';

const MIN_BLOCK_LEN = 12;
/** No legitimate block of an Ethernet capture comes near this; a larger length is corruption. */
const MAX_BLOCK_LEN = 16 * 1024 * 1024;

/** Decodes pcapng: one block per step; unknown block types are skipped. */
export class PcapngDecoder implements RecordDecoder {
  readonly format = 'pcapng' as const;
  record: PcapRecord | undefined = undefined;
  need = MIN_BLOCK_LEN;
  private readonly section = new Section();
  private index = 0;

  constructor(private readonly file: string) {}

  get interfaces(): readonly SectionInterface[] {
    return this.section.interfaces;
  }

  step(buf: Buffer, off: number, avail: number, fo: number): number {
    this.record = undefined;
    const s = this.section;
    if (avail < MIN_BLOCK_LEN) {
      this.need = MIN_BLOCK_LEN;
      return 0;
    }
    // The SHB type reads the same in both byte orders, so it can be recognised before the
    // section's byte order is known.
    const isShb = buf.readUInt32LE(off) === SHB_TYPE;
    if (isShb) {
      const order = sectionByteOrder(buf, off);
      if (!order)
        this.fail(
          fo,
          `section header block has no byte-order magic 0x1a2b3c4d (found 0x${buf.subarray(off + 8, off + 12).toString('hex')})`,
        );
      s.little = order === 'little';
    } else if (s.number === 0) {
      this.fail(fo, 'file does not start with a section header block');
    }
    const type = isShb ? SHB_TYPE : s.u32(buf, off);
    const len = s.u32(buf, off + 4);
    if (len < MIN_BLOCK_LEN)
      this.fail(
        fo,
        `block length ${len} of block type 0x${type.toString(16)} is less than the minimum of ${MIN_BLOCK_LEN}`,
      );
    if (len % 4 !== 0) this.fail(fo, `block length ${len} of block type 0x${type.toString(16)} is not a multiple of 4`);
    if (len > MAX_BLOCK_LEN)
      this.fail(
        fo,
        `block length ${len} of block type 0x${type.toString(16)} is larger than ${MAX_BLOCK_LEN} (16 MiB); the file is corrupt`,
      );
    if (avail < len) {
      this.need = len;
      return 0;
    }
    const trailer = s.u32(buf, off + len - 4);
    if (trailer !== len)
      this.fail(fo, `block length ${len} at the start of the block does not match ${trailer} at its end`);

    switch (type) {
      case SHB_TYPE:
        this.readShb(buf, off, len, fo);
        break;
      case IDB_TYPE:
        this.readIdb(buf, off, len, fo);
        break;
      case EPB_TYPE:
        this.readPacket(buf, off, len, fo, s.u32(buf, off + 8), EPB_FIXED_LEN);
        break;
      case OPB_TYPE:
        this.readPacket(buf, off, len, fo, s.u16(buf, off + 8), OPB_FIXED_LEN);
        break;
      case SPB_TYPE:
        this.readSpb(buf, off, len, fo);
        break;
      default:
        break; // name resolution, statistics, custom and unknown blocks carry no frames
    }
    return len;
  }

  truncated(fo: number, have: number): never {
    if (have < MIN_BLOCK_LEN) this.fail(fo, `block header truncated: need ${MIN_BLOCK_LEN} bytes, have ${have}`);
    this.fail(fo, `block length ${this.need} runs past the end of the file (${have} bytes left)`);
  }

  private readShb(buf: Buffer, off: number, len: number, fo: number): void {
    const s = this.section;
    if (len < SHB_MIN_LEN) this.fail(fo, `section header block length ${len} is less than ${SHB_MIN_LEN}`);
    const major = s.u16(buf, off + 12);
    if (major !== 1) this.fail(fo, `pcapng version ${major}.${s.u16(buf, off + 14)} is not supported (only 1.x)`);
    s.number++;
    s.interfaces = [];
  }

  private readIdb(buf: Buffer, off: number, len: number, fo: number): void {
    const s = this.section;
    if (len < IDB_MIN_LEN) this.fail(fo, `interface description block length ${len} is less than ${IDB_MIN_LEN}`);
    const linkType = s.u16(buf, off + 8);
    const snap = s.u32(buf, off + 12);
    const opts = parseOptions(s, buf, off + 16, off + len - 4);
    if (!opts) this.fail(fo, 'an option of the interface description block runs past the end of the block');
    const ifc = interfaceFromOptions(s.interfaces.length, linkType, snap, opts, s.little);
    // An interface of a link layer xdpspec gives an Ethernet header has Ethernet records (see
    // pcap/link-layers.ts); one of another keeps its type, refused at its first packet.
    s.interfaces.push(
      CONVERTED_LINK_TYPES.has(linkType) ? { ...ifc, linkType: LINKTYPE_ETHERNET, capturedLinkType: linkType } : ifc,
    );
  }

  private iface(id: number, fo: number): SectionInterface {
    const ifc = this.section.interfaces[id];
    if (!ifc) {
      this.fail(
        fo,
        `packet refers to interface ${id}, but the section describes ${this.section.interfaces.length} interface(s)`,
      );
    }
    if (ifc.linkType !== LINKTYPE_ETHERNET) {
      throw new PcapLinkTypeError(
        { file: this.file, offset: fo, record: this.index },
        ifc.linkType,
        linkTypeName(ifc.linkType),
      );
    }
    return ifc;
  }

  private checkCaptured(cap: number, ifc: SectionInterface, fo: number): void {
    if (cap > MAX_CAPTURED_LENGTH) {
      this.fail(
        fo,
        `captured length ${cap} is larger than ${MAX_CAPTURED_LENGTH} (256 KiB), the most xdpspec reads; the file is corrupt`,
      );
    }
    if (ifc.snapLength !== 0 && cap > ifc.snapLength) {
      this.fail(fo, `captured length ${cap} is larger than the snap length ${ifc.snapLength} of interface ${ifc.id}`);
    }
  }

  private readPacket(buf: Buffer, off: number, len: number, fo: number, ifId: number, fixed: number): void {
    const s = this.section;
    if (len < fixed + 4) this.fail(fo, `packet block length ${len} is less than ${fixed + 4}`);
    const ifc = this.iface(ifId, fo);
    const cap = s.u32(buf, off + 20);
    this.checkCaptured(cap, ifc, fo);
    const dataEnd = fixed + pad4(cap);
    if (dataEnd + 4 > len) this.fail(fo, `captured length ${cap} does not fit in a block of ${len} bytes`);
    let comment: string | undefined;
    if (dataEnd + 4 < len) {
      const opts = parseOptions(s, buf, off + dataEnd, off + len - 4);
      if (!opts) this.fail(fo, 'an option of the packet block runs past the end of the block');
      comment = optionText(opts, OPT_COMMENT);
    }
    const e = this.ethernet(ifc, buf.subarray(off + fixed, off + fixed + cap), fo);
    this.record = {
      index: this.index++,
      data: e.frame,
      originalLength: s.u32(buf, off + 24) + e.grown,
      timestamp: s.toNanos(ifc, s.u32(buf, off + 12), s.u32(buf, off + 16)),
      interfaceId: ifId,
      comment,
    };
  }

  private readSpb(buf: Buffer, off: number, len: number, fo: number): void {
    if (len < SPB_FIXED_LEN + 4) this.fail(fo, `simple packet block length ${len} is less than ${SPB_FIXED_LEN + 4}`);
    const ifc = this.iface(0, fo);
    const orig = this.section.u32(buf, off + 8);
    let cap = Math.min(orig, len - SPB_FIXED_LEN - 4);
    if (ifc.snapLength !== 0) cap = Math.min(cap, ifc.snapLength);
    this.checkCaptured(cap, ifc, fo);
    const e = this.ethernet(ifc, buf.subarray(off + SPB_FIXED_LEN, off + SPB_FIXED_LEN + cap), fo);
    this.record = {
      index: this.index++,
      data: e.frame,
      originalLength: orig + e.grown,
      timestamp: 0n, // simple packet blocks carry no timestamp
      interfaceId: 0,
    };
  }

  /** A packet's bytes as an Ethernet frame: as they are, or given a header (see pcap/link-layers.ts). */
  private ethernet(ifc: SectionInterface, data: Buffer, fo: number): { frame: Buffer; grown: number } {
    if (ifc.capturedLinkType === undefined) return { frame: data, grown: 0 };
    const e = ethernetFrom(ifc.capturedLinkType, data);
    if (typeof e === 'string') this.fail(fo, `packet cannot be read as an Ethernet frame: ${e}`);
    return e;
  }

  private fail(offset: number, reason: string): never {
    throw new PcapFormatError({ file: this.file, offset, record: this.index }, reason);
  }
}
