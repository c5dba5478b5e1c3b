import { uint } from './bytes.js';
import type { ProtocolCodec, Spec } from './codec.js';

/** VXLAN (RFC 7348): an Ethernet frame inside UDP, by default to port 4789. */
export const HEADER_LEN = 8;
export const PORT = 4789;

export interface Vxlan {
  readonly name: 'vxlan';
  /** 0x08 when the VNI is valid (the I flag). */
  readonly flags: number;
  readonly vni: number;
}
export type VxlanSpec = Spec<Vxlan>;

export function parse(b: Buffer, off: number): Vxlan {
  return { name: 'vxlan', flags: b[off]!, vni: b.readUInt32BE(off + 4) >>> 8 };
}

export function emit(b: Buffer, off: number, s: VxlanSpec): void {
  b[off] = uint(s.flags ?? 0x08, 8, 'vxlan', 'flags');
  b.writeUInt32BE((uint(s.vni ?? 1, 24, 'vxlan', 'vni') << 8) >>> 0, off + 4);
}

export const codec: ProtocolCodec<VxlanSpec> = {
  name: 'vxlan',
  followers: ['eth'],
  headerLength: () => HEADER_LEN,
  emit: (b, off, s) => emit(b, off, s),
};
