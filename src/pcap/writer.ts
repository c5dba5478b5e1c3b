import { open, type FileHandle } from 'node:fs/promises';
import { existsSync, lstatSync } from 'node:fs';
import { XdpspecError } from '../sys/errors.js';
import { RECORD_HEADER_LEN, encodeClassicHeader, encodeClassicRecord } from './classic.js';
import { EPB_FIXED_LEN, EPB_TYPE } from './pcapng/epb.js';
import { IDB_TYPE, OPT_IF_DESCRIPTION, OPT_IF_NAME, OPT_IF_TSRESOL } from './pcapng/idb.js';
import { OPT_COMMENT, encodeOptions, pad4, type BlockOption } from './pcapng/options.js';
import { BYTE_ORDER_MAGIC, OPT_SHB_USERAPPL, SHB_TYPE } from './pcapng/shb.js';
import { LINKTYPE_ETHERNET, MAX_CAPTURED_LENGTH, type CaptureFormat, type TimestampResolution } from './types.js';

/** An interface to describe in a pcapng file (classic pcap has exactly one, unnamed). */
export interface WriterInterface {
  name?: string;
  description?: string;
}

export interface WriterOptions {
  /** Default `pcapng`. */
  format?: CaptureFormat;
  /** Default `ns` for pcapng, `us` for pcap (what tcpdump writes by default). */
  resolution?: TimestampResolution;
  /** Default 262144, as tcpdump. */
  snapLength?: number;
  /** pcapng only: the interfaces records refer to by `interfaceId`; default one unnamed interface. */
  interfaces?: readonly WriterInterface[];
}

/** What a record to write needs; everything but the bytes has a default. */
export interface RecordInput {
  data: Uint8Array;
  /** Default: the data length. */
  originalLength?: number;
  /** Nanoseconds since the epoch; default 0. */
  timestamp?: bigint;
  /** pcapng only; default 0. */
  interfaceId?: number;
  /** pcapng only: written as the packet's opt_comment. */
  comment?: string;
}

const FLUSH_AT = 1 << 20;

/** Encodes captures record by record; used by both the in-memory and the file writer. */
class Encoder {
  readonly format: CaptureFormat;
  readonly resolution: TimestampResolution;
  readonly snapLength: number;
  readonly interfaceCount: number;

  constructor(o: WriterOptions) {
    this.format = o.format ?? 'pcapng';
    this.resolution = o.resolution ?? (this.format === 'pcapng' ? 'ns' : 'us');
    this.snapLength = o.snapLength ?? 262144;
    const ifs = o.interfaces ?? [{}];
    if (this.format === 'pcap' && ifs.length !== 1) {
      throw new XdpspecError(
        'WRITER_OPTIONS',
        `a classic pcap file has one interface; ${ifs.length} were given (write pcapng for several)`,
      );
    }
    this.interfaceCount = ifs.length;
    this.ifs = ifs;
  }
  private readonly ifs: readonly WriterInterface[];

  header(): Buffer {
    if (this.format === 'pcap')
      return encodeClassicHeader({ resolution: this.resolution, snapLength: this.snapLength });
    const parts = [shb()];
    for (const i of this.ifs) parts.push(idb(i, this.snapLength, this.resolution));
    return Buffer.concat(parts);
  }

  record(r: RecordInput): Buffer {
    const len = r.data.length;
    if (len > this.snapLength || len > MAX_CAPTURED_LENGTH) {
      throw new XdpspecError(
        'WRITER_RECORD',
        `frame of ${len} bytes is larger than the snap length ${Math.min(this.snapLength, MAX_CAPTURED_LENGTH)}`,
      );
    }
    const ts = r.timestamp ?? 0n;
    const orig = r.originalLength ?? len;
    if (this.format === 'pcap') {
      if (r.interfaceId)
        throw new XdpspecError(
          'WRITER_RECORD',
          `interface ${r.interfaceId} does not exist in a classic pcap file (write pcapng for several interfaces)`,
        );
      const out = Buffer.allocUnsafe(RECORD_HEADER_LEN + len);
      encodeClassicRecord(out, 0, r.data, orig, ts, this.resolution);
      return out;
    }
    const ifId = r.interfaceId ?? 0;
    if (ifId < 0 || ifId >= this.interfaceCount) {
      throw new XdpspecError(
        'WRITER_RECORD',
        `interface ${ifId} does not exist: the writer describes ${this.interfaceCount} interface(s)`,
      );
    }
    const opts =
      r.comment === undefined
        ? Buffer.alloc(0)
        : encodeOptions([{ code: OPT_COMMENT, value: Buffer.from(r.comment, 'utf8') }]);
    const total = EPB_FIXED_LEN + pad4(len) + opts.length + 4;
    const b = Buffer.alloc(total);
    const units = this.resolution === 'ns' ? ts : ts / 1000n;
    b.writeUInt32LE(EPB_TYPE, 0);
    b.writeUInt32LE(total, 4);
    b.writeUInt32LE(ifId, 8);
    b.writeUInt32LE(Number(units >> 32n), 12);
    b.writeUInt32LE(Number(units & 0xffffffffn), 16);
    b.writeUInt32LE(len, 20);
    b.writeUInt32LE(orig, 24);
    b.set(r.data, EPB_FIXED_LEN);
    opts.copy(b, EPB_FIXED_LEN + pad4(len));
    b.writeUInt32LE(total, total - 4);
    return b;
  }
}

