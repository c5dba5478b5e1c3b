// Section Header Block: starts a section and fixes its byte order.
export const SHB_TYPE = 0x0a0d0d0a;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const SHB_MIN_LEN = 28;
export const OPT_SHB_USERAPPL = 4;

/** Byte order of a section from the magic at offset 8 of its SHB, or undefined if it is neither. */
export function sectionByteOrder(buf: Buffer, off: number): 'little' | 'big' | undefined {
  if (buf.readUInt32LE(off + 8) === BYTE_ORDER_MAGIC) return 'little';
  if (buf.readUInt32BE(off + 8) === BYTE_ORDER_MAGIC) return 'big';
  return undefined;
}
