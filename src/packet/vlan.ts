import { uint } from './bytes.js';
import { L2_NEXT, type EmitContext, type ProtocolCodec, type Spec } from './codec.js';
import { typeFor } from './ethernet.js';

/** An 802.1Q tag; the TPID that announced it is the previous layer's `type`. */
export const HEADER_LEN = 4;

export interface Vlan {
  readonly name: 'vlan';
  readonly pcp: number;
  readonly dei: number;
  readonly vid: number;
  /** EtherType of what follows the tag. */
  readonly type: number;
}
export type VlanSpec = Spec<Vlan>;

export function isVlanTpid(t: number): boolean {
  return t === 0x8100 || t === 0x88a8 || t === 0x9100;
}

export function parse(b: Buffer, off: number): Vlan {
  const tci = b.readUInt16BE(off);
  return { name: 'vlan', pcp: tci >> 13, dei: (tci >> 12) & 1, vid: tci & 0xfff, type: b.readUInt16BE(off + 2) };
}

export function emit(b: Buffer, off: number, s: VlanSpec, ctx: EmitContext): void {
  const tci =
    (uint(s.pcp ?? 0, 3, 'vlan', 'pcp') << 13) |
    (uint(s.dei ?? 0, 1, 'vlan', 'dei') << 12) |
    uint(s.vid ?? 1, 12, 'vlan', 'vid');
  b.writeUInt16BE(tci, off);
  b.writeUInt16BE(
    s.type === undefined ? typeFor(ctx.next, ctx.afterNext, false) : uint(s.type, 16, 'vlan', 'type'),
    off + 2,
  );
}

export const codec: ProtocolCodec<VlanSpec> = {
  name: 'vlan',
  followers: L2_NEXT,
  headerLength: () => HEADER_LEN,
  emit,
};
