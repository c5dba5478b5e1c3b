// Hand-made capture bytes for cases no tool writes: big-endian files, odd resolutions,
// simple packet blocks, and every kind of malformed header.

type Order = 'le' | 'be';

function u16(v: number, o: Order): Buffer {
  const b = Buffer.alloc(2);
  if (o === 'le') b.writeUInt16LE(v);
  else b.writeUInt16BE(v);
  return b;
}
function u32(v: number, o: Order): Buffer {
  const b = Buffer.alloc(4);
  if (o === 'le') b.writeUInt32LE(v >>> 0);
  else b.writeUInt32BE(v >>> 0);
  return b;
}
function pad4(b: Buffer): Buffer {
  return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
}

export interface ClassicRecord {
  data: Buffer;
  sec?: number;
  frac?: number;
  /** Override the captured-length field (to make it lie). */
  incl?: number;
  orig?: number;
}

export function classicHeader(o: { order?: Order; ns?: boolean; snap?: number; linkType?: number } = {}): Buffer {
  const order = o.order ?? 'le';
  return Buffer.concat([
    u32(o.ns ? 0xa1b23c4d : 0xa1b2c3d4, order),
    u16(2, order),
    u16(4, order),
    u32(0, order),
    u32(0, order),
    u32(o.snap ?? 65535, order),
    u32(o.linkType ?? 1, order),
  ]);
}

export function classicRecord(r: ClassicRecord, order: Order = 'le'): Buffer {
  return Buffer.concat([
    u32(r.sec ?? 0, order),
    u32(r.frac ?? 0, order),
    u32(r.incl ?? r.data.length, order),
    u32(r.orig ?? r.data.length, order),
    r.data,
  ]);
}

export function classicFile(
  records: ClassicRecord[],
  o: { order?: Order; ns?: boolean; snap?: number; linkType?: number } = {},
): Buffer {
  return Buffer.concat([classicHeader(o), ...records.map((r) => classicRecord(r, o.order ?? 'le'))]);
}

/** A pcapng block; `total` overrides the length at the start, `trailer` the one at the end. */
export function block(type: number, body: Buffer, o: { order?: Order; total?: number; trailer?: number } = {}): Buffer {
  const order = o.order ?? 'le';
  const b = pad4(body);
  const total = 12 + b.length;
  return Buffer.concat([u32(type, order), u32(o.total ?? total, order), b, u32(o.trailer ?? o.total ?? total, order)]);
}

export function option(code: number, value: Buffer, order: Order = 'le'): Buffer {
  return Buffer.concat([u16(code, order), u16(value.length, order), pad4(value)]);
}
export const endOfOptions = (order: Order = 'le') => Buffer.concat([u16(0, order), u16(0, order)]);

export function shb(order: Order = 'le', major = 1): Buffer {
  const body = Buffer.concat([u32(0x1a2b3c4d, order), u16(major, order), u16(0, order), Buffer.alloc(8, 0xff)]);
  return block(0x0a0d0d0a, body, { order });
}

export function idb(o: { order?: Order; linkType?: number; snap?: number; options?: Buffer[] } = {}): Buffer {
  const order = o.order ?? 'le';
  const opts = o.options && o.options.length ? Buffer.concat([...o.options, endOfOptions(order)]) : Buffer.alloc(0);
  return block(1, Buffer.concat([u16(o.linkType ?? 1, order), u16(0, order), u32(o.snap ?? 0, order), opts]), {
    order,
  });
}

export function epb(
  data: Buffer,
  o: {
    order?: Order;
    iface?: number;
    tsHigh?: number;
    tsLow?: number;
    cap?: number;
    orig?: number;
    options?: Buffer[];
  } = {},
): Buffer {
  const order = o.order ?? 'le';
  const opts = o.options && o.options.length ? Buffer.concat([...o.options, endOfOptions(order)]) : Buffer.alloc(0);
  const body = Buffer.concat([
    u32(o.iface ?? 0, order),
    u32(o.tsHigh ?? 0, order),
    u32(o.tsLow ?? 0, order),
    u32(o.cap ?? data.length, order),
    u32(o.orig ?? data.length, order),
    pad4(data),
    opts,
  ]);
  return block(6, body, { order });
}

export function spb(data: Buffer, orig = data.length, order: Order = 'le'): Buffer {
  return block(3, Buffer.concat([u32(orig, order), data]), { order });
}