function block(type: number, body: Buffer): Buffer {
  const total = 12 + body.length;
  const b = Buffer.alloc(total);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(total, 4);
  body.copy(b, 8);
  b.writeUInt32LE(total, total - 4);
  return b;
}

function shb(): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  fixed.writeUInt16LE(1, 4);
  fixed.writeUInt16LE(0, 6);
  fixed.writeBigInt64LE(-1n, 8); // section length not specified
  const opts = encodeOptions([{ code: OPT_SHB_USERAPPL, value: Buffer.from('xdpspec') }]);
  return block(SHB_TYPE, Buffer.concat([fixed, opts]));
}

function idb(i: WriterInterface, snap: number, res: TimestampResolution): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16LE(LINKTYPE_ETHERNET, 0);
  fixed.writeUInt32LE(snap, 4);
  const o: BlockOption[] = [];
  if (i.name !== undefined) o.push({ code: OPT_IF_NAME, value: Buffer.from(i.name) });
  if (i.description !== undefined) o.push({ code: OPT_IF_DESCRIPTION, value: Buffer.from(i.description) });
  o.push({ code: OPT_IF_TSRESOL, value: Buffer.from([res === 'ns' ? 9 : 6]) });
  return block(IDB_TYPE, Buffer.concat([fixed, encodeOptions(o)]));
}

/**
 * Encodes a whole capture in memory. Classic pcap is little-endian; pcapng is one
 * little-endian section.
 * @throws XdpspecError when a record does not fit the options (too large, unknown interface).
 */
export function encodeCapture(records: Iterable<RecordInput>, options: WriterOptions = {}): Buffer {
  const enc = new Encoder(options);
  const parts = [enc.header()];
  for (const r of records) parts.push(enc.record(r));
  return Buffer.concat(parts);
}

/**
 * Writes a capture file record by record, buffering about 1 MiB between writes, so a capture
 * of any size can be written from a stream. Call `close()` (or use `await using`).
 */
export class CaptureWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private closed = false;
  /** Records written so far. */
  count = 0;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    private readonly enc: Encoder,
  ) {
    this.push(enc.header());
  }

  /**
   * Creates (or truncates) `file`.
   * @throws XdpspecError `FILE_OPEN` when it cannot be created, `WRITER_OPTIONS` for bad options.
   */
  static async create(file: string, options: WriterOptions = {}): Promise<CaptureWriter> {
    const enc = new Encoder(options);
    // Opening a FIFO for writing waits for a reader forever; a directory fails as EISDIR below.
    const st = existsSync(file) ? lstatSync(file) : undefined;
    if (st?.isFIFO() || st?.isDirectory())
      throw new XdpspecError(
        'FILE_NOT_REGULAR',
        `cannot create capture ${file}: it is ${st.isFIFO() ? 'a FIFO (named pipe)' : 'a directory'}, not a file; name a regular file`,
      );
    let fh: FileHandle;
    try {
      fh = await open(file, 'w');
    } catch (err) {
      throw new XdpspecError('FILE_OPEN', `cannot create capture ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new CaptureWriter(file, fh, enc);
  }

  /** Appends one record; resolves once it is buffered (or written, when the buffer was full). */
  async write(r: RecordInput): Promise<void> {
    if (this.closed) throw new XdpspecError('WRITER_CLOSED', `capture ${this.file} is already closed`);
    this.push(this.enc.record(r));
    this.count++;
    if (this.pendingBytes >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.fh.write(data);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
    } finally {
      await this.fh.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private push(b: Buffer): void {
    this.pending.push(b);
    this.pendingBytes += b.length;
  }
}

/** Writes `records` to `file` in one go. */
export async function writeCapture(
  file: string,
  records: Iterable<RecordInput>,
  options: WriterOptions = {},
): Promise<void> {
  const w = await CaptureWriter.create(file, options);
  try {
    for (const r of records) await w.write(r);
  } finally {
    await w.close();
  }
}
